import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeStats, distribution } from './stats.js';

test('stats count roles, fields, ground_truth types, tools and prompt lengths', () => {
  const s = computeStats([
    { messages: [{ role: 'user', content: 'abcd' }], ground_truth: '1' },
    { messages: [{ role: 'system', content: 'ab' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'answer' }], ground_truth: { x: 1 }, id: 2 },
    { messages: [{ role: 'user', content: 'xy' }], tools: [{ type: 'function', function: { name: 'f' } }] },
    'not a row',
  ]);
  assert.equal(s.rows, 3);
  assert.equal(s.skippedLines, 1);
  assert.deepEqual(s.roles, { user: 3, system: 1, assistant: 1 });
  assert.deepEqual(s.fields, { messages: 3, ground_truth: 2, id: 1, tools: 1 });
  assert.deepEqual(s.groundTruthTypes, { string: 1, object: 1, missing: 1 });
  assert.equal(s.rowsWithTools, 1);
  assert.deepEqual(s.toolNames, { f: 1 });
  assert.equal(s.rowsEndingWithAssistant, 1);
  // prompt chars: 4, 3 (the SFT answer excluded), 2
  assert.deepEqual(s.promptChars, { min: 2, mean: 3, p50: 3, p90: 4, p99: 4, max: 4 });
  assert.deepEqual(distribution([5, 1, 3, 2, 4, 6, 7, 8, 9, 10]), { min: 1, mean: 5.5, p50: 5, p90: 9, p99: 10, max: 10 });
});
