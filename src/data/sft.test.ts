import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerPatterns, extractAnswer, fromSft } from './sft.js';

test('from-sft keeps the prompt turns and moves the tagged final answer into ground_truth', () => {
  const rows = [
    { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: '[WORK]2*3=6[/WORK][RESULT] 6 [/RESULT]' }], id: 1 },
    { messages: [{ role: 'user', content: 'q2' }, { role: 'assistant', content: 'no tags here' }] },
    { messages: [{ role: 'user', content: 'q3' }] },
    { messages: [{ role: 'user', content: 'q4' }, { role: 'assistant', content: '<think>..</think><answer>1+2</answer>' }] },
    { messages: [{ role: 'user', content: 'q5' }, { role: 'assistant', content: '[RESULT][/RESULT]' }] },
    'junk',
  ];
  const r = fromSft(rows);
  assert.deepEqual(r.rows, [
    { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'q1' }], id: 1, ground_truth: '6' },
    { messages: [{ role: 'user', content: 'q4' }], ground_truth: '1+2' },
  ]);
  assert.deepEqual(r.skipped, { no_answer: 1, no_final_assistant: 1, empty_answer: 1, not_a_row: 1 });
  assert.equal(r.read, 6);
  // --answer-tag restricts to one tag; --max stops early.
  assert.equal(fromSft(rows, { answerTag: 'RESULT' }).rows.length, 1);
  assert.equal(fromSft(rows, { max: 1 }).rows.length, 1);
  assert.equal(fromSft(rows, { max: 1 }).read, 1);
});

test('answer extraction takes the last match; regexes use their first capture group', () => {
  const text = '[RESULT]1[/RESULT] then <result>2</result>';
  assert.equal(extractAnswer(text, answerPatterns({ answerTag: 'RESULT' })), '2');
  assert.equal(extractAnswer('Final answer: 42. Final answer: 43.', answerPatterns({ answerRegex: 'Final answer: (\\d+)' })), '43');
  assert.equal(extractAnswer('#### 17', answerPatterns({ answerRegex: /####\s*\S+/ })), '#### 17');
  assert.equal(extractAnswer('abc', answerPatterns({ answerRegex: 'x*' })), ''); // empty matches do not loop
  assert.throws(() => answerPatterns({ answerTag: 'a b' }), RangeError);
  assert.throws(() => answerPatterns({ answerTag: 'A', answerRegex: 'x' }), RangeError);
});

test('keepGroundTruth keeps a row\'s own ground_truth (countdown) but still requires the answer', () => {
  const gt = { numbers: [1, 2, 3], target: 9 };
  const rows = [
    { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '<answer>(1+2)*3</answer>' }], ground_truth: gt },
    { messages: [{ role: 'user', content: 'q2' }, { role: 'assistant', content: 'no answer' }], ground_truth: gt },
    { messages: [{ role: 'user', content: 'q3' }, { role: 'assistant', content: '<answer>7</answer>' }] },
  ];
  const kept = fromSft(rows, { keepGroundTruth: true });
  assert.deepEqual(kept.rows.map((r) => r.ground_truth), [gt, '7']);
  assert.deepEqual(kept.skipped, { no_answer: 1 });
  assert.equal(fromSft(rows).rows[0]!.ground_truth, '(1+2)*3', 'by default the answer replaces it');
});
