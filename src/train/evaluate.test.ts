import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedGain, passAtK, type HeldoutResult } from './evaluate.js';

test('pass@k: hand-computed values of 1 − C(n−c,k)/C(n,k)', () => {
  assert.equal(passAtK(4, 0, 4), 0);
  assert.equal(passAtK(4, 1, 4), 1);
  // n=4, c=1, k=1 → 1/4; n=5, c=2, k=2 → 1 − C(3,2)/C(5,2) = 1 − 3/10
  assert.ok(Math.abs(passAtK(4, 1, 1) - 0.25) < 1e-12);
  assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-12);
  assert.throws(() => passAtK(2, 1, 3), /cannot exceed/);
});

test('pairedGain: mean of per-problem differences and their standard error, greedy and sampled (hand-computed)', () => {
  const result = (greedy: (number | null)[], sampled: (number | null)[][]): HeldoutResult => ({
    n: greedy.length, k: sampled[0]!.length, mean_reward: NaN, pass1: NaN, mean_reward_sampled: NaN, pass1_sampled: NaN, pass_at_k: NaN,
    samples: [
      ...greedy.map((score, row) => ({ row, prompt: '', completion: '', score, valid: score !== null, greedy: true })),
      ...sampled.flatMap((s, row) => s.map((score) => ({ row, prompt: '', completion: '', score, valid: score !== null, greedy: false }))),
    ],
  });
  // problem 0: greedy 0.2 → 1.0, sampled mean 0.2 → 0.7; problem 1: greedy 1 → 1, sampled 0.8 → 1 (an invalid score counts 0)
  const before = result([0.2, 1], [[null, 0.4], [1, 0.6]]);
  const after = result([1, 1], [[1, 0.4], [1, 1]]);
  const g = pairedGain(before, after);
  // greedy differences 0.8, 0: mean 0.4, sd √(0.16+0.16) = 0.566, se 0.566/√2 = 0.4
  assert.ok(Math.abs(g.greedy.delta - 0.4) < 1e-12 && Math.abs(g.greedy.se - 0.4) < 1e-12, JSON.stringify(g.greedy));
  // sampled differences 0.5, 0.2: mean 0.35, sd √(2·0.15²) = 0.212, se 0.15
  assert.ok(Math.abs(g.sampled.delta - 0.35) < 1e-12 && Math.abs(g.sampled.se - 0.15) < 1e-12, JSON.stringify(g.sampled));
  assert.throws(() => pairedGain(before, result([1], [[1, 1]])), /cover 2 and 1 problems/);
});
