/** AdamW over tensors: PyTorch's update, checked by hand for the first step. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from './index.js';

test('AdamW first step: p ← p·(1 − lr·wd) − lr·g/(|g| + eps); parameters without a gradient are skipped', () => {
  const p = E.tensor([1, -2], [2], { requiresGrad: true });
  const q = E.tensor([5], [1], { requiresGrad: true });
  const opt = new E.AdamW([p, q], { lr: 0.1, weightDecay: 0.01 });
  p.grad = Float32Array.from([0.5, -4]);
  opt.step();
  assert.ok(Math.abs(p.data[0] - 0.899) < 1e-6 && Math.abs(p.data[1] - -1.898) < 1e-6, `${p.data}`);
  assert.equal(q.data[0], 5);
  assert.equal(opt.stepCount, 1);
  opt.zeroGrad();
  assert.deepEqual([...p.grad], [0, 0]);
});

test('AdamW second step uses bias-corrected moments', () => {
  const p = E.tensor([0], [1], { requiresGrad: true });
  const opt = new E.AdamW([p], { lr: 1, beta1: 0.5, beta2: 0.5, eps: 0, weightDecay: 0 });
  p.grad = Float32Array.of(1);
  opt.step(); // m̂ = 1, v̂ = 1 → p = −1
  p.grad = Float32Array.of(3);
  opt.step(); // m = 0.25 + 1.5 = 1.75, m̂ = 1.75/0.75; v = 0.25 + 4.5 = 4.75, v̂ = 4.75/0.75
  const expected = -1 - (1.75 / 0.75) / Math.sqrt(4.75 / 0.75);
  assert.ok(Math.abs(p.data[0] - expected) < 1e-5, `${p.data[0]} vs ${expected}`);
});

test('AdamW refuses tensors that are not trainable leaves', () => {
  assert.throws(() => new E.AdamW([E.zeros([2])], { lr: 1 }), /does not have requiresGrad/);
  const w = E.zeros([2], { requiresGrad: true });
  assert.throws(() => new E.AdamW([E.scale(w, 2)], { lr: 1 }), /is an op output, not a leaf/);
});

test('AdamW refuses a step on a non-finite gradient, naming the parameter, and changes nothing', () => {
  const a = E.tensor([1, 2], [2], { requiresGrad: true, name: 'a' });
  const b = E.tensor([3], [1], { requiresGrad: true, name: 'lora_B' });
  const opt = new E.AdamW([a, b], { lr: 0.1 });
  a.grad = Float32Array.from([0.5, 0.5]);
  b.grad = Float32Array.from([NaN]);
  assert.throws(() => opt.step(), /AdamW: the gradient of parameter "lora_B" \[1\] is NaN at element 0/);
  assert.deepEqual([...a.data], [1, 2]);
  assert.equal(opt.stepCount, 0);
});
