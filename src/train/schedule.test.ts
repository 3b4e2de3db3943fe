import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRateAt } from './schedule.js';

test('warm-up rises linearly to the peak', () => {
  assert.equal(learningRateAt(0, 100, 1, 'constant', 4), 0.25);
  assert.equal(learningRateAt(3, 100, 1, 'constant', 4), 1);
  assert.equal(learningRateAt(50, 100, 1, 'constant', 4), 1);
});

test('linear and cosine decay reach 0 at the last step and agree at the ends', () => {
  assert.equal(learningRateAt(0, 10, 2, 'linear', 0), 2);
  assert.equal(learningRateAt(5, 10, 2, 'linear', 0), 1);
  assert.equal(learningRateAt(10, 10, 2, 'cosine', 0), 0);
  assert.ok(Math.abs(learningRateAt(5, 10, 2, 'cosine', 0) - 1) < 1e-12, 'cosine is half-way at the middle');
});
