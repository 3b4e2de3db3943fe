import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeAdvantages } from './advantages.js';
import { binomialRatio, groupAdvantages, passAtKAdvantages, unlikelinessRewards, wReinforceAdvantages } from './estimators.js';

const close = (a: number, b: number, tol = 1e-12, what = '') => assert.ok(Math.abs(a - b) <= tol || (Number.isNaN(a) && Number.isNaN(b)), `${what} ${a} vs ${b}`);
const closeAll = (a: ArrayLike<number>, b: number[], what = '') => b.forEach((x, i) => close(a[i]!, x, 1e-12, `${what}[${i}]`));

test('binomialRatio is C(a, k) / C(b, k)', () => {
  close(binomialRatio(3, 4, 2), 3 / 6);
  close(binomialRatio(2, 4, 2), 1 / 6);
  close(binomialRatio(1, 4, 2), 0);
  close(binomialRatio(5, 7, 0), 1);
});

test('Pass@k advantages, by hand: N = 4, k = 2', () => {
  // group 0: one correct. R̄ = 1 − C(3,2)/C(4,2) = 1/2, σ = 1/2; A+ = (1/2)/(1/2) = 1; A− = (1/2 − C(2,1)/C(3,1)) / (1/2) = −1/3
  // group 1: two correct. R̄ = 1 − 1/6 = 5/6, σ = √5/6; A+ = (1/6)/(√5/6) = 1/√5; A− = (1/6 − C(1,1)/C(3,1)) / (√5/6) = −1/√5
  const r = passAtKAdvantages([1, 0, 0, 0, 0, 1, 1, 0], 4, 2);
  closeAll(r.advantages, [1, -1 / 3, -1 / 3, -1 / 3, -1 / Math.sqrt(5), 1 / Math.sqrt(5), 1 / Math.sqrt(5), -1 / Math.sqrt(5)]);
  assert.deepEqual(r.zeroVariance, [false, false]);
});

test('Pass@k with k = 1 is GRPO with the population std; all-right / all-wrong groups and invalid rollouts give 0', () => {
  const r = passAtKAdvantages([1, 0, 0, 0], 4, 1);
  const sigma = Math.sqrt(0.25 * 0.75);
  closeAll(r.advantages, [0.75 / sigma, -0.25 / sigma, -0.25 / sigma, -0.25 / sigma]);
  const flat = passAtKAdvantages([1, 1, 1, 1, 0, 0, 0, 0], 4, 2);
  closeAll(flat.advantages, [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(flat.zeroVariance, [true, true]);
  // k ≥ (number of wrong rollouts + 1) makes pass@k certain: nothing to learn
  closeAll(passAtKAdvantages([1, 0, 0, 0], 4, 4).advantages, [0, 0, 0, 0]);
  // an invalid rollout is left out of N: [1, NaN, 0, 0] is N = 3, c = 1, k = 2: R̄ = 1 − C(2,2)/C(3,2) = 2/3, σ = √2/3
  // A+ = (1/3)/σ = 1/√2; A− = (1/3 − C(1,1)/C(2,1)) / σ = (−1/6)·3/√2 = −1/(2√2)
  closeAll(passAtKAdvantages([1, NaN, 0, 0], 4, 2).advantages, [1 / Math.SQRT2, 0, -1 / (2 * Math.SQRT2), -1 / (2 * Math.SQRT2)]);
  // partial credit: correct means reward ≥ the threshold
  closeAll(passAtKAdvantages([0.8, 0.3, 0.3, 0.3], 4, 2, 0.5).advantages, [1, -1 / 3, -1 / 3, -1 / 3]);
});

test('W-REINFORCE: +λ for correct, −1 for wrong, no baseline; an all-wrong group still carries gradient', () => {
  const r = wReinforceAdvantages([1, 0, 0.5, NaN, 0, 0, 0, 0], 4, 0.1);
  closeAll(r.advantages, [0.1, -1, -1, 0, -1, -1, -1, -1]);
  assert.deepEqual(r.zeroVariance, [false, false]);
  closeAll(wReinforceAdvantages([0.5, 0.4], 2, 0.2, 0.5).advantages, [0.2, -1]);
});

test('unlikeliness reward: r · (1 − β·rank/G), rank = how many of the group are less likely', () => {
  // log-probs −3, −1, −2, −5 → ranks 1, 3, 2, 0; β = 0.25, G = 4
  const shaped = unlikelinessRewards([1, 1, 0, 1], 4, [-3, -1, -2, -5], 0.25);
  closeAll(shaped, [1 - 0.25 / 4, 1 - 0.75 / 4, 0, 1]);
  // ties share the lower rank; invalid rollouts neither count nor change
  closeAll(unlikelinessRewards([1, 1, NaN, 1], 4, [-2, -2, -9, -1], 0.25), [1, 1, NaN, 1 - 0.5 / 4], 'ties');
  // groupAdvantages applies it before GRPO's advantages
  const adv = groupAdvantages([1, 1, 0, 1], 4, 'group', { unlikelinessBeta: 0.25 }, [-3, -1, -2, -5]);
  closeAll(adv.advantages, Array.from(computeAdvantages(shaped, 4, { scaling: 'group' }).advantages));
  // in an all-correct group the shaping creates a signal toward the unlikely answers
  const allRight = groupAdvantages([1, 1, 1, 1], 4, 'none', { unlikelinessBeta: 0.25 }, [-3, -1, -2, -5]);
  assert.ok(allRight.advantages[3]! > 0 && allRight.advantages[1]! < 0);
});

test('groupAdvantages dispatches by estimator and refuses contradictory settings', () => {
  const r = [1, 0, 0, 0];
  closeAll(groupAdvantages(r, 4, 'group', { estimator: 'pass_at_k', passK: 2 }).advantages, [1, -1 / 3, -1 / 3, -1 / 3]);
  closeAll(groupAdvantages(r, 4, 'group', { estimator: 'w_reinforce' }).advantages, [0.1, -1, -1, -1]);
  closeAll(groupAdvantages(r, 4, 'group').advantages, Array.from(computeAdvantages(r, 4, { scaling: 'group' }).advantages));
  assert.throws(() => groupAdvantages(r, 4, 'group', { estimator: 'pass_at_k', unlikelinessBeta: 0.25 }), /does not combine with the pass_at_k estimator/);
  assert.throws(() => groupAdvantages(r, 4, 'group', { unlikelinessBeta: 0.25 }), /needs each rollout's sequence log-prob/);
  assert.throws(() => groupAdvantages(r, 4, 'group', { estimator: 'bogus' as never }), /estimator "bogus"/);
});
