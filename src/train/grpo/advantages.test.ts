import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeAdvantages } from './advantages.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('group scaling: (r − group mean) / (unbiased group std + ε)', () => {
  // group 0: rewards 1, 0, 0.5 → mean 0.5, unbiased std 0.5
  const { advantages, groupMean, groupStd } = computeAdvantages([1, 0, 0.5, 0.2, 0.2, 0.8], 3, { scaling: 'group', epsilon: 1e-4 });
  close(groupMean[0], 0.5);
  close(groupStd[0], 0.5);
  close(advantages[0], 0.5 / 0.5001);
  close(advantages[1], -0.5 / 0.5001);
  close(advantages[2], 0);
  // group 1: 0.2, 0.2, 0.8 → mean 0.4, std sqrt(((0.04+0.04+0.16)/2)) = sqrt(0.12)
  close(groupStd[1], Math.sqrt(0.12));
  close(advantages[5], 0.4 / (Math.sqrt(0.12) + 1e-4));
});

test('equal rewards in a group give zero advantages and are flagged zero-variance', () => {
  const r = computeAdvantages([1, 1, 1, 0, 1, 0], 3, { scaling: 'group' });
  assert.deepEqual(r.zeroVariance, [true, false]);
  assert.deepEqual(Array.from(r.advantages.slice(0, 3)), [0, 0, 0]);
  assert.ok(r.advantages[4] > 0 && r.advantages[3] < 0);
});

test('none scaling only centres (Dr. GRPO); batch scaling divides by the whole batch std', () => {
  const rewards = [1, 0, 0.25, 0.75];
  const none = computeAdvantages(rewards, 2, { scaling: 'none' });
  assert.deepEqual(Array.from(none.advantages), [0.5, -0.5, -0.25, 0.25]);
  const batch = computeAdvantages(rewards, 2, { scaling: 'batch', epsilon: 0 });
  // batch mean 0.5, unbiased std = sqrt((0.25+0.25+0.0625+0.0625)/3)
  const std = Math.sqrt(0.625 / 3);
  close(batch.advantages[0], 0.5 / std);
  close(batch.advantages[3], 0.25 / std);
});

test('invalid rewards (NaN) are left out of the statistics and get advantage 0', () => {
  const r = computeAdvantages([1, NaN, 0, NaN, NaN, 0.5], 3, { scaling: 'none' });
  close(r.groupMean[0], 0.5);
  assert.deepEqual(Array.from(r.advantages.slice(0, 3)), [0.5, 0, -0.5]);
  assert.equal(r.zeroVariance[1], true, 'a group with a single valid reward has nothing to compare');
  assert.deepEqual(Array.from(r.advantages.slice(3)), [0, 0, 0]);
});

test('rewards that are not whole groups are rejected', () => {
  assert.throws(() => computeAdvantages([1, 2, 3], 2, { scaling: 'group' }), /not a whole number of groups of 2/);
  assert.throws(() => computeAdvantages([1, 2], 0, { scaling: 'group' }), /groupSize/);
});
