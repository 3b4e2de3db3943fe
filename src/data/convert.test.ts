import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvertError, convertPromptRow, toPromptRow } from './convert.js';
import { fromSft, extractAnswer, answerPatterns } from './sft.js';

test('a text prompt row becomes a chat row; extra fields pass through', () => {
  assert.deepEqual(convertPromptRow({ prompt: '2+2?', ground_truth: '4', id: 7 }), {
    messages: [{ role: 'user', content: '2+2?' }],
    ground_truth: '4',
    id: 7,
  });
});

test('a completion goes to an assistant message, to ground_truth, or away', () => {
  const row = { prompt: 'q', completion: 'a' };
  assert.deepEqual(convertPromptRow(row).messages, [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]);
  assert.deepEqual(convertPromptRow(row, { completion: 'ground-truth' }), { messages: [{ role: 'user', content: 'q' }], ground_truth: 'a' });
  assert.deepEqual(convertPromptRow(row, { completion: 'drop' }), { messages: [{ role: 'user', content: 'q' }] });
  assert.throws(() => convertPromptRow({ ...row, ground_truth: 'x' }, { completion: 'ground-truth' }), ConvertError);
});

test('TRL conversational prompts are used as messages; a system message is added only when missing', () => {
  const prompt = [{ role: 'user', content: 'hi' }];
  assert.deepEqual(convertPromptRow({ prompt, completion: [{ role: 'assistant', content: 'yo' }] }, { system: 'S' }).messages, [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'yo' },
  ]);
  const withSystem = [{ role: 'system', content: 'mine' }, { role: 'user', content: 'hi' }];
  assert.deepEqual(convertPromptRow({ prompt: withSystem }, { system: 'S' }).messages, withSystem);
});

test('chat rows pass through; unconvertible rows say why', () => {
  const chat = { messages: [{ role: 'user' as const, content: 'x' }] };
  assert.equal(convertPromptRow(chat), chat);
  assert.throws(() => convertPromptRow({ text: 'x' }), /neither "messages" nor "prompt"/);
  assert.throws(() => convertPromptRow({ prompt: 5 }), /"prompt" must be a string or an array of chat messages/);
  assert.throws(() => convertPromptRow([1]), ConvertError);
});

test('toPromptRow inverts convertPromptRow for text and conversational rows', () => {
  for (const row of [
    { prompt: 'q', completion: 'a', extra: 1 },
    { prompt: 'q', ground_truth: { n: 1 } },
    { prompt: [{ role: 'system', content: 's' }, { role: 'user', content: 'q' }], completion: 'a' },
  ]) {
    assert.deepEqual(toPromptRow(convertPromptRow(row)), row);
  }
});

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
