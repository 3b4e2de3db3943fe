import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseToolCalls } from './tool-calls.js';

const both = { formats: ['hermes', 'llama3_json'] as const };

test('tool calls in Qwen/Hermes format become OpenAI tool_calls; other text stays content', () => {
  const text = 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>';
  const p = parseToolCalls(text, new Set(['get_weather', 'get_time']));
  assert.equal(p.content, 'Let me check.');
  assert.equal(p.toolCalls.length, 2);
  assert.equal(p.toolCalls[0]!.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(p.toolCalls[0]!.function.arguments), { city: 'Paris' });
  assert.match(p.toolCalls[0]!.id, /^call_[0-9a-f]{24}$/);
  assert.deepEqual(p.malformed, []);
  assert.equal(parseToolCalls('<tool_call>{"name":"get_time","arguments":{}}</tool_call>').content, null);
  // Unknown functions are left as text (and are no error); broken JSON is left as text and reported.
  assert.deepEqual(parseToolCalls('<tool_call>{"name":"rm_rf","arguments":{}}</tool_call>', new Set(['get_time'])).toolCalls, []);
  assert.deepEqual(parseToolCalls('<tool_call>{"name":"rm_rf","arguments":{}}</tool_call>', new Set(['get_time'])).malformed, []);
  const broken = '<tool_call>{"name": "get_time", </tool_call>';
  const b = parseToolCalls(broken);
  assert.equal(b.content, broken);
  assert.deepEqual(b.toolCalls, []);
  assert.equal(b.malformed.length, 1);
  assert.equal(b.malformed[0]!.text, broken);
  assert.match(b.malformed[0]!.error, /not valid JSON/);
  // An unterminated block at the end (the model stopped at eos) still counts.
  assert.equal(parseToolCalls('<tool_call>\n{"name": "get_time", "arguments": {"tz": "UTC"}}\n').toolCalls[0]!.function.arguments, '{"tz":"UTC"}');
});

test('hermes: a good call next to a broken one is parsed, the broken one reported with its reason', () => {
  const p = parseToolCalls('<tool_call>{"name":"a","arguments":{"x":1}}</tool_call><tool_call>{"arguments":{}}</tool_call><tool_call>{"name":"b","arguments":[1]}</tool_call>', { makeId: (i) => `id${i}` });
  assert.deepEqual(p.toolCalls, [{ id: 'id0', type: 'function', function: { name: 'a', arguments: '{"x":1}' } }]);
  assert.deepEqual(p.malformed.map((m) => m.error), ['the tool call has no "name" string', 'the "arguments" of b must be a JSON object']);
  assert.equal(p.content, '<tool_call>{"arguments":{}}</tool_call><tool_call>{"name":"b","arguments":[1]}</tool_call>');
});

test('Llama 3.1 JSON: the whole reply as {name, parameters}, with or without <|python_tag|>, several separated by ";"', () => {
  const one = parseToolCalls(' {"name": "get_weather", "parameters": {"city": "Paris; France"}}\n', { ...both, makeId: (i) => `c${i}` });
  assert.deepEqual(one, { content: null, toolCalls: [{ id: 'c0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris; France"}' } }], malformed: [] });
  const two = parseToolCalls('<|python_tag|>{"name": "a", "parameters": {}}; {"name": "b", "parameters": {"s": "}{"}}', both);
  assert.deepEqual(two.toolCalls.map((c) => [c.function.name, c.function.arguments]), [['a', '{}'], ['b', '{"s":"}{"}']]);
  // JSON that is not a call, and text around JSON, are content
  for (const text of ['{"answer": 42}', 'The call would be {"name": "a", "parameters": {}}', '[1, 2]']) {
    assert.deepEqual(parseToolCalls(text, both), { content: text, toolCalls: [], malformed: [] }, text);
  }
  // what looks like a call but does not parse is reported
  const bad = parseToolCalls('{"name": "a", "parameters": {"x": 1}', both);
  assert.deepEqual([bad.toolCalls, bad.malformed.map((m) => m.error)], [[], ['the tool call JSON is not closed']]);
  assert.match(parseToolCalls('<|python_tag|>get_weather(city="Paris")', both).malformed[0]!.error, /expected a JSON object/);
  assert.match(parseToolCalls('{"name": "a", "parameters": {"x": 01}}', both).malformed[0]!.error, /not valid JSON/);
  // not recognised unless asked for (the server's default is hermes only)
  assert.deepEqual(parseToolCalls('{"name": "a", "parameters": {}}').toolCalls, []);
});
