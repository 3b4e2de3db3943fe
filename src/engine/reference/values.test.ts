/**
 * One suite for every implementation of the kernels (the TypeScript reference and, when the addon
 * loads, the native one): values computed by hand, and the errors bad arguments raise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kernels } from '../kernels.js';
import { referenceKernels } from './index.js';
import { nativeForTests } from '../kernel-testing.js';

const implementations: Kernels[] = [referenceKernels];
const native = nativeForTests();
if (native) implementations.push(native.kernels);

for (const K of implementations) {

  const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
    assert.equal(a.length, b.length);
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `[${i}] ${a[i]} ≠ ${b[i]}`);
  };

  test(`${K.name}: adamw: two steps agree with the PyTorch formula worked by hand`, () => {
    const p = Float32Array.from([1, -2]), g = Float32Array.from([0.5, -1]);
    const m = new Float32Array(2), v = new Float32Array(2);
    const lr = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.01;
    // Step 1: m = 0.1g, v = 0.01g², m̂ = g, v̂ = g², update = lr·sign(g) (up to eps).
    K.adamw(p, g, m, v, 2, lr, b1, b2, eps, wd, 1);
    close(p, [1 * (1 - lr * wd) - 0.1, -2 * (1 - lr * wd) + 0.1]);
    close(m, [0.05, -0.1]);
    close(v, [0.0025, 0.01]);
    // Step 2 with the same gradient: m = 0.19g, v = 0.0199g², m̂ = g, v̂ = g² again.
    const p1 = [p[0], p[1]];
    K.adamw(p, g, m, v, 2, lr, b1, b2, eps, wd, 2);
    close(p, [p1[0] * (1 - lr * wd) - 0.1, p1[1] * (1 - lr * wd) + 0.1], 1e-5);
  });

  test(`${K.name}: rope rotates each (i, i + D/2) pair by its angle; inverse undoes it`, () => {
    // D = 4, one head, position 1 with angles (π/2, π): (x0, x2) turns by 90°, (x1, x3) by 180°.
    const cos = Float32Array.from([1, 1, 0, -1]), sin = Float32Array.from([0, 0, 1, 0]);
    const x = Float32Array.from([1, 2, 3, 4]), y = new Float32Array(4);
    K.rope(x, y, Int32Array.from([1]), cos, sin, 1, 1, 4, false);
    close(y, [-3, -2, 1, -4]);
    K.rope(y, y, Int32Array.from([1]), cos, sin, 1, 1, 4, true); // in place
    close(y, [1, 2, 3, 4]);
  });

  test(`${K.name}: log-softmax of [0, ln 2, ln 5] is log([1, 2, 5] / 8); softmax sums to 1`, () => {
    const x = Float32Array.from([0, Math.log(2), Math.log(5)]), y = new Float32Array(3);
    K.logSoftmaxForward(x, y, 1, 3);
    close(y, [Math.log(1 / 8), Math.log(2 / 8), Math.log(5 / 8)]);
    K.softmaxForward(x, y, 1, 3);
    close(y, [1 / 8, 2 / 8, 5 / 8]);
  });

  test(`${K.name}: token logprobs and entropy of a uniform row; ignored targets give 0`, () => {
    const logits = new Float32Array(8).fill(3), logp = new Float32Array(2), lse = new Float32Array(2), h = new Float32Array(2);
    K.tokenLogprobsForward(logits, Int32Array.from([2, -1]), logp, lse, 2, 4);
    close(logp, [-Math.log(4), 0]);
    close(lse, [3 + Math.log(4), 3 + Math.log(4)]);
    K.entropy(logits, h, 2, 4);
    close(h, [Math.log(4), Math.log(4)]);
  });

  test(`${K.name}: rmsnorm of [3, 4] with eps 0 divides by √12.5`, () => {
    const y = new Float32Array(2), rstd = new Float32Array(1);
    K.rmsnormForward(Float32Array.from([3, 4]), Float32Array.from([1, 2]), y, rstd, 1, 2, 0);
    close(y, [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)]);
  });

  test(`${K.name}: attention with one key returns that key's value; a padding row returns 0 with lse −∞`, () => {
    const q = Float32Array.from([1, 0, 5, 5]), k = Float32Array.from([2, 0, 1, 1]), v = Float32Array.from([7, 8, 9, 10]);
    const out = new Float32Array(4), lse = new Float32Array(2);
    // B 1, T 2, H 1, D 2, kStart 1: query 0 has no key, query 1 attends key 1 only.
    K.attentionForward(q, k, v, out, lse, 1, 2, 2, 1, 1, 2, 0.5, Int32Array.from([0]), Int32Array.from([1]));
    close(out, [0, 0, 9, 10]);
    assert.equal(lse[0], -Infinity);
    close([lse[1]], [5]);
  });

  test(`${K.name}: bad arguments raise errors that name the op and the shapes`, () => {
    const f = (n: number) => new Float32Array(n);
    assert.throws(() => K.rmsnormForward(f(5), f(3), f(6), f(2), 2, 3, 1e-5), /rmsnormForward: x has 5 elements, needs 6 for shape \(2, 3\)/);
    assert.throws(() => K.swigluForward(new Float64Array(0) as any, [] as any, f(1), 1), /swigluForward: gate (has 0 elements|must be a Float32Array \(1\), got Float64Array)/);
    assert.throws(() => K.swigluForward(f(1), [1] as any, f(1), 1), /swigluForward: up must be a Float32Array \(1\), got Array/);
    assert.throws(() => K.embeddingForward(f(6), Int32Array.from([0, 3]), f(4), 2, 2), /embeddingForward: ids\[1\] = 3 is out of range \[0, 3\)/);
    assert.throws(() => K.embeddingForward(f(6), Float32Array.from([0]) as any, f(2), 1, 2), /ids must be an Int32Array/);
    assert.throws(() => K.tokenLogprobsForward(f(4), Int32Array.from([4]), f(1), f(1), 1, 4), /targets\[0\] = 4 is out of range/);
    assert.throws(() => K.rope(f(4), f(4), Int32Array.from([2]), f(4), f(4), 1, 1, 4, false), /positions\[0\] = 2 is out of range \[0, 2\)/);
    assert.throws(() => K.rope(f(3), f(3), Int32Array.from([0]), f(4), f(4), 1, 1, 3, false), /rope: headDim must be even/);
    const z = (n: number) => new Int32Array(n);
    assert.throws(() => K.attentionForward(f(12), f(8), f(8), f(12), f(3), 1, 1, 2, 3, 2, 4, 1, z(1), z(1)), /Hq \(3\) must be a positive multiple of Hkv \(2\)/);
    assert.throws(() => K.attentionForward(f(4), f(4), f(4), f(4), f(1), 1, 1, 1, 1, 1, 4, 1, Int32Array.from([1]), z(1)), /qStart\[0\] = 1/);
    assert.throws(() => K.adamw(f(1), f(1), f(1), f(1), 1, 0.1, 0.9, 0.99, 1e-8, 0, 0), /adamw: step must be an integer ≥ 1/);
    assert.throws(() => K.softmaxForward(f(6), f(6), 2.5, 2), /rows must be a non-negative integer/);
    assert.throws(() => K.attentionForward(f(0), f(0), f(0), f(0), f(0), 1, 1, 1, 0, 1, 4, 1, z(1), z(1)), /Hq \(0\) must be a positive multiple/);
    assert.throws(() => K.attentionForward(f(0), f(0), f(0), f(0), f(0), 0, 1, 1, 1, 1, 1 << 20, 1, z(0), z(0)), /attentionForward: head size D = 1048576 is larger than the supported 65536/);
  });

  test(`${K.name}: empty shapes (no rows, no tokens, no queries) write nothing and do not fail`, () => {
    const f = (n: number) => new Float32Array(n);
    const z = (n: number) => new Int32Array(n);
    K.rmsnormForward(f(0), f(4), f(0), f(0), 0, 4, 1e-5);
    K.rmsnormBackward(f(0), f(0), f(4), f(0), f(0), f(4), 0, 4);
    K.rope(f(0), f(0), z(0), f(4), f(4), 0, 2, 4, false);
    K.swigluForward(f(0), f(0), f(0), 0);
    K.softmaxForward(f(0), f(0), 0, 5);
    K.logSoftmaxBackward(f(0), f(0), f(0), 3, 0);
    K.tokenLogprobsForward(f(0), z(0), f(0), f(0), 0, 7);
    K.entropy(f(0), f(0), 0, 7);
    K.embeddingForward(f(6), z(0), f(0), 0, 3);
    K.adamw(f(0), f(0), f(0), f(0), 0, 0.1, 0.9, 0.99, 1e-8, 0, 1);
    K.attentionForward(f(0), f(0), f(0), f(0), f(0), 0, 3, 3, 2, 1, 4, 1, z(0), z(0));
    // No queries: the backward still owns dk, dv and clears them.
    const dk = f(8).fill(7), dv = f(8).fill(7);
    K.attentionBackward(f(0), f(8), f(8), f(0), f(0), f(0), f(0), dk, dv, 1, 0, 2, 1, 1, 4, 1, z(1), z(1));
    assert.deepEqual([...dk, ...dv], new Array(16).fill(0));
  });
}
