import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile, validateRows } from './validate.js';

const user = (content: unknown) => ({ role: 'user', content });
const codes = (rows: unknown[], opts = {}) => validateRows(rows, opts).issues.map((i) => `${i.line}:${i.code}:${i.path}`);

test('valid RFT rows pass: single-turn, multi-turn with tools, extra fields, system-only prompt', () => {
  const rows = [
    { messages: [user('2+2?')], ground_truth: '4', anything: { x: [1] } },
    {
      messages: [
        { role: 'system', content: 'be brief' },
        user('weather?'),
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '5C' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    },
    { messages: [{ role: 'system', content: 'Write a haiku.' }] },
  ];
  const r = validateRows(rows);
  assert.deepEqual(r.issues, []);
  assert.equal(r.ok, true);
  assert.equal(r.validRows, 3);
});

test('every problem is reported with its line, not just the first', () => {
  const rows = [
    'not an object',
    { messages: [] },
    { prompt: 'hi' },
    { messages: [{ role: 'robot', content: 'x' }, user(['part'])] },
    { messages: [user('q'), { role: 'assistant', content: 'a' }] },
    { messages: [user('q'), { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: { a: 1 } } }] }, { role: 'tool', content: 'r' }] },
    { messages: [user('q'), { role: 'tool', tool_call_id: 'nope', content: 'r' }] },
    { messages: [{ role: 'user', content: null }] },
    { messages: [user('   ')] },
    { messages: [user('ok')], tools: [{ type: 'function', function: {} }] },
    { messages: 'hello' },
  ];
  assert.deepEqual(codes(rows), [
    '1:not_object:(row)',
    '2:empty_messages:messages',
    '3:missing_messages:messages',
    '4:unknown_role:messages[0].role',
    '4:bad_content:messages[1].content',
    '5:last_message:messages[1].role',
    '6:bad_tool_call:messages[1].tool_calls[0].function.arguments',
    '6:bad_tool_result:messages[2].tool_call_id',
    '7:bad_tool_result:messages[1].tool_call_id',
    '8:bad_content:messages[0].content',
    '9:empty_prompt:messages[0].content',
    '10:bad_tools:tools[0].function.name',
    '11:schema:messages',
  ]);
  const r = validateRows(rows);
  assert.equal(r.ok, false);
  assert.equal(r.validRows, 0);
  assert.match(r.issues.find((i) => i.line === 3)!.message, /rft dataset convert/);
  assert.match(r.issues.find((i) => i.line === 5)!.message, /from-sft/);
});

test('SFT rows must end with a non-empty assistant answer after a prompt', () => {
  const ok = { messages: [user('q'), { role: 'assistant', content: '[RESULT]1[/RESULT]' }] };
  assert.deepEqual(codes([ok], { kind: 'sft' }), []);
  assert.deepEqual(codes([{ messages: [user('q')] }, { messages: [{ role: 'assistant', content: 'a' }] }, { messages: [user('q2'), { role: 'assistant', content: ' ' }] }], { kind: 'sft' }), [
    '1:last_message:messages[0].role',
    '2:last_message:messages',
    '3:bad_content:messages[1].content',
  ]);
});

test('duplicates are found by prompt, oversized rows by byte size', () => {
  const a = { messages: [user('same')], ground_truth: 1 };
  const b = { messages: [user('same')], ground_truth: 2 }; // same prompt, other answer: still a duplicate
  const c = { messages: [user('other')] };
  assert.deepEqual(codes([a, c, b]), ['3:duplicate:messages']);
  assert.match(validateRows([a, c, b]).issues[0]!.message, /same prompt as line 1/);
  assert.deepEqual(codes([a, b], { duplicates: false }), []);
  const big = { messages: [user('x'.repeat(2000))] };
  assert.deepEqual(codes([big], { maxBytes: 1000 }), ['1:oversized:(row)']);
  assert.deepEqual(codes([big], { maxBytes: 5000 }), []);
  // SFT duplicates compare the prompt without the answer.
  const s1 = { messages: [user('q'), { role: 'assistant', content: 'A' }] };
  const s2 = { messages: [user('q'), { role: 'assistant', content: 'B' }] };
  assert.deepEqual(codes([s1, s2], { kind: 'sft' }), ['2:duplicate:messages']);
});

test('validateFile reports bad JSON with file line numbers (blank lines counted) and empty files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-validate-'));
  const file = join(dir, 'd.jsonl');
  await writeFile(file, '{"messages":[{"role":"user","content":"a"}]}\n\n{oops}\n{"messages":[{"role":"user","content":"a"}]}\n');
  const r = await validateFile(file);
  assert.deepEqual(r.issues.map((i) => `${i.line}:${i.code}`), ['3:bad_json', '4:duplicate']);
  assert.equal(r.rows, 3);
  await writeFile(file, '\n\n');
  assert.deepEqual((await validateFile(file)).issues.map((i) => i.code), ['no_rows']);
});
