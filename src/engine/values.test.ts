/**
 * Forward values of the engine's own ops against hand-computed results (gradcheck only shows
 * that backward agrees with forward; these show that forward is right).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from './index.js';

const t = (v: number[], shape?: number[]) => E.tensor(v, shape);

function close(actual: E.Tensor, shape: number[], expected: number[], tol = 1e-6): void {
  assert.deepEqual([...actual.shape], shape);
  assert.equal(actual.size, expected.length);
  actual.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tol * (1 + Math.abs(expected[i])), `element ${i}: ${v} vs ${expected[i]}`));
}

const cases: [string, () => E.Tensor, number[], number[]][] = [
  ['add broadcasts a bias over rows', () => E.add(t([1, 2, 3, 4, 5, 6], [2, 3]), t([10, 20, 30])), [2, 3], [11, 22, 33, 14, 25, 36]],
  ['sub broadcasts (2,1) against (3)', () => E.sub(t([1, 2], [2, 1]), t([1, 2, 3])), [2, 3], [0, -1, -2, 1, 0, -1]],
  ['mul by a number', () => E.mul(t([1, -2, 3]), 2), [3], [2, -4, 6]],
  ['div', () => E.div(t([1, 3]), t([4, -2])), [2], [0.25, -1.5]],
  ['minimum / maximum', () => E.concat([E.minimum(t([1, 5]), t([3, 2])), E.maximum(t([1, 5]), t([3, 2]))]), [4], [1, 2, 3, 5]],
  ['clamp', () => E.clamp(t([-3, 0.5, 9]), -1, 1), [3], [-1, 0.5, 1]],
  ['where', () => E.where(t([1, 0, 1]), t([1, 2, 3]), t([-1, -2, -3])), [3], [1, -2, 3]],
  ['exp / log / sqrt', () => E.concat([E.exp(t([0, 1])), E.log(t([1, Math.E])), E.sqrt(t([4, 9]))]), [6], [1, Math.E, 0, 1, 2, 3]],
  ['sigmoid / tanh / relu / silu', () => E.concat([E.sigmoid(t([0])), E.tanh(t([0])), E.relu(t([-2, 3])), E.silu(t([1]))]), [5], [0.5, 0, 0, 3, 1 / (1 + Math.exp(-1))]],
  ['sum all', () => E.sum(t([1, 2, 3, 4], [2, 2])), [], [10]],
  ['sum axis 0', () => E.sum(t([1, 2, 3, 4, 5, 6], [2, 3]), 0), [3], [5, 7, 9]],
  ['sum last axis keepDims', () => E.sum(t([1, 2, 3, 4, 5, 6], [2, 3]), -1, { keepDims: true }), [2, 1], [6, 15]],
  ['mean last axis', () => E.mean(t([1, 2, 3, 4, 5, 6], [2, 3]), -1), [2], [2, 5]],
  ['reshape with -1', () => E.reshape(t([1, 2, 3, 4, 5, 6], [2, 3]), [3, -1]), [3, 2], [1, 2, 3, 4, 5, 6]],
  ['transpose', () => E.transpose(t([1, 2, 3, 4, 5, 6], [2, 3])), [3, 2], [1, 4, 2, 5, 3, 6]],
  // x[i,j,k] = 100i + 10j + k, shape (2,3,2); permute [2,0,1] → out[k,i,j].
  ['permute 3-D', () => E.permute(t([0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121], [2, 3, 2]), [2, 0, 1]), [2, 2, 3], [0, 10, 20, 100, 110, 120, 1, 11, 21, 101, 111, 121]],
  ['slice axis 1', () => E.slice(t([1, 2, 3, 4, 5, 6], [2, 3]), 1, 1), [2, 2], [2, 3, 5, 6]],
  ['concat axis 1', () => E.concat([t([1, 2], [2, 1]), t([3, 4, 5, 6], [2, 2])], 1), [2, 3], [1, 3, 4, 2, 5, 6]],
  ['matmul 2×3 · 3×2', () => E.matmul(t([1, 2, 3, 4, 5, 6], [2, 3]), t([7, 8, 9, 10, 11, 12], [3, 2])), [2, 2], [58, 64, 139, 154]],
  ['matmul transB', () => E.matmul(t([1, 2, 3, 4, 5, 6], [2, 3]), t([7, 9, 11, 8, 10, 12], [2, 3]), { transB: true }), [2, 2], [58, 64, 139, 154]],
  ['matmul transA', () => E.matmul(t([1, 4, 2, 5, 3, 6], [3, 2]), t([7, 8, 9, 10, 11, 12], [3, 2]), { transA: true }), [2, 2], [58, 64, 139, 154]],
  ['matmul batched with shared 2-D', () => E.matmul(t([1, 0, 0, 1, 2, 0, 0, 2], [2, 2, 2]), t([1, 2, 3, 4], [2, 2])), [2, 2, 2], [1, 2, 3, 4, 2, 4, 6, 8]],
  // residual [10, 20] + x·wᵀ [1, 2] + b [0.5, 0] + 0.5·(x·Aᵀ = [3])·Bᵀ ([1.5, −3] with B = [[1], [−2]]) = [13, 19]
  ['fusedLinear: residual + x·wᵀ + b + s·(x·Aᵀ)·Bᵀ', () => E.fusedLinear(t([1, 2], [1, 2]), t([1, 0, 0, 1], [2, 2]), { bias: t([0.5, 0]), lowRank: { x: t([1, 2], [1, 2]), A: t([1, 1], [1, 2]), B: t([1, -2], [2, 1]), scaling: 0.5 }, residual: t([10, 20], [1, 2]) }), [1, 2], [13, 19]],
  ['linear: x·wᵀ + b with w (out, in)', () => E.linear(t([1, 2], [1, 2]), t([1, 0, 0, 1, 1, 1], [3, 2]), t([0.5, 0, -1])), [1, 3], [1.5, 2, 2]],
  ['dropout p=0 is the identity', () => E.dropout(t([1, 2, 3]), 0, new E.Rng(1)), [3], [1, 2, 3]],
];

for (const [name, fn, shape, expected] of cases) {
  test(`forward: ${name}`, () => close(fn(), shape, expected));
}

test('dropout zeroes about p of the elements and scales the rest by 1/(1−p)', () => {
  const y = E.dropout(E.ones([10000]), 0.25, new E.Rng(3));
  let zeros = 0;
  for (const v of y.data) {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - 4 / 3) < 1e-6);
  }
  assert.ok(zeros > 2300 && zeros < 2700, `${zeros} zeros`);
});

test('Rng is deterministic per seed, uniform in [0, 1), normal with mean 0 and variance 1', () => {
  const a = new E.Rng(42);
  const b = new E.Rng(42);
  const c = new E.Rng(43);
  const xs = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextUint32()));
  let s = 0;
  let s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const u = a.uniform();
    assert.ok(u >= 0 && u < 1);
    const z = a.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.03 && Math.abs(s2 / n - 1) < 0.05);
  const st = a.getState();
  const next = a.nextUint32();
  b.setState(st);
  assert.equal(b.nextUint32(), next);
});

test('attention: padding queries before kStart output 0; the first real query reads only its own value', () => {
  const r = new E.Rng(4);
  const q = E.randn([1, 4, 2, 3], r);
  const k = E.randn([1, 4, 1, 3], r);
  const v = E.randn([1, 4, 1, 3], r);
  const out = E.attention(q, k, v, { qStart: Int32Array.of(0), kStart: Int32Array.of(2) });
  const o = out.data;
  for (let i = 0; i < 2 * 2 * 3; i++) assert.equal(o[i], 0, `padding output ${i}`);
  for (let h = 0; h < 2; h++) for (let d = 0; d < 3; d++) assert.ok(Math.abs(o[(2 * 2 + h) * 3 + d] - v.data[2 * 3 + d]) < 1e-6);
});
