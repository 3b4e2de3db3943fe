import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../contracts/row.js';
import type { RecordedTurn } from './gateway-port.js';
import { segmentsOf, trajectoryFromTurns } from './recorded-trajectory.js';

const turn = (promptTokens: number[], sampledTokens: number[], messages: ChatMessage[] = [], reply = 'r', extra: Partial<RecordedTurn> = {}): RecordedTurn => ({
  kind: 'chat',
  promptTokens,
  sampledTokens,
  logprobs: sampledTokens.map((t) => -t / 10),
  finishReason: 'stop',
  messages,
  reply: { role: 'assistant', content: reply },
  toolCalls: [],
  ...extra,
});
const row = { messages: [{ role: 'user' as const, content: 'q' }] };

test('a prompt that extends the previous prompt + sampled tokens continues the segment; the extension is inserted (mask 0)', () => {
  const turns = [turn([1, 2], [3, 4]), turn([1, 2, 3, 4, 5, 6], [7])];
  assert.deepEqual(segmentsOf(turns), [{ promptTokens: [1, 2], completionTokens: [3, 4, 5, 6, 7], completionMask: [1, 1, 0, 0, 1], logprobs: [-0.3, -0.4, 0, 0, -0.7] }]);
});

test('a prompt that rewrites history starts a new segment', () => {
  const turns = [turn([1, 2], [3, 4]), turn([1, 9, 3], [5])];
  const s = segmentsOf(turns);
  assert.equal(s.length, 2);
  assert.deepEqual(s[1], { promptTokens: [1, 9, 3], completionTokens: [5], completionMask: [1], logprobs: [-0.5] });
  // a prompt equal to an earlier prompt (a retry) does not extend it either: its tokens differ from the sampled ones
  assert.equal(segmentsOf([turn([1, 2], [3]), turn([1, 2], [4])]).length, 2);
});

test('an interleaved side conversation gets its own segment and the main one still continues', () => {
  const turns = [turn([1, 2], [3]), turn([8, 8], [9]), turn([1, 2, 3, 4], [5])];
  const s = segmentsOf(turns);
  assert.equal(s.length, 2);
  assert.deepEqual(s[0]!.completionTokens, [3, 4, 5]);
  assert.deepEqual(s[0]!.completionMask, [1, 0, 1]);
  assert.deepEqual(s[1]!.completionTokens, [9]);
});

test('the trajectory takes the longest conversation for its messages, counts tokens and tool calls', () => {
  const user: ChatMessage = { role: 'user', content: 'q' };
  const call = { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
  const turns = [
    turn([1], [2], [user], '', { reply: { role: 'assistant', content: null, tool_calls: [call] }, toolCalls: [call] }),
    turn([1, 2, 3], [4, 5], [user, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', content: 'ok', tool_call_id: 'c1' }], 'final', { finishReason: 'length' }),
    turn([7], [8], [{ role: 'user', content: 'side' }], 'side answer'),
  ];
  const t = trajectoryFromTurns(row, 2, turns);
  assert.equal(t.rowIndex, 2);
  assert.equal(t.output, 'final');
  assert.equal(t.messages.length, 4);
  assert.deepEqual(t.messages.at(-1), { role: 'assistant', content: 'final' });
  assert.equal(t.finishReason, 'length');
  assert.equal(t.error, undefined);
  assert.deepEqual(t.stats, { turns: 3, toolCalls: 1, toolErrors: 0, sampledTokens: 4, insertedTokens: 1 });
});

test('a rollout that never called the model is an error with no tokens; a given verdict wins', () => {
  const t = trajectoryFromTurns(row, 0, []);
  assert.equal(t.finishReason, 'error');
  assert.match(t.error!, /without calling the model/);
  assert.deepEqual(t.segments, []);
  assert.deepEqual(t.messages, row.messages);
  const late = trajectoryFromTurns(row, 0, [turn([1], [2])], { finishReason: 'timeout', error: 'timed out after 5 ms' });
  assert.equal(late.finishReason, 'timeout');
  assert.equal(late.error, 'timed out after 5 ms');
  assert.equal(late.segments.length, 1);
});
