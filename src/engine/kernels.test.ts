/**
 * Every native fused kernel against its TypeScript reference, on random shapes with odd sizes,
 * for each instruction set this CPU can run (AVX-512, AVX2, portable). All go through
 * compareWithReference, which also checks determinism and that inputs are left untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kernels } from './kernels.js';
import { nativeForTests, availableIsas, compareWithReference, type KernelName, type CompareOptions } from './kernel-testing.js';
import { rng, uniform64, ints } from './reference/testing.js';
import { attentionForward } from './reference/attention.js';

const native = nativeForTests();
const skip = native ? false : 'the native addon did not load';
const rand = rng(42);
const f32 = (n: number, lo = -1, hi = 1) => Float32Array.from(uniform64(rand, n, lo, hi));

type Case = { kernel: KernelName; label: string; args: (Float32Array | Int32Array | number | boolean | null)[] } & CompareOptions;
const cases: Case[] = [];
const add = (kernel: KernelName, label: string, args: Case['args'], opts: CompareOptions) => cases.push({ kernel, label, args, ...opts });

for (const [rows, dim] of [[1, 1], [3, 7], [5, 33], [17, 129], [70, 576]]) {
  const x = f32(rows * dim, -3, 3), w = f32(dim, 0.5, 1.5), dy = f32(rows * dim);
  add('rmsnormForward', `${rows}×${dim}`, [x, w, new Float32Array(rows * dim), new Float32Array(rows), rows, dim, 1e-5], { outputs: [2, 3] });
  const rstd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += x[r * dim + i] ** 2;
    rstd[r] = 1 / Math.sqrt(s / dim + 1e-5);
  }
  add('rmsnormBackward', `${rows}×${dim}, dw accumulated`, [dy, x, w, rstd, new Float32Array(rows * dim), f32(dim), rows, dim], { outputs: [4, 5], atol: 1e-5, rtol: 1e-4 });
  add('rmsnormBackward', `${rows}×${dim}, frozen weight`, [dy, x, w, rstd, new Float32Array(rows * dim), null, rows, dim], { outputs: [4], atol: 1e-5, rtol: 1e-4 });
}

for (const [rows, heads, D] of [[1, 1, 2], [5, 3, 8], [9, 2, 66]]) {
  const maxPos = 13, half = D / 2;
  const ang = uniform64(rand, maxPos * half, -6, 6);
  const cos = Float32Array.from(ang, Math.cos), sin = Float32Array.from(ang, Math.sin);
  const pos = ints(rand, rows, 0, maxPos), x = f32(rows * heads * D);
  for (const inverse of [false, true]) {
    add('rope', `${rows}×${heads}×${D} inverse=${inverse}`, [x, new Float32Array(x.length), pos, cos, sin, rows, heads, D, inverse], { outputs: [1] });
  }
  add('rope', `${rows}×${heads}×${D} in place`, [x, x, pos, cos, sin, rows, heads, D, false], { outputs: [0], alias: [[0, 1]] });
}

for (const n of [1, 7, 33, 1000, 40000]) {
  const gate = f32(n, -8, 8), up = f32(n), dout = f32(n);
  add('swigluForward', `n=${n}`, [gate, up, new Float32Array(n), n], { outputs: [2] });
  add('swigluBackward', `n=${n}`, [gate, up, dout, new Float32Array(n), new Float32Array(n), n], { outputs: [3, 4] });
}

for (const c of [
  { label: 'prefill 37 tokens, Hq 3 / Hkv 1, D 7', B: 2, Tq: 37, Tk: 37, Hq: 3, Hkv: 1, D: 7, qStart: [0, 0], kStart: [0, 0] },
  { label: 'prefill 130 tokens (several key tiles), Hq 4 / Hkv 2, D 64', B: 1, Tq: 130, Tk: 130, Hq: 4, Hkv: 2, D: 64, qStart: [0], kStart: [0] },
  { label: 'left padding, D 33', B: 2, Tq: 20, Tk: 20, Hq: 2, Hkv: 2, D: 33, qStart: [0, 0], kStart: [0, 7] },
  { label: 'decode Tq 1 with qStart > 0 and padding', B: 3, Tq: 1, Tk: 70, Hq: 6, Hkv: 2, D: 16, qStart: [69, 50, 69], kStart: [0, 10, 65] },
  { label: 'decode 2 tokens for 5 sequences (all kv heads per task)', B: 5, Tq: 2, Tk: 40, Hq: 6, Hkv: 2, D: 20, qStart: [38, 30, 0, 12, 38], kStart: [0, 5, 0, 13, 37] },
  { label: 'chunk of 5 queries after a cache of 95', B: 2, Tq: 5, Tk: 100, Hq: 9, Hkv: 3, D: 12, qStart: [95, 40], kStart: [3, 0] },
]) {
  const { B, Tq, Tk, Hq, Hkv, D } = c;
  const q = f32(B * Tq * Hq * D, -2, 2), k = f32(B * Tk * Hkv * D, -2, 2), v = f32(B * Tk * Hkv * D), dout = f32(q.length);
  const qs = Int32Array.from(c.qStart), ks = Int32Array.from(c.kStart), scale = 1 / Math.sqrt(D);
  const dims = [B, Tq, Tk, Hq, Hkv, D, scale, qs, ks] as const;
  // The backward's saved out/lse are filled by the reference forward (fillSavedAttention) before each run.
  const out = new Float32Array(q.length), lse = new Float32Array(B * Hq * Tq);
  add('attentionForward', c.label, [q, k, v, new Float32Array(q.length), new Float32Array(lse.length), ...dims], { outputs: [3, 4], atol: 1e-5, rtol: 1e-4 });
  cases.push({
    kernel: 'attentionBackward', label: c.label, outputs: [6, 7, 8], atol: 2e-5, rtol: 1e-4,
    args: [q, k, v, out, lse, dout, new Float32Array(q.length), f32(k.length), f32(v.length), ...dims],
  });
}

for (const [rows, cols] of [[1, 1], [4, 7], [3, 33], [2, 129], [3, 1000]]) {
  const x = f32(rows * cols, -20, 20);
  if (cols > 1) {
    x[0] = -Infinity; // a masked entry
    x[cols - 1] = 60;
  }
  const dy = f32(rows * cols);
  add('softmaxForward', `${rows}×${cols}`, [x, new Float32Array(x.length), rows, cols], { outputs: [1] });
  add('logSoftmaxForward', `${rows}×${cols}`, [x, new Float32Array(x.length), rows, cols], { outputs: [1], atol: 1e-5 });
  const p = f32(rows * cols, 0, 1), lp = Float32Array.from(p, Math.log);
  add('softmaxBackward', `${rows}×${cols}`, [p, dy, new Float32Array(x.length), rows, cols], { outputs: [2], atol: 1e-5 });
  add('logSoftmaxBackward', `${rows}×${cols}`, [lp, dy, new Float32Array(x.length), rows, cols], { outputs: [2], atol: 1e-5 });
}

for (const [rows, vocab] of [[1, 1], [5, 7], [4, 129], [3, 5000]]) {
  const logits = f32(rows * vocab, -10, 10), targets = ints(rand, rows, 0, vocab), dlogp = f32(rows);
  targets[rows - 1] = -100;
  const lse = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity, s = 0;
    for (let j = 0; j < vocab; j++) m = Math.max(m, logits[r * vocab + j]);
    for (let j = 0; j < vocab; j++) s += Math.exp(logits[r * vocab + j] - m);
    lse[r] = m + Math.log(s);
  }
  add('tokenLogprobsForward', `${rows}×${vocab}`, [logits, targets, new Float32Array(rows), new Float32Array(rows), rows, vocab], { outputs: [2, 3], atol: 1e-5 });
  add('tokenLogprobsBackward', `${rows}×${vocab}`, [logits, targets, lse, dlogp, f32(rows * vocab), rows, vocab], { outputs: [4] });
  add('entropy', `${rows}×${vocab}`, [logits, new Float32Array(rows), rows, vocab], { outputs: [1], atol: 1e-5 });
}

for (const [vocab, n, dim] of [[1, 1, 1], [11, 20, 7], [50, 300, 33]]) {
  const ids = ints(rand, n, 0, vocab);
  add('embeddingForward', `${n} ids × ${dim}`, [f32(vocab * dim), ids, new Float32Array(n * dim), n, dim], { outputs: [2] });
  add('embeddingBackward', `${n} ids × ${dim}, repeated ids`, [f32(n * dim), ids, f32(vocab * dim), n, dim], { outputs: [2] });
}

for (const n of [1, 7, 33, 20000]) {
  for (const [step, wd] of [[1, 0], [10, 0.1]]) {
    add('adamw', `n=${n} step ${step} wd ${wd}`, [f32(n), f32(n), f32(n, -0.1, 0.1), f32(n, 0, 0.01), n, 1e-3, 0.9, 0.999, 1e-8, wd, step], { outputs: [0, 2, 3] });
  }
}

function withIsa(isa: string, fn: () => void): void {
  const prev = native!.addon.fusedIsa();
  native!.addon.fusedIsa(isa);
  try {
    fn();
  } finally {
    native!.addon.fusedIsa(prev);
  }
}

const isas = native ? availableIsas(native.addon) : ['(none)'];
for (const isa of isas) {
  const byKernel = new Map<KernelName, Case[]>();
  for (const c of cases) byKernel.set(c.kernel, [...(byKernel.get(c.kernel) ?? []), c]);
  for (const [kernel, list] of byKernel) {
    test(`native ${kernel} (${isa}) matches the reference: ${list.map((c) => c.label).join('; ')}`, { skip }, () => {
      withIsa(isa, () => {
        for (const c of list) {
          if (c.kernel === 'attentionBackward') fillSavedAttention(c);
          compareWithReference(native!.kernels as Kernels, c.kernel, c.args, { ...c, implementation: `native-${isa}` });
        }
      });
    });
  }
}

// attentionBackward's out and lse arguments must be a real forward's results: run the reference forward into them.
function fillSavedAttention(c: Case): void {
  const [q, k, v, out, lse, , , , , B, Tq, Tk, Hq, Hkv, D, scale, qs, ks] = c.args as any[];
  attentionForward(q, k, v, out, lse, B, Tq, Tk, Hq, Hkv, D, scale, qs, ks);
}

test('native kernels give identical results with 1 and with 2 threads', { skip: skip || (typeof native?.addon.setThreads !== 'function' && 'the addon has no thread control yet') }, () => {
  const K = native!.kernels as Kernels;
  const run = (threads: number) => {
    native!.addon.setThreads(threads);
    return cases.map((c) => {
      const a = c.args.map((x) => (x instanceof Float32Array || x instanceof Int32Array ? x.slice() : x));
      if (c.kernel === 'attentionBackward') fillSavedAttention({ ...c, args: a });
      (K[c.kernel] as (...x: unknown[]) => void)(...a);
      return c.outputs.map((i) => Array.from(a[i] as Float32Array));
    });
  };
  const prev = native!.addon.getThreads?.() ?? 1;
  try {
    const one = run(1), two = run(2);
    for (let i = 0; i < cases.length; i++) {
      if (JSON.stringify(one[i]) !== JSON.stringify(two[i])) throw new Error(`${cases[i].kernel} (${cases[i].label}) differs between 1 and 2 threads`);
    }
  } finally {
    native!.addon.setThreads(prev);
  }
});

test('native kernels reject bad arguments with a JS error naming the op, never a crash', { skip }, () => {
  const a = native!.addon;
  const f = (n: number) => new Float32Array(n);
  const z = (n: number) => new Int32Array(n);
  assert.throws(() => a.swigluForward(f(2), f(2)), /swigluForward: expects 4 arguments, got 2/);
  assert.throws(() => a.swigluForward(f(2), f(2), f(2), 2, 2), /swigluForward: expects 4 arguments, got 5/);
  assert.throws(() => a.rmsnormForward(f(4), null, f(4), f(2), 2, 2, 1e-5), /rmsnormForward: w must be a Float32Array \(2\), got null/);
  assert.throws(() => a.rmsnormBackward(f(4), f(4), f(2), f(2), f(4), f(1), 2, 2), /rmsnormBackward: dw has 1 elements, needs 2/);
  assert.throws(() => a.softmaxForward(f(4), f(4), 'two', 2), /softmaxForward: rows must be a number, got string/);
  assert.throws(() => a.softmaxForward(f(4), f(4), -1, 2), /rows must be a non-negative integer, got -1/);
  assert.throws(() => a.softmaxForward(f(4), f(4), 2 ** 31, 2 ** 31), /rows must be a non-negative integer ≤ 2147483647, got 2147483648/);
  assert.throws(() => a.softmaxForward(f(4), f(4), 2 ** 30, 2 ** 30), /shape \(1073741824, 1073741824\) is too large/);
  assert.throws(() => a.rope(f(4), f(4), z(1), f(2), f(2), 1, 1, 4, 1), /rope: inverse must be a boolean, got number/);
  assert.throws(() => a.attentionForward(f(4), f(4), f(4), f(4), f(1), 1, 1, 1, 1, 1, 4, NaN, z(1), z(1)), /attentionForward: scale must be finite/);
  assert.throws(() => a.attentionForward(f(4), f(4), f(3), f(4), f(1), 1, 1, 1, 1, 1, 4, 1, z(1), z(1)), /attentionForward: v has 3 elements, needs 4 for shape \(B=1, Tk=1, Hkv=1, D=4\)/);
  assert.throws(() => a.attentionForward(f(4), f(4), f(4), f(4), f(1), 1, 1, 1, 1, 1, 4, 1, z(1), Int32Array.from([-1])), /kStart\[0\] = -1 must be ≥ 0/);
  assert.throws(() => a.attentionBackward(f(4), f(4), f(4), f(4), f(1), f(4), f(4), f(4), f(4), 1, 1, 1, 1, 0, 4, 1, z(1), z(1)), /Hq \(1\) must be a positive multiple of Hkv \(0\)/);
  assert.throws(() => a.embeddingBackward(f(2), Int32Array.from([-1]), f(4), 1, 2), /embeddingBackward: ids\[0\] = -1 is out of range \[0, 2\)/);
  assert.throws(() => a.tokenLogprobsBackward(f(4), z(2), f(2), f(2), f(3), 2, 2), /dlogits has 3 elements, needs 4 for shape \(2, 2\)/);
  assert.throws(() => a.adamw(f(2), new Float64Array(2), f(2), f(2), 2, 0.1, 0.9, 0.99, 1e-8, 0, 1), /adamw: grad must be a Float32Array \(2\), got Float64Array/);
  assert.throws(() => a.adamw(f(2), f(2), f(2), f(2), 2, 0.1, 0.9, 0.99, 1e-8, 0, 1.5), /adamw: step must be an integer ≥ 1/);
  assert.throws(() => a.fusedIsa('avx1024'), /fusedIsa: "avx1024" is not available/);
  assert.throws(() => a.fusedIsa(2), /fusedIsa: name must be a string, got number/);
  // Subarray views are honoured (offset and length), and buffers longer than needed are fine.
  const big = new Float32Array(10).fill(2), out = new Float32Array(8);
  a.swigluForward(big.subarray(3, 5), big.subarray(5, 7), out.subarray(4), 2);
  const want = 2 * 2 / (1 + Math.exp(-2));
  assert.deepEqual(Array.from(out.subarray(3, 7), (x) => Math.round(x * 1e5) / 1e5), [0, want, want, 0].map((x) => Math.round(x * 1e5) / 1e5));
});
