import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvertError, convertPromptRow, toPromptRow } from './convert.js';

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
