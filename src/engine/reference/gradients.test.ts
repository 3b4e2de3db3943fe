/**
 * Every reference backward against central finite differences of its forward, all in float64
 * (the reference kernels run unchanged on Float64Array). The scalar checked is Σ w ⊙ forward(x)
 * with random w, whose gradient is backward(dy = w).
 */
import { test } from 'node:test';
import { rng, uniform64, ints, gradCheck, dot } from './testing.js';
import { rmsnormForward, rmsnormBackward } from './norm.js';
import { rope } from './rope.js';
import { swigluForward, swigluBackward } from './swiglu.js';
import { attentionForward, attentionBackward } from './attention.js';
import { softmaxForward, softmaxBackward, logSoftmaxForward, logSoftmaxBackward } from './softmax.js';
import { tokenLogprobsForward, tokenLogprobsBackward } from './logprobs.js';
import { embeddingForward, embeddingBackward } from './embedding.js';

// The float64 views are passed where the public contract says Float32Array.
const f = (a: Float64Array) => a as unknown as Float32Array;

test('rmsnorm backward matches finite differences (dx and accumulated dw)', () => {
  const r = rng(1);
  const rows = 3, dim = 7;
  const x = uniform64(r, rows * dim), w = uniform64(r, dim, 0.5, 1.5), dy = uniform64(r, rows * dim);
  const y = new Float64Array(rows * dim), rstd = new Float64Array(rows);
  const loss = () => (rmsnormForward(x, w, y, rstd, rows, dim, 1e-5), dot(dy, y));
  loss();
  const dx = new Float64Array(rows * dim);
  const dw = new Float64Array(dim).fill(0.25); // accumulate: the old contents stay
  rmsnormBackward(dy, x, w, rstd, dx, dw, rows, dim);
  for (let i = 0; i < dim; i++) dw[i] -= 0.25;
  gradCheck('rmsnorm', { x, w }, loss, { x: dx, w: dw });
});

test('rope backward (the inverse rotation) matches finite differences', () => {
  const r = rng(2);
  const rows = 4, heads = 3, D = 6, maxPos = 9;
  const ang = uniform64(r, maxPos * D / 2, -3, 3);
  const cos = ang.map(Math.cos), sin = ang.map(Math.sin);
  const pos = ints(r, rows, 0, maxPos);
  const x = uniform64(r, rows * heads * D), dy = uniform64(r, rows * heads * D), y = new Float64Array(x.length);
  const loss = () => (rope(x, y, pos, cos, sin, rows, heads, D, false), dot(dy, y));
  const dx = new Float64Array(x.length);
  rope(dy, dx, pos, cos, sin, rows, heads, D, true);
  gradCheck('rope', { x }, loss, { x: dx });
});

test('swiglu backward matches finite differences', () => {
  const r = rng(3);
  const n = 11;
  const gate = uniform64(r, n, -4, 4), up = uniform64(r, n), dout = uniform64(r, n), out = new Float64Array(n);
  const loss = () => (swigluForward(gate, up, out, n), dot(dout, out));
  const dgate = new Float64Array(n), dup = new Float64Array(n);
  swigluBackward(gate, up, dout, dgate, dup, n);
  gradCheck('swiglu', { gate, up }, loss, { gate: dgate, up: dup });
});

for (const c of [
  { name: 'prefill, Hq 4 over Hkv 2', B: 2, Tq: 5, Tk: 5, Hq: 4, Hkv: 2, D: 3, qStart: [0, 0], kStart: [0, 2] },
  { name: 'decode chunk after a cache, Hq 3 over Hkv 1', B: 2, Tq: 2, Tk: 6, Hq: 3, Hkv: 1, D: 4, qStart: [4, 3], kStart: [1, 0] },
  { name: 'padding rows with nothing to attend', B: 1, Tq: 4, Tk: 4, Hq: 2, Hkv: 2, D: 2, qStart: [0], kStart: [2] },
]) {
  test(`attention backward matches finite differences (${c.name})`, () => {
    const r = rng(4);
    const { B, Tq, Tk, Hq, Hkv, D } = c;
    const qStart = Int32Array.from(c.qStart), kStart = Int32Array.from(c.kStart);
    const q = uniform64(r, B * Tq * Hq * D, -2, 2), k = uniform64(r, B * Tk * Hkv * D, -2, 2), v = uniform64(r, B * Tk * Hkv * D);
    const dout = uniform64(r, q.length), out = new Float64Array(q.length), lse = new Float64Array(B * Hq * Tq);
    const scale = 1 / Math.sqrt(D);
    const loss = () => (attentionForward(q, k, v, out, lse, B, Tq, Tk, Hq, Hkv, D, scale, qStart, kStart), dot(dout, out));
    loss();
    const dq = new Float64Array(q.length), dk = new Float64Array(k.length).fill(9), dv = new Float64Array(v.length).fill(9);
    attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, B, Tq, Tk, Hq, Hkv, D, scale, qStart, kStart);
    gradCheck('attention', { q, k, v }, loss, { q: dq, k: dk, v: dv }, { samples: 40 });
  });
}

test('softmax and log-softmax backward match finite differences', () => {
  const r = rng(5);
  const rows = 3, cols = 9;
  const x = uniform64(r, rows * cols, -3, 3), dy = uniform64(r, rows * cols), y = new Float64Array(x.length), dx = new Float64Array(x.length);
  for (const [fwd, bwd] of [[softmaxForward, softmaxBackward], [logSoftmaxForward, logSoftmaxBackward]] as const) {
    const loss = () => (fwd(f(x), f(y), rows, cols), dot(dy, y));
    loss();
    bwd(f(y), f(dy), f(dx), rows, cols);
    gradCheck(fwd.name, { x }, loss, { x: dx });
  }
});

test('token logprobs backward matches finite differences; ignored rows get no gradient', () => {
  const r = rng(6);
  const rows = 4, vocab = 13;
  const logits = uniform64(r, rows * vocab, -4, 4), dlogp = uniform64(r, rows);
  const targets = Int32Array.from([3, -100, 12, 0]);
  const logp = new Float64Array(rows), lse = new Float64Array(rows);
  const loss = () => (tokenLogprobsForward(logits, targets, logp, lse, rows, vocab), dot(dlogp, logp));
  loss();
  const dlogits = new Float64Array(logits.length).fill(5);
  tokenLogprobsBackward(logits, targets, lse, dlogp, dlogits, rows, vocab);
  gradCheck('tokenLogprobs', { logits }, loss, { logits: dlogits }, { samples: 60 });
});

test('embedding backward (scatter-add with repeated ids) matches finite differences', () => {
  const r = rng(8);
  const vocab = 5, dim = 3, n = 7;
  const table = uniform64(r, vocab * dim), ids = Int32Array.from([0, 4, 4, 2, 0, 4, 1]);
  const dout = uniform64(r, n * dim), out = new Float64Array(n * dim);
  const loss = () => (embeddingForward(table, ids, out, n, dim), dot(dout, out));
  const dtable = new Float64Array(vocab * dim);
  embeddingBackward(dout, ids, dtable, n, dim);
  gradCheck('embedding', { table }, loss, { table: dtable });
});
