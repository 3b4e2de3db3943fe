import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passAtK } from './evaluate.js';

test('pass@k: hand-computed values of 1 − C(n−c,k)/C(n,k)', () => {
  assert.equal(passAtK(4, 0, 4), 0);
  assert.equal(passAtK(4, 1, 4), 1);
  // n=4, c=1, k=1 → 1/4; n=5, c=2, k=2 → 1 − C(3,2)/C(5,2) = 1 − 3/10
  assert.ok(Math.abs(passAtK(4, 1, 1) - 0.25) < 1e-12);
  assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-12);
  assert.throws(() => passAtK(2, 1, 3), /cannot exceed/);
});
