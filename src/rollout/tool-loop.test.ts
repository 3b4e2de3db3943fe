import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolAgentSource } from './tool-loop.js';
import { AbortRollout, defineAgent, isClientAgent, isToolAgent, type AgentTool, type ToolAgent, type ToolContext } from './agent.js';
import { buildCharTokenizer, defaultAlphabet } from '../model/char-tokenizer.js';
import { ModelTokenizer } from '../model/tokenizer.js';
import { chatTokenizer } from '../model/policy.js';
import type { ChatMessage, Row } from '../contracts/row.js';
import type { PolicyEngine, Sample, SampleRequest } from '../contracts/policy-engine.js';
import type { Trajectory } from '../contracts/trajectory.js';
import type { RolloutRequest } from './source.js';

const files = buildCharTokenizer(defaultAlphabet());
const modelTok = new ModelTokenizer({ tokenizer: files.tokenizer, config: files.config, generation: { eos_token_id: [files.ids.imEnd, files.ids.endoftext] } });
const tok = chatTokenizer(modelTok);
const IM_END = files.ids.imEnd;

/**
 * A policy that answers from a script: `reply(prompt text, turn)` gives the text of the next
 * reply (ended by <|im_end|>), log-prob −0.5 per token. Records every sample call.
 */
function scripted(reply: (prompt: string, turn: number) => string) {
  const calls: SampleRequest[] = [];
  const sample = async (req: SampleRequest): Promise<Sample[]> => {
    calls.push(req);
    return req.prompts.map((p, i) => {
      const text = modelTok.decode(p, { skipSpecialTokens: false });
      const turn = text.split('<|im_start|>assistant\n').length - 2;
      const tokens = [...tok.encode(reply(text, turn)), IM_END].slice(0, req.maxNewTokens);
      return { prompt: i, tokens, logprobs: tokens.map(() => -0.5), finishReason: tokens[tokens.length - 1] === IM_END ? 'stop' : 'length' };
    });
  };
  return { policy: { sample } as unknown as PolicyEngine, calls };
}

const add: AgentTool<{ a: number; b: number }> = {
  type: 'function',
  function: { name: 'add', description: 'a + b', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'], additionalProperties: false } },
  run: ({ a, b }) => String(a + b),
};
const row = (content: string, extra: Partial<Row> = {}): Row => ({ messages: [{ role: 'user', content }], ...extra });
const request = (rows: Row[], n = 1, extra: Partial<RolloutRequest> = {}): RolloutRequest => ({ rows, n, sampling: { maxNewTokens: 200, temperature: 1 }, seed: 1, ...extra });
const callText = (name: string, args: string) => `<tool_call>{"name": "${name}", "arguments": ${args}}</tool_call>`;
/** The sampled (mask 1) and inserted (mask 0) runs of a segment's completion, decoded. */
function runs(t: Trajectory, seg = 0): { sampled: boolean; text: string }[] {
  const s = t.segments[seg];
  const out: { sampled: boolean; ids: number[] }[] = [];
  s.completionTokens.forEach((id, i) => {
    const sampled = s.completionMask[i] === 1;
    if (!out.length || out[out.length - 1].sampled !== sampled) out.push({ sampled, ids: [] });
    out[out.length - 1].ids.push(id);
  });
  return out.map((r) => ({ sampled: r.sampled, text: modelTok.decode(r.ids, { skipSpecialTokens: false }) }));
}

test('a canonical tool-using conversation trains on exactly the template rendering of it, sampled tokens masked 1, inserted 0', async () => {
  const { policy } = scripted((_, turn) => (turn === 0 ? callText('add', '{"a":2,"b":3}') : 'It is 5.'));
  const source = new ToolAgentSource(policy, tok, defineAgent({ tools: [add], system: 'Use tools.' }));
  const [t] = await source.rollout(request([row('2+3?')]));
  const schemas = [{ type: 'function' as const, function: add.function }];
  const expected: ChatMessage[] = [
    { role: 'system', content: 'Use tools.' },
    { role: 'user', content: '2+3?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_0_0', type: 'function', function: { name: 'add', arguments: '{"a":2,"b":3}' } }] },
    { role: 'tool', tool_call_id: 'call_0_0', name: 'add', content: '5' },
    { role: 'assistant', content: 'It is 5.' },
  ];
  assert.deepEqual(t.messages, expected, 'the evaluator sees the tool calls and results');
  assert.equal(t.output, 'It is 5.');
  assert.equal(t.finishReason, 'stop');
  assert.equal(t.error, undefined);
  assert.equal(t.segments.length, 1);
  const seg = t.segments[0];
  // the model wrote the calls as the template renders them, so prompt + completion is the template's rendering of the whole conversation
  assert.deepEqual([...seg.promptTokens, ...seg.completionTokens], tok.applyChatTemplate(expected, { addGenerationPrompt: false, tools: schemas }).slice(0, -1)); // minus the "\n" after the last <|im_end|>
  assert.deepEqual(seg.promptTokens, tok.applyChatTemplate(expected.slice(0, 2), { addGenerationPrompt: true, tools: schemas }));
  assert.deepEqual(runs(t), [
    { sampled: true, text: callText('add', '{"a":2,"b":3}') + '<|im_end|>' },
    { sampled: false, text: '\n<|im_start|>tool\n5<|im_end|>\n<|im_start|>assistant\n' },
    { sampled: true, text: 'It is 5.<|im_end|>' },
  ]);
  assert.deepEqual(seg.logprobs, seg.completionMask.map((m) => (m ? -0.5 : 0)));
  const sampled = seg.completionMask.filter(Boolean).length;
  assert.deepEqual(t.stats, { turns: 2, toolCalls: 1, toolErrors: 0, sampledTokens: sampled, insertedTokens: seg.completionTokens.length - sampled });
});

test('malformed JSON, an unknown tool and wrong argument types go back to the model as errors and are counted; Llama JSON calls work too', async () => {
  const { policy } = scripted((_, turn) =>
    [
      'Trying. ' + callText('add', '{"a": 1, "b": "x"}') + callText('nope', '{}') + '<tool_call>{"name": "add", "arguments": {"a": 1,</tool_call>',
      '{"name": "add", "parameters": {"a": 1, "b": 2}}',
      'Done: 3',
    ][turn]!,
  );
  const source = new ToolAgentSource(policy, tok, { tools: [add] });
  const [t] = await source.rollout(request([row('1+2?')]));
  // nothing random in the loop itself (call ids included): the same request gives the same trajectory
  assert.deepEqual(await source.rollout(request([row('1+2?')])), [t]);
  const tools = t.messages.filter((m) => m.role === 'tool').map((m) => m.content!);
  assert.equal(tools.length, 4);
  assert.match(tools[0], /^Error: invalid arguments for add: \/b must be number/);
  assert.match(tools[1], /^Error: unknown tool "nope"; the tools are add/);
  assert.match(tools[2], /^Error: the tool call is not valid JSON/);
  assert.equal(tools[3], '3');
  // a malformed block stays in the content, as the model wrote it
  assert.equal(t.messages[1].content, 'Trying. <tool_call>{"name": "add", "arguments": {"a": 1,</tool_call>');
  assert.equal(t.messages[1].tool_calls!.length, 2);
  assert.deepEqual(t.messages[5].tool_calls?.map((c) => c.function), [{ name: 'add', arguments: '{"a":1,"b":2}' }]);
  assert.deepEqual({ turns: t.stats.turns, toolCalls: t.stats.toolCalls, toolErrors: t.stats.toolErrors }, { turns: 3, toolCalls: 4, toolErrors: 3 });
  assert.equal(t.finishReason, 'stop');
  assert.equal(t.output, 'Done: 3');
});

test('a tool that throws answers with its error text; one that times out is told so and aborted; the rollout goes on', async () => {
  let signalled = false;
  const agent = defineAgent({
    toolTimeoutMs: 50,
    tools: [
      { type: 'function', function: { name: 'boom' }, run: () => { throw new Error('disk on fire'); } },
      { type: 'function', function: { name: 'slow' }, run: async (_a: unknown, ctx: ToolContext) => { await sleep(5_000, undefined, { signal: ctx.signal }).catch(() => (signalled = ctx.signal.aborted)); return 'late'; } },
      { type: 'function', function: { name: 'obj' }, run: (_a: unknown, ctx: ToolContext) => ({ secret: ctx.row.secret, rowTools: ctx.row.tools?.length ?? 0 }) },
    ],
  });
  const { policy } = scripted((_, turn) => (turn === 0 ? callText('boom', '{}') + callText('slow', '{}') + callText('obj', '{}') : 'ok'));
  const [t] = await new ToolAgentSource(policy, tok, agent).rollout(request([row('go', { secret: 's3', tools: [{ type: 'function', function: { name: 'x' } }] })]));
  const tools = t.messages.filter((m) => m.role === 'tool').map((m) => m.content);
  assert.deepEqual(tools, ['Error: disk on fire', 'Error: slow timed out after 50 ms', '{"secret":"s3","rowTools":1}']);
  assert.ok(signalled, "the slow tool's signal was aborted");
  assert.equal(t.stats.toolErrors, 2);
  assert.equal(t.finishReason, 'stop');
  assert.equal(t.error, undefined);
});

test('a tool that aborts the rollout, or a rollout past its timeout, is invalid; the other rollouts of the batch finish', async () => {
  const agent: ToolAgent = {
    rolloutTimeoutMs: 300,
    tools: [
      { type: 'function', function: { name: 'env' }, run: (_a: unknown, ctx: ToolContext) => { if (ctx.row.broken) throw new AbortRollout('database unreachable'); return 'fine'; } },
      // ignores its signal: the rollout's own deadline has to end it
      { type: 'function', function: { name: 'hang' }, run: () => sleep(1_000).then(() => 'late') },
    ],
  };
  const { policy, calls } = scripted((text, turn) => (turn > 0 ? 'answer' : text.includes('please-wait') ? callText('hang', '{}') : callText('env', '{}')));
  const ts = await new ToolAgentSource(policy, tok, agent).rollout(request([row('a'), row('b', { broken: true }), row('please-wait')], 2));
  assert.deepEqual(ts.map((t) => [t.rowIndex, t.finishReason]), [[0, 'stop'], [0, 'stop'], [1, 'error'], [1, 'error'], [2, 'timeout'], [2, 'timeout']]);
  assert.match(ts[2].error!, /aborted: database unreachable/);
  assert.match(ts[4].error!, /longer than 300 ms/);
  assert.equal(ts[0].output, 'answer');
  // every turn samples all live rollouts in one call: 6 at first, then the 2 that are left
  assert.deepEqual(calls.map((c) => c.prompts.length), [6, 2]);
  assert.ok(calls.every((c) => c.n === 1));
  assert.notEqual(calls[0].seed, calls[1].seed);
});

test('the loop ends at maxTurns and at the token budget', async () => {
  const { policy } = scripted(() => callText('add', '{"a":1,"b":1}'));
  const [t] = await new ToolAgentSource(policy, tok, { tools: [add], maxTurns: 3 }).rollout(request([row('loop')]));
  assert.equal(t.finishReason, 'max_turns');
  assert.equal(t.stats.turns, 3);
  assert.equal(t.messages.filter((m) => m.role === 'tool').length, 3);
  // the trajectory stops at the last sampled token (no inserted tokens after the final turn)
  assert.equal(t.segments[0].completionMask.at(-1), 1);

  const budget = 80;
  const [b] = await new ToolAgentSource(policy, tok, { tools: [add], maxTokens: budget }).rollout(request([row('loop')]));
  assert.equal(b.finishReason, 'budget');
  assert.ok(b.segments[0].completionTokens.length <= budget, `${b.segments[0].completionTokens.length} tokens`);
  assert.equal(b.stats.sampledTokens + b.stats.insertedTokens, b.segments[0].completionTokens.length);
});

test('when the template does not extend the tokens so far (history rewritten), a new segment starts', async () => {
  // a template that drops the system message once tools have answered: the next prompt is not an extension
  const rewriting = { ...tok, applyChatTemplate: (m: ChatMessage[], o: Parameters<typeof tok.applyChatTemplate>[1]) => tok.applyChatTemplate(m.some((x) => x.role === 'tool') ? m.filter((x) => x.role !== 'system') : m, o) };
  const { policy } = scripted((_, turn) => (turn === 0 ? callText('add', '{"a":2,"b":2}') : 'four'));
  const [t] = await new ToolAgentSource(policy, rewriting, { tools: [add], system: 'S' }).rollout(request([row('2+2?')]));
  assert.equal(t.segments.length, 2);
  assert.deepEqual(t.segments[0].completionMask.every((m) => m === 1), true, 'the first segment is the first turn, all sampled');
  assert.deepEqual(t.segments[1].promptTokens, rewriting.applyChatTemplate(t.messages.slice(0, -1), { addGenerationPrompt: true, tools: [{ type: 'function', function: add.function }] }));
  assert.equal(modelTok.decode(t.segments[1].completionTokens, { skipSpecialTokens: false }), 'four<|im_end|>');
  assert.equal(t.stats.insertedTokens, 0);
});

test('defineAgent: both forms are recognised; a bad definition says what is wrong', () => {
  assert.ok(isToolAgent(defineAgent({ tools: [add] })));
  const client = defineAgent({ run: async () => undefined });
  assert.ok(isClientAgent(client) && !isToolAgent(client));
  assert.throws(() => defineAgent({} as ToolAgent), /needs tools: \[\.\.\.\] .* or run\(/);
  assert.throws(
    () => defineAgent({ tools: [{ ...add, function: { name: 'bad name' } }, { ...add, run: 1 as unknown as AgentTool['run'] }, add], maxTurns: 0 }),
    /tools\[0\]\.function\.name must be 1-64 letters.*tools\[1\]\.run must be a function.*tools\[2\]: a second tool named "add".*maxTurns must be a positive number/,
  );
  assert.throws(() => new ToolAgentSource(scripted(() => '').policy, tok, { tools: [{ ...add, function: { name: 'f', parameters: { type: 'nonsense' } } }] }), /tool f: parameters is not a valid JSON Schema/);
});
