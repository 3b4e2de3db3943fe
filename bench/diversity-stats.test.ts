import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outcomes, paired } from './diversity-stats.js';

test('per-problem outcomes: greedy pass, sampled pass@1 and pass@k from the samples', () => {
  const s = [
    { row: 0, score: 1, greedy: true }, { row: 0, score: 1, greedy: false }, { row: 0, score: 0.3, greedy: false },
    { row: 1, score: 0.3, greedy: true }, { row: 1, score: 0, greedy: false }, { row: 1, score: null, greedy: false },
  ];
  const o = outcomes(s, 2);
  assert.deepEqual([...o.greedy], [1, 0]);
  assert.deepEqual([...o.sampled], [0.5, 0]);
  assert.deepEqual([...o.passK], [1, 0]);
  assert.equal(o.k, 2);
  assert.throws(() => outcomes([{ row: 2, score: 1, greedy: true }], 2), /outside 0\.\.1/);
});

test('paired difference: mean of after − before and its standard error, by hand', () => {
  // differences 1, 0, −1, 1: mean 0.25, unbiased std √(((0.75)² + 0.25² + 1.25² + 0.75²)/3) = √(2.75/3)
  const p = paired([0, 1, 1, 0], [1, 1, 0, 1]);
  assert.equal(p.delta, 0.25);
  assert.ok(Math.abs(p.se - Math.sqrt(2.75 / 3) / 2) < 1e-12);
  assert.equal(paired([0, NaN], [1, 1]).n, 1);
});
