import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEvaluator } from './format.js';
import { numericEvaluator } from './numeric.js';
import { stringMatchEvaluator } from './string-match.js';
import { rollout } from '../test-helpers.js';

test('format: think/answer in order with nothing outside scores 1', async () => {
  const f = formatEvaluator();
  assert.equal((await f.evaluate(rollout('<think>hm</think>\n<answer>4</answer>\n'))).score, 1);
  assert.equal((await f.evaluate(rollout('Sure! <think>hm</think><answer>4</answer>'))).score, 0.8);
  assert.equal((await f.evaluate(rollout('<answer>4</answer><think>hm</think>'))).score, 0.25); // out of order: only one found in order
  assert.equal((await f.evaluate(rollout('<think>hm</think> 4'))).score, 0.25);
  assert.equal((await f.evaluate(rollout('<think>unclosed <answer>4</answer>'))).score, 0.25);
  assert.equal((await f.evaluate(rollout('4'))).score, 0);
});

test('format: [WORK]/[RESULT] bracket tags and any list', async () => {
  const f = formatEvaluator({ tags: ['WORK', 'RESULT'], style: 'bracket' });
  assert.equal((await f.evaluate(rollout('[WORK]150/0.75[/WORK][RESULT]200[/RESULT]'))).score, 1);
  assert.equal((await f.evaluate(rollout('[RESULT]200[/RESULT]'))).score, 0.25);
  const three = formatEvaluator({ tags: ['a', 'b', 'c'] });
  const r = await three.evaluate(rollout('<a>1</a><c>3</c>'));
  assert.equal(r.metrics!.tags_found!.score, 0.6667);
});

test('format: regex mode', async () => {
  const f = formatEvaluator({ regex: '^Answer: \\d+$', flags: 'm' });
  assert.equal((await f.evaluate(rollout('blah\nAnswer: 12'))).score, 1);
  assert.equal((await f.evaluate(rollout('Answer: twelve'))).score, 0);
});

test('exact and normalized string match', async () => {
  const exact = stringMatchEvaluator('exact');
  const norm = stringMatchEvaluator('normalized');
  assert.equal((await exact.evaluate(rollout('<answer> Paris </answer>', 'Paris'))).score, 1);
  assert.equal((await exact.evaluate(rollout('<answer>paris.</answer>', 'Paris'))).score, 0);
  assert.equal((await norm.evaluate(rollout('<answer>paris.</answer>', 'Paris'))).score, 1);
  assert.equal((await norm.evaluate(rollout('<answer>PARIS,  France</answer>', ['Paris', 'Paris France']))).score, 1);
  const partial = stringMatchEvaluator('normalized', { partial: true });
  const p = await partial.evaluate(rollout('<answer>Pariss</answer>', 'Paris'));
  assert.ok(p.score > 0.7 && p.score < 1, String(p.score));
  assert.equal((await norm.evaluate(rollout('x', { not: 'a string' }))).valid, false);
});

test('numeric: the same number written differently is correct', async () => {
  const n = numericEvaluator();
  const cases: [string, unknown][] = [
    ['[WORK]150/0.75[/WORK][RESULT]200[/RESULT]', '200'],
    ['[RESULT]$200.00[/RESULT]', '200'],
    ['The answer is 1,234.5 km.', '1234.5'],
    ['<answer>3/4</answer>', '0.75'],
    ['<answer>25%</answer>', '0.25'],
    ['<answer>\u221212.5</answer>', '-12.5'],
    ['\\boxed{1.5e3}', 1500],
    ['so it is 12.5', '12.5'],
  ];
  for (const [out, gt] of cases) {
    const r = await n.evaluate(rollout(out, gt));
    assert.equal(r.score, 1, `${out} vs ${gt}: ${r.reason}`);
  }
});

test('numeric: wrong, missing and tolerance', async () => {
  const n = numericEvaluator();
  assert.equal((await n.evaluate(rollout('[RESULT]201[/RESULT]', '200'))).score, 0);
  const none = await n.evaluate(rollout('[RESULT]two hundred[/RESULT]', '200'));
  assert.equal(none.score, 0);
  assert.equal(none.metrics!.found!.score, 0);
  // the tagged answer wins over numbers elsewhere in the text
  assert.equal((await n.evaluate(rollout('200 is tempting but [RESULT]150[/RESULT]', '200'))).score, 0);
  const loose = numericEvaluator({ rel_tol: 0.01 });
  assert.equal((await loose.evaluate(rollout('[RESULT]3.14[/RESULT]', '3.14159'))).score, 1);
  assert.equal((await n.evaluate(rollout('[RESULT]3.14[/RESULT]', '3.14159'))).score, 0);
  const partial = numericEvaluator({ partial_within: 0.1 });
  assert.equal((await partial.evaluate(rollout('[RESULT]105[/RESULT]', '100'))).score, 0.25); // 0.5 × (1 − 0.05/0.1)
  assert.equal((await n.evaluate(rollout('1', 'not a number'))).valid, false);
});

test('numeric: a hedged answer is one answer — the last number stated — never a choice of several', async () => {
  const n = numericEvaluator();
  const s = async (out: string, gt: unknown = 12) => (await n.evaluate(rollout(out, gt))).score;
  assert.equal(await s('[RESULT]12 or 13[/RESULT]', 12), 0);
  assert.equal(await s('[RESULT]13, 12, 14[/RESULT]', 12), 0);
  assert.equal(await s('[RESULT]12[/RESULT] or maybe [RESULT]13[/RESULT]', 12), 0);
  assert.equal(await s('<answer>11</answer> \\boxed{12}', 12), 0); // <answer> outranks \boxed
  assert.equal(await s('It is 12. No wait, 13.', 12), 0);
  assert.equal(await s('It is 13. No wait, 12.', 12), 1);
});
