import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineEvaluator, normaliseResult } from './define.js';
import { rollout } from './test-helpers.js';

test('a well-formed result passes through with only the contract fields', () => {
  const r = normaliseResult({ score: 0.5, valid: true, reason: 'half', metrics: { a: { score: 1, reason: 'x' } }, extra: 1 });
  assert.deepEqual(r, { score: 0.5, valid: true, reason: 'half', metrics: { a: { score: 1, reason: 'x' } } });
});

test('valid defaults to true when absent', () => {
  assert.deepEqual(normaliseResult({ score: 1 }), { score: 1, valid: true });
});

test('scores outside [0,1], NaN, strings and missing scores are malformed results, not clamped', () => {
  for (const bad of [{ score: 1.5 }, { score: -0.1 }, { score: NaN }, { score: '1' }, {}, null, 3, 'ok', [1], { score: Infinity }]) {
    const r = normaliseResult(bad);
    assert.equal(r.valid, false, JSON.stringify(bad));
    assert.equal(r.score, 0);
    assert.match(r.reason!, /malformed evaluation result/);
  }
});

test('malformed metrics and a non-boolean valid are reported with the field', () => {
  assert.match(normaliseResult({ score: 1, metrics: { f: { score: 'x' } } }).reason!, /metrics\.f\.score/);
  assert.match(normaliseResult({ score: 1, metrics: { f: 2 } }).reason!, /metrics\.f/);
  assert.match(normaliseResult({ score: 1, valid: 'yes' }).reason!, /valid must be a boolean/);
});

test('an invalid result carries no reward', () => {
  assert.deepEqual(normaliseResult({ score: 0.7, valid: false, reason: 'judge down' }), { score: 0, valid: false, reason: 'judge down' });
});

test('defineEvaluator turns throws and rejections into valid:false with the error', async () => {
  const sync = defineEvaluator({ name: 'boom', evaluate: () => { throw new Error('kaput'); } });
  const r1 = await sync.evaluate(rollout('x'));
  assert.equal(r1.valid, false);
  assert.match(r1.reason!, /kaput/);
  const asyncEv = defineEvaluator({ name: 'rej', evaluate: async () => Promise.reject(new TypeError('nope')) });
  assert.match((await asyncEv.evaluate(rollout('x'))).reason!, /nope/);
  const garbage = defineEvaluator({ name: 'g', evaluate: () => ({ score: 2, valid: true }) });
  assert.match((await garbage.evaluate(rollout('x'))).reason!, /in \[0, 1\]/);
});

test('defineEvaluator rejects a definition without a name or function', () => {
  assert.throws(() => defineEvaluator({ name: '', evaluate: () => ({ score: 1, valid: true }) }), /name/);
  assert.throws(() => defineEvaluator({ name: 'x' } as never), /evaluate/);
});
