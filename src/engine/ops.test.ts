/**
 * Every op through the one gradcheck helper (tinygrad style: a table of cases), on random shapes
 * with odd sizes, broadcasting and frozen inputs. The table runs once per available kernel set:
 * the reference always, the native kernels when the addon loads (RFT_ENGINE=reference skips them).
 */
import { describe, test } from 'node:test';
import * as E from './index.js';
import { Tensor, Rng } from './index.js';
import { gradcheck, type GradcheckOptions } from './gradcheck.js';
import { referenceKernels } from './reference/index.js';
import { nativeWithFallback } from './kernel-testing.js';

interface Case {
  name: string;
  /** Inputs from a seeded rng; requiresGrad marks the ones to differentiate. */
  inputs: (r: Rng) => Tensor[];
  fn: (...xs: Tensor[]) => Tensor;
  opts?: GradcheckOptions;
}

/** Uniform values in [lo, hi) (optionally kept ≥ gap away from 0, for kinks at 0). */
function rand(r: Rng, shape: number[], grad = true, lo = -1, hi = 1, gap = 0): Tensor {
  const t = E.uniform(shape, r, { low: lo, high: hi, requiresGrad: grad });
  if (gap > 0) for (let i = 0; i < t.size; i++) if (Math.abs(t.data[i]) < gap) t.data[i] = t.data[i] < 0 ? -gap : gap;
  return t;
}
const frozen = (r: Rng, shape: number[], lo = -1, hi = 1) => rand(r, shape, false, lo, hi);

const ids = (...v: number[]) => Int32Array.from(v);

const cases: Case[] = [
  // Elementwise binary, with broadcasting.
  { name: 'add same shape', inputs: (r) => [rand(r, [3, 5]), rand(r, [3, 5])], fn: E.add },
  { name: 'add bias (3,5)+(5)', inputs: (r) => [rand(r, [3, 5]), rand(r, [5])], fn: E.add },
  { name: 'add general broadcast (3,1,4)+(2,4)', inputs: (r) => [rand(r, [3, 1, 4]), rand(r, [2, 4])], fn: E.add },
  { name: 'add scalar tensor', inputs: (r) => [rand(r, [2, 3]), rand(r, [])], fn: E.add },
  { name: 'add number', inputs: (r) => [rand(r, [7])], fn: (a) => E.add(a, 0.5) },
  { name: 'add frozen operand', inputs: (r) => [rand(r, [4, 3]), frozen(r, [4, 3])], fn: E.add },
  { name: 'sub (1,5) − (3,1)', inputs: (r) => [rand(r, [1, 5]), rand(r, [3, 1])], fn: E.sub },
  { name: 'sub number − tensor', inputs: (r) => [rand(r, [5])], fn: (a) => E.sub(1, a) },
  { name: 'mul same shape', inputs: (r) => [rand(r, [3, 7]), rand(r, [3, 7])], fn: E.mul },
  { name: 'mul by (rows,1) column', inputs: (r) => [rand(r, [5, 3]), rand(r, [5, 1])], fn: E.mul },
  { name: 'sub x − x + x·x (same tensor twice)', inputs: (r) => [rand(r, [6])], fn: (a) => E.add(E.sub(a, a), E.mul(a, a)) },
  { name: 'mul x·x (same tensor twice)', inputs: (r) => [rand(r, [6])], fn: (a) => E.mul(a, a) },
  { name: 'div', inputs: (r) => [rand(r, [4, 3]), rand(r, [3], true, 0.5, 2)], fn: E.div },
  { name: 'minimum', inputs: (r) => [rand(r, [3, 5]), rand(r, [3, 5])], fn: E.minimum },
  { name: 'maximum broadcast', inputs: (r) => [rand(r, [3, 5]), rand(r, [5])], fn: E.maximum },
  // Elementwise unary (inputs kept away from kinks and outside domains).
  { name: 'neg', inputs: (r) => [rand(r, [5])], fn: E.neg },
  { name: 'exp', inputs: (r) => [rand(r, [3, 3])], fn: E.exp },
  { name: 'log', inputs: (r) => [rand(r, [9], true, 0.3, 3)], fn: E.log },
  { name: 'sqrt', inputs: (r) => [rand(r, [9], true, 0.3, 3)], fn: E.sqrt },
  { name: 'square', inputs: (r) => [rand(r, [9])], fn: E.square },
  { name: 'abs', inputs: (r) => [rand(r, [9], true, -1, 1, 0.05)], fn: E.abs },
  { name: 'relu', inputs: (r) => [rand(r, [9], true, -1, 1, 0.05)], fn: E.relu },
  { name: 'sigmoid', inputs: (r) => [rand(r, [9], true, -4, 4)], fn: E.sigmoid },
  { name: 'tanh', inputs: (r) => [rand(r, [9], true, -3, 3)], fn: E.tanh },
  { name: 'silu', inputs: (r) => [rand(r, [9], true, -4, 4)], fn: E.silu },
  { name: 'scale', inputs: (r) => [rand(r, [2, 5])], fn: (a) => E.scale(a, -1.75) },
  { name: 'pow 3', inputs: (r) => [rand(r, [7])], fn: (a) => E.pow(a, 3) },
  { name: 'pow 0.5', inputs: (r) => [rand(r, [7], true, 0.5, 2)], fn: (a) => E.pow(a, 0.5) },
  { name: 'clamp', inputs: (r) => [tensor([-2, -0.9, -0.3, 0.2, 0.45, 0.7, 1.3])], fn: (a) => E.clamp(a, -0.5, 0.6) },
  {
    name: 'where with broadcast mask',
    inputs: (r) => [rand(r, [3, 4]), rand(r, [4])],
    fn: (a, b) => E.where(E.tensor([1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1], [3, 4]), a, b),
  },
  { name: 'where mask (rows,1) and number', inputs: (r) => [rand(r, [3, 4])], fn: (a) => E.where(E.tensor([1, 0, 1], [3, 1]), a, -2) },
  // Reductions.
  { name: 'sum all', inputs: (r) => [rand(r, [3, 4])], fn: (a) => E.sum(a) },
  { name: 'sum axis 0', inputs: (r) => [rand(r, [3, 4, 2])], fn: (a) => E.sum(a, 0) },
  { name: 'sum axis 1 keepDims', inputs: (r) => [rand(r, [3, 4, 2])], fn: (a) => E.sum(a, 1, { keepDims: true }) },
  { name: 'sum last axis', inputs: (r) => [rand(r, [3, 5])], fn: (a) => E.sum(a, -1) },
  { name: 'mean all', inputs: (r) => [rand(r, [3, 5])], fn: (a) => E.mean(a) },
  { name: 'mean last axis', inputs: (r) => [rand(r, [2, 3, 5])], fn: (a) => E.mean(a, -1) },
  // Layout.
  { name: 'reshape', inputs: (r) => [rand(r, [3, 4])], fn: (a) => E.mul(E.reshape(a, [2, -1]), E.tensor([1, 2, 3, 4, 5, 6])) },
  { name: 'permute 3-D', inputs: (r) => [rand(r, [2, 3, 4])], fn: (a) => E.permute(a, [2, 0, 1]) },
  { name: 'transpose', inputs: (r) => [rand(r, [3, 5])], fn: (a) => E.transpose(a) },
  { name: 'slice axis 1', inputs: (r) => [rand(r, [3, 7, 2])], fn: (a) => E.slice(a, 1, 2, -1) },
  { name: 'concat axis 1', inputs: (r) => [rand(r, [2, 3]), rand(r, [2, 1]), frozen(r, [2, 2])], fn: (a, b, c) => E.concat([a, b, c], 1) },
  { name: 'concat axis 0', inputs: (r) => [rand(r, [1, 3]), rand(r, [2, 3])], fn: (a, b) => E.concat([a, b], 0) },
  // Matrix products (odd sizes, every transpose combination, batched and shared operands).
  { name: 'matmul (5,3)·(3,7)', inputs: (r) => [rand(r, [5, 3]), rand(r, [3, 7])], fn: (a, b) => E.matmul(a, b) },
  { name: 'matmul transA', inputs: (r) => [rand(r, [3, 5]), rand(r, [3, 7])], fn: (a, b) => E.matmul(a, b, { transA: true }) },
  { name: 'matmul transB', inputs: (r) => [rand(r, [5, 3]), rand(r, [7, 3])], fn: (a, b) => E.matmul(a, b, { transB: true }) },
  { name: 'matmul transA transB', inputs: (r) => [rand(r, [3, 5]), rand(r, [7, 3])], fn: (a, b) => E.matmul(a, b, { transA: true, transB: true }) },
  { name: 'matmul batched', inputs: (r) => [rand(r, [2, 3, 5]), rand(r, [2, 5, 4])], fn: (a, b) => E.matmul(a, b) },
  { name: 'matmul batched transB (attention scores)', inputs: (r) => [rand(r, [2, 3, 5]), rand(r, [2, 4, 5])], fn: (a, b) => E.matmul(a, b, { transB: true }) },
  { name: 'matmul batched · shared 2-D', inputs: (r) => [rand(r, [2, 3, 5]), rand(r, [5, 4])], fn: (a, b) => E.matmul(a, b) },
  { name: 'matmul batched transA · shared 2-D', inputs: (r) => [rand(r, [2, 5, 3]), rand(r, [5, 4])], fn: (a, b) => E.matmul(a, b, { transA: true }) },
  { name: 'matmul shared 2-D · batched', inputs: (r) => [rand(r, [3, 5]), rand(r, [3, 5, 4])], fn: (a, b) => E.matmul(a, b) },
  { name: 'matmul frozen B', inputs: (r) => [rand(r, [4, 3]), frozen(r, [3, 2])], fn: (a, b) => E.matmul(a, b) },
  { name: 'linear with bias', inputs: (r) => [rand(r, [2, 3, 5]), rand(r, [4, 5]), rand(r, [4])], fn: (x, w, b) => E.linear(x, w, b) },
  { name: 'linear frozen weight', inputs: (r) => [rand(r, [3, 5]), frozen(r, [4, 5])], fn: (x, w) => E.linear(x, w) },
  { name: 'linear frozen input', inputs: (r) => [frozen(r, [3, 5]), rand(r, [4, 5])], fn: (x, w) => E.linear(x, w) },
  // A tensor used twice: the second gradient contribution must add to the first, not overwrite it.
  { name: 'matmul x·xᵀ (same tensor both sides)', inputs: (r) => [rand(r, [3, 4])], fn: (a) => E.matmul(a, a, { transB: true }) },
  { name: 'matmul xᵀ·x (same tensor both sides)', inputs: (r) => [rand(r, [3, 4])], fn: (a) => E.matmul(a, a, { transA: true }) },
  // fusedLinear: LoRA projection + residual, each term's gradient through the fused GEMMs.
  {
    name: 'fusedLinear low-rank on x itself, bias, residual',
    inputs: (r) => [rand(r, [2, 3, 5]), frozen(r, [4, 5]), rand(r, [4]), rand(r, [2, 5]), rand(r, [4, 2]), rand(r, [2, 3, 4])],
    fn: (x, w, b, A, B, res) => E.fusedLinear(x, w, { bias: b, lowRank: { x, A, B, scaling: 1.7 }, residual: res }),
  },
  {
    name: 'fusedLinear low-rank on a separate input (dropout-like), trainable weight',
    inputs: (r) => [rand(r, [3, 5]), rand(r, [4, 5]), rand(r, [3, 5]), rand(r, [3, 5]), rand(r, [4, 3])],
    fn: (x, w, xl, A, B) => E.fusedLinear(x, w, { lowRank: { x: E.mul(xl, 0.5), A, B, scaling: 0.25 } }),
  },
  {
    name: 'fusedLinear residual is the input (x + x·wᵀ), frozen low-rank A',
    inputs: (r) => [rand(r, [3, 4]), rand(r, [4, 4]), frozen(r, [2, 4]), rand(r, [4, 2])],
    fn: (x, w, A, B) => E.fusedLinear(x, w, { lowRank: { x, A, B, scaling: 2 }, residual: x }),
  },
  { name: 'linear used twice', inputs: (r) => [rand(r, [3, 4]), rand(r, [2, 4]), rand(r, [2])], fn: (x, w, b) => E.add(E.linear(x, w, b), E.linear(x, w, b)) },
  { name: 'an intermediate used by two ops', inputs: (r) => [rand(r, [5])], fn: (a) => { const y = E.exp(a); return E.mul(y, y); } },
  {
    name: 'an intermediate feeding three linears',
    inputs: (r) => [rand(r, [3, 4]), rand(r, [2, 4]), rand(r, [3, 4])],
    fn: (x, w1, w2) => { const h = E.tanh(x); return E.concat([E.linear(h, w1), E.linear(h, w2), E.linear(h, w1)], 1); },
  },
  { name: 'swiglu(x, x)', inputs: (r) => [rand(r, [7])], fn: (a) => E.swiglu(a, a) },
  { name: 'rmsnorm plus residual', inputs: (r) => [rand(r, [3, 5]), rand(r, [5])], fn: (x, w) => E.add(E.rmsnorm(x, w), E.mul(x, w)) },
  { name: 'attention self (q = k = v)', inputs: (r) => [rand(r, [1, 4, 2, 3])], fn: (x) => E.attention(x, x, x) },
  { name: 'embedding used twice', inputs: (r) => [rand(r, [4, 2])], fn: (t) => E.add(E.embedding(t, ids(1, 3)), E.embedding(t, ids(3, 3))) },
  { name: 'softmax plus input', inputs: (r) => [rand(r, [2, 5])], fn: (x) => E.add(E.softmax(x), x) },
  // Transformer blocks on the fused kernels.
  { name: 'rmsnorm', inputs: (r) => [rand(r, [2, 3, 7]), rand(r, [7], true, 0.5, 1.5)], fn: (x, w) => E.rmsnorm(x, w, 1e-5) },
  { name: 'rmsnorm frozen weight', inputs: (r) => [rand(r, [3, 5]), frozen(r, [5], 0.5, 1.5)], fn: (x, w) => E.rmsnorm(x, w) },
  {
    name: 'rope (B,T,H,D)',
    inputs: (r) => [rand(r, [2, 3, 2, 6])],
    fn: (x) => E.rope(x, ids(0, 1, 2, 5, 6, 7), E.ropeTable(8, 6, 10000)),
  },
  { name: 'swiglu', inputs: (r) => [rand(r, [3, 5], true, -3, 3), rand(r, [3, 5])], fn: E.swiglu },
  { name: 'softmax', inputs: (r) => [rand(r, [3, 7], true, -2, 2)], fn: E.softmax },
  { name: 'logSoftmax', inputs: (r) => [rand(r, [3, 7], true, -2, 2)], fn: E.logSoftmax },
  { name: 'embedding (repeated ids)', inputs: (r) => [rand(r, [5, 3])], fn: (t) => E.embedding(t, ids(4, 0, 4, 2, 1, 4), [2, 3]) },
  { name: 'dropout', inputs: (r) => [rand(r, [4, 5])], fn: (x) => E.dropout(x, 0.3, new Rng(9)) },
  {
    name: 'attention GQA (B=2, T=5, Hq=4, Hkv=2, D=3)',
    inputs: (r) => [rand(r, [2, 5, 4, 3]), rand(r, [2, 5, 2, 3]), rand(r, [2, 5, 2, 3])],
    fn: (q, k, v) => E.attention(q, k, v),
  },
  {
    name: 'attention decoding with qStart, kStart (left padding)',
    inputs: (r) => [rand(r, [2, 2, 2, 4]), rand(r, [2, 5, 1, 4]), rand(r, [2, 5, 1, 4])],
    fn: (q, k, v) => E.attention(q, k, v, { qStart: ids(3, 2), kStart: ids(0, 1), scale: 0.4 }),
  },
  {
    name: 'attention left-padded prefill (padding queries attend to nothing)',
    inputs: (r) => [rand(r, [2, 5, 2, 3]), rand(r, [2, 5, 1, 3]), rand(r, [2, 5, 1, 3])],
    fn: (q, k, v) => E.attention(q, k, v, { qStart: ids(0, 0), kStart: ids(2, 0) }),
  },
  { name: 'attention frozen k, v', inputs: (r) => [rand(r, [1, 4, 2, 3]), frozen(r, [1, 4, 2, 3]), frozen(r, [1, 4, 2, 3])], fn: (q, k, v) => E.attention(q, k, v) },
  { name: 'tokenLogprobs with an ignored row', inputs: (r) => [rand(r, [2, 2, 7], true, -2, 2)], fn: (l) => E.tokenLogprobs(l, ids(3, -1, 0, 6)) },
  { name: 'crossEntropy', inputs: (r) => [rand(r, [4, 6], true, -2, 2)], fn: (l) => E.crossEntropy(l, ids(5, 0, -1, 2)) },
  { name: 'entropy', inputs: (r) => [rand(r, [2, 3, 7], true, -3, 3)], fn: (l) => E.entropy(l) },
  { name: 'entropy of tempered logits', inputs: (r) => [rand(r, [4, 5], true, -2, 2)], fn: (l) => E.entropy(E.scale(l, 1 / 0.7)) },
];

function tensor(v: number[]): Tensor {
  return E.tensor(v, [v.length], { requiresGrad: true });
}

// The native kernels through the engine's adapter, or (until it is wired) the addon's own exports.
const native = process.env.RFT_ENGINE === 'reference' ? null : nativeWithFallback()?.kernels ?? null;
const backends = [referenceKernels, ...(native ? [native] : [])];

for (const k of backends) {
  describe(`ops on ${k.name} kernels`, () => {
    for (const c of cases) {
      test(`${c.name}: backward matches float64 finite differences, float32 matches float64`, () => {
        const prev = E.useKernels(k);
        try {
          const r = new Rng(c.name.length * 7919 + 17);
          gradcheck(c.name, c.fn, c.inputs(r), c.opts);
        } finally {
          E.useKernels(prev);
        }
      });
    }
  });
}
