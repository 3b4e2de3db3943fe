import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { SamplingParams } from '../contracts/policy-engine.js';
import { trajectoryFromTurns } from '../rollout/recorded-trajectory.js';
import type { RolloutMetadata } from '../rollout/gateway-port.js';
import type { RolloutGateway } from './gateway.js';
import { makePolicyFixture, makeToolCallingFixture, SCRIPTED_CALL, startGateway, teacherForced, type GatewayFixture } from './gateway-fixture.js';

let fx: GatewayFixture;
let gw: RolloutGateway;
let keyed: RolloutGateway;
let next = 0;

before(async () => {
  fx = makePolicyFixture();
  gw = await startGateway(fx);
  keyed = await startGateway(fx, { apiKey: 'sekrit' });
});
after(async () => {
  await gw.close();
  await keyed.close();
  fx.cleanup();
});

const run: SamplingParams = { maxNewTokens: 12, temperature: 0.7 };
const meta = (id = `r${next++}`): RolloutMetadata => ({ rollout_id: id, invocation_id: 'inv', experiment_id: 'exp', run_id: 'run', row_id: '3' });
const clientFor = (baseURL: string, apiKey = 'unused') => new OpenAI({ baseURL: `${baseURL}/v1`, apiKey, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'hello there' }];

test('open() gives eval-protocol model_base_url; the openai client samples through it and the turn is recorded token for token', async () => {
  const m = meta();
  const base = gw.open({ metadata: m, sampling: run });
  assert.equal(base, `${gw.url}/rollout_id/${m.rollout_id}/invocation_id/inv/experiment_id/exp/run_id/run/row_id/3`);
  // The request asks for temperature 0 (and vendor extras): the run's 0.7 wins (the log-probs below are at 0.7).
  const r = await clientFor(base).chat.completions.create({ model: 'whatever', messages, temperature: 0, logprobs: true, seed: 5, top_p: 0.5, ...({ repetition_penalty: 1.2, min_p: 0.1 } as object) });
  const { turns } = gw.finish(m.rollout_id);
  assert.equal(turns.length, 1);
  const t = turns[0]!;
  assert.deepEqual(t.promptTokens, fx.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }));
  assert.ok(t.sampledTokens.length >= 1 && t.sampledTokens.length <= 12);
  assert.equal(t.logprobs.length, t.sampledTokens.length);
  const [tf] = await teacherForced(fx, turns, 0.7);
  tf!.forEach((lp, i) => assert.ok(Math.abs(lp - t.logprobs[i]!) < 1e-4, `token ${i}: teacher-forced ${lp} vs sampled ${t.logprobs[i]}`));
  // What the client got is what was recorded.
  assert.equal(r.choices[0]!.message.content, t.reply.content);
  assert.deepEqual(r.choices[0]!.logprobs!.content!.map((c) => c.logprob), t.logprobs);
  assert.equal(r.usage!.completion_tokens, t.sampledTokens.length);
  assert.deepEqual(t.messages, messages);
});

test('a request may lower max_tokens but not raise it', async () => {
  const m = meta();
  const c = clientFor(gw.open({ metadata: m, sampling: { ...run, temperature: 1, stopTokens: [] } }));
  await c.chat.completions.create({ model: 'tiny', messages, max_tokens: 2 });
  await c.chat.completions.create({ model: 'tiny', messages, max_tokens: 500 });
  const { turns } = gw.finish(m.rollout_id);
  assert.ok(turns[0]!.sampledTokens.length <= 2);
  assert.ok(turns[1]!.sampledTokens.length <= 12);
});

test('streaming through the openai client gives the same text the gateway recorded', async () => {
  const m = meta();
  const c = clientFor(gw.open({ metadata: m, sampling: run }));
  const stream = await c.chat.completions.create({ model: 'tiny', messages, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish = '';
  let usage = 0;
  for await (const chunk of stream) {
    for (const ch of chunk.choices) {
      text += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage.completion_tokens;
  }
  const { turns } = gw.finish(m.rollout_id);
  assert.equal(text, turns[0]!.reply.content);
  assert.equal(finish, turns[0]!.finishReason);
  assert.equal(usage, turns[0]!.sampledTokens.length);
});

test('/v1/completions and /v1/models behind the rollout prefix (with or without /v1)', async () => {
  const m = meta();
  const base = gw.open({ metadata: m, sampling: run });
  const r = await fetch(`${base}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: 'abc', max_tokens: 4 }) });
  assert.equal(r.status, 200);
  const j : any = await r.json();
  assert.equal(j.object, 'text_completion');
  const models = await clientFor(base).models.list();
  assert.deepEqual(models.data.map((x) => x.id), ['tiny']);
  const { turns } = gw.finish(m.rollout_id);
  assert.equal(turns[0]!.kind, 'completion');
  assert.deepEqual(turns[0]!.promptTokens, fx.tokenizer.encode('abc'));
  assert.equal(turns[0]!.reply.content, j.choices[0].text);
});

test('a multi-turn conversation through the gateway is one segment: sampled + inserted tokens, log-probs match teacher forcing', async () => {
  const m = meta();
  const c = clientFor(gw.open({ metadata: m, sampling: run }));
  const history: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];
  for (const follow of ['and then?', 'ok']) {
    const r = await c.chat.completions.create({ model: 'tiny', messages: history });
    history.push({ role: 'assistant', content: r.choices[0]!.message.content ?? '' }, { role: 'user', content: follow });
  }
  await c.chat.completions.create({ model: 'tiny', messages: history });
  const { turns } = gw.finish(m.rollout_id);
  assert.equal(turns.length, 3);
  const row = { messages: [{ role: 'user' as const, content: 'hi' }] };
  const traj = trajectoryFromTurns(row, 0, turns);
  assert.equal(traj.segments.length, 1, 'each prompt extends the previous prompt + sampled tokens');
  const s = traj.segments[0]!;
  const full = [...s.promptTokens, ...s.completionTokens];
  // The trained sequence is exactly the last prompt plus what was sampled last.
  assert.deepEqual(full, [...turns[2]!.promptTokens, ...turns[2]!.sampledTokens]);
  assert.equal(traj.stats.sampledTokens, turns.reduce((a, t) => a + t.sampledTokens.length, 0));
  assert.equal(traj.stats.insertedTokens, s.completionTokens.length - traj.stats.sampledTokens);
  assert.ok(traj.stats.insertedTokens > 0);
  // Teacher-forced over the whole segment: every sampled position matches its sampling log-prob.
  const [tf] = await fx.policy.logprobs([{ prompt: s.promptTokens, completion: s.completionTokens }], { temperature: 0.7 });
  let checked = 0;
  s.completionMask.forEach((mask, i) => {
    if (mask === 0) return assert.equal(s.logprobs[i], 0);
    checked++;
    assert.ok(Math.abs(tf![i]! - s.logprobs[i]!) < 1e-4, `position ${i}: ${tf![i]} vs ${s.logprobs[i]}`);
  });
  assert.equal(checked, traj.stats.sampledTokens);
  assert.deepEqual(traj.messages.slice(0, -1), history);
});

test('concurrent rollouts are sampled together in one batch', async () => {
  const g = await startGateway(fx, { batchWindowMs: 250 }); // generous, so concurrent test requests surely share a batch
  try {
    const ids = [meta(), meta(), meta(), meta()];
    await Promise.all(ids.map((m) => clientFor(g.open({ metadata: m, sampling: run })).chat.completions.create({ model: 'tiny', messages })));
    for (const m of ids) assert.equal(g.finish(m.rollout_id).turns.length, 1);
    assert.equal(g.batching.largestBatch, 4);
    assert.equal(g.batching.calls, 1);
  } finally {
    await g.close();
  }
});

test('unknown and finished rollouts get 404 in OpenAI error shape, counted', async () => {
  const m = meta();
  const base = gw.open({ metadata: m, sampling: run });
  gw.finish(m.rollout_id);
  const c0 = { ...gw.counters };
  await assert.rejects(clientFor(base).chat.completions.create({ model: 'tiny', messages }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal((e as InstanceType<typeof OpenAI.NotFoundError>).code, 'rollout_finished');
    return true;
  });
  const other = base.replace(`rollout_id/${m.rollout_id}`, 'rollout_id/nope');
  const r = await fetch(`${other}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', messages }) });
  assert.equal(r.status, 404);
  const j : any = await r.json();
  assert.equal(j.error.code, 'rollout_not_found');
  assert.equal(j.error.type, 'not_found_error');
  const bare = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', messages }) });
  assert.equal(bare.status, 404);
  assert.match(((await bare.json()) as any).error.message, /no rollout in the URL/);
  assert.equal(gw.counters.finishedRollout, c0.finishedRollout + 1);
  assert.equal(gw.counters.unknownRollout, c0.unknownRollout + 2);
});

test('with an API key, requests need Authorization: Bearer KEY', async () => {
  const m = meta();
  const base = keyed.open({ metadata: m, sampling: run });
  await assert.rejects(clientFor(base, 'wrong').chat.completions.create({ model: 'tiny', messages }), OpenAI.AuthenticationError);
  const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', messages }) });
  assert.equal(r.status, 401);
  assert.match(((await r.json()) as any).error.message, /missing API key/);
  const ok = await clientFor(base, 'sekrit').chat.completions.create({ model: 'tiny', messages });
  assert.equal(ok.object, 'chat.completion');
  assert.equal(keyed.finish(m.rollout_id).turns.length, 1);
  assert.equal(keyed.counters.unauthorized, 2);
});

test('bad requests are 400s naming the parameter; nothing is recorded', async () => {
  const m = meta();
  const base = gw.open({ metadata: m, sampling: run });
  const post = (body: unknown) => fetch(`${base}/v1/chat/completions`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  for (const [body, param] of [
    ['{not json', null],
    [{ model: 'tiny', messages: [] }, 'messages'],
    [{ model: 'tiny', messages, n: 2 }, 'n'],
    [{ model: 'tiny', messages, response_format: { type: 'json_object' } }, 'response_format'],
    [{ model: 'tiny', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
  ] as const) {
    const r = await post(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(((await r.json()) as any).error.param, param);
  }
  const several = await fetch(`${base}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', prompt: ['a', 'b'] }) });
  assert.equal(several.status, 400);
  assert.equal(((await several.json()) as any).error.param, 'prompt');
  assert.equal(gw.finish(m.rollout_id).turns.length, 0);
});

test('status logs: /logs and /v1/logs record the status, /v1/status reports it; duplicates, late and malformed logs are counted', async () => {
  const m = meta();
  const seen: number[] = [];
  gw.open({ metadata: m, sampling: run, onStatus: (l) => seen.push(l.status.code) });
  const log = (path: string, body: unknown) => fetch(`${gw.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const status = async (): Promise<any> => (await fetch(`${gw.url}/v1/status?rollout_id=${m.rollout_id}`)).json();
  assert.deepEqual(await status(), { rollout_id: m.rollout_id, status: { code: 101, message: 'running' }, extras: {} });
  assert.equal((await log('/logs', { message: 'step 1', tags: [`rollout_id:${m.rollout_id}`], status: { code: 101, message: 'running' } })).status, 200);
  assert.equal((await log('/v1/logs', { message: 'done', tags: [`rollout_id:${m.rollout_id}`, 'run_id:run'], status: { code: 100, message: 'finished' }, extras: { answer: 42 } })).status, 200);
  assert.deepEqual(seen, [101, 100]);
  const s: any = await status();
  assert.equal(s.status.code, 100);
  assert.deepEqual(s.extras, { answer: 42 });
  const c0 = { ...gw.counters };
  assert.equal((await log('/logs', { tags: [`rollout_id:${m.rollout_id}`], status: { code: 100 } })).status, 409);
  assert.equal((await log('/logs', { tags: [`rollout_id:${m.rollout_id}`], status: { code: 'done' } })).status, 400);
  assert.equal((await log('/logs', { tags: 'rollout_id:x', status: { code: 100 } })).status, 400);
  assert.equal((await log('/logs', { message: 'no id' })).status, 400);
  const fin = gw.finish(m.rollout_id);
  assert.equal(fin.status?.status.code, 100);
  assert.equal((await log('/logs', { tags: [`rollout_id:${m.rollout_id}`], status: { code: 100 } })).status, 404);
  assert.equal((await status()).status.code, 100);
  assert.equal(gw.counters.duplicateStatus, c0.duplicateStatus + 1);
  assert.equal(gw.counters.badLogs, c0.badLogs + 3);
  assert.equal(gw.counters.lateStatus, c0.lateStatus + 1);
  assert.equal((await fetch(`${gw.url}/v1/status?rollout_id=never`)).status, 404);
});

test('reference rollouts sample from the reference policy (adapter off): their log-probs are the reference teacher-forced ones', async () => {
  const m = meta();
  await clientFor(gw.open({ metadata: m, sampling: run, reference: true })).chat.completions.create({ model: 'tiny', messages });
  const { turns } = gw.finish(m.rollout_id);
  const t = turns[0]!;
  const [ref] = await fx.policy.logprobs([{ prompt: t.promptTokens, completion: t.sampledTokens }], { reference: true, temperature: 0.7 });
  const [cur] = await fx.policy.logprobs([{ prompt: t.promptTokens, completion: t.sampledTokens }], { temperature: 0.7 });
  ref!.forEach((lp, i) => assert.ok(Math.abs(lp - t.logprobs[i]!) < 1e-4));
  assert.ok(cur!.some((lp, i) => Math.abs(lp - t.logprobs[i]!) > 1e-3), 'the perturbed adapter changes the log-probs, so the check above tells the two apart');
});

test('requests with different sampling parameters are batched separately, identical ones together', async () => {
  const calls: number[] = [];
  const policy = {
    ...fx.policy,
    sample: async (req: Parameters<typeof fx.policy.sample>[0]) => {
      calls.push(req.prompts.length);
      return fx.policy.sample(req);
    },
  } as typeof fx.policy;
  const g = await startGateway({ ...fx, policy }, { batchWindowMs: 250 });
  try {
    const a = [meta(), meta(), meta()];
    await Promise.all(
      a.map((m, i) => clientFor(g.open({ metadata: m, sampling: run })).chat.completions.create({ model: 'tiny', messages, max_tokens: i === 2 ? 3 : undefined })),
    );
    for (const m of a) g.finish(m.rollout_id);
    assert.deepEqual([...calls].sort(), [1, 2]);
  } finally {
    await g.close();
  }
});

test('recorded messages are what the evaluator reads: text parts joined, tool-call arguments as JSON strings', async () => {
  const m = meta();
  const base = gw.open({ metadata: m, sampling: run });
  const call = { id: 'c1', type: 'function', function: { name: 'f', arguments: '{"x": 1}' } };
  const sent = [
    { role: 'user', content: [{ type: 'text', text: 'hel' }, { type: 'text', text: 'lo' }] },
    { role: 'assistant', content: null, tool_calls: [call] },
    { role: 'tool', tool_call_id: 'c1', content: 'ok' },
  ];
  const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', messages: sent }) });
  assert.equal(r.status, 200);
  const [t] = gw.finish(m.rollout_id).turns;
  assert.deepEqual(t!.messages, [{ role: 'user', content: 'hello' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: 'c1', content: 'ok' }]);
});

test('tool calls: parsed into tool_calls (streaming too) and recorded with the turn; tool_choice "none" leaves them as text', async () => {
  const tfx = makeToolCallingFixture();
  const g = await startGateway(tfx);
  try {
    const m = meta();
    const c = clientFor(g.open({ metadata: m, sampling: { maxNewTokens: 8, temperature: 1 } }));
    const tools = [{ type: 'function' as const, function: { name: 'add', parameters: { type: 'object' } } }];
    const r = await c.chat.completions.create({ model: 'tiny', messages, tools });
    assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
    const call = r.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    assert.deepEqual([call.function.name, JSON.parse(call.function.arguments)], ['add', { a: 2, b: 3 }]);
    const stream = await c.chat.completions.create({ model: 'tiny', messages, tools, stream: true });
    const deltas: { function?: { name?: string; arguments?: string } }[] = [];
    let finish = '';
    for await (const chunk of stream)
      for (const ch of chunk.choices) {
        deltas.push(...((ch.delta.tool_calls ?? []) as typeof deltas));
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    assert.equal(finish, 'tool_calls');
    assert.equal(deltas.length, 1);
    assert.equal(deltas[0]!.function!.name, 'add');
    const plain = await c.chat.completions.create({ model: 'tiny', messages, tools, tool_choice: 'none' });
    assert.equal(plain.choices[0]!.message.content, `<tool_call>${SCRIPTED_CALL}</tool_call>`);
    const { turns } = g.finish(m.rollout_id);
    assert.deepEqual(turns.map((t) => t.toolCalls.length), [1, 1, 0]);
    assert.equal(turns[0]!.reply.tool_calls![0]!.function.name, 'add');
    // The tools were rendered into the prompt (the template got them) only when offered.
    assert.deepEqual(turns[0]!.promptTokens, tfx.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tools }));
    assert.deepEqual(turns[2]!.promptTokens, tfx.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }));
  } finally {
    await g.close();
    tfx.cleanup();
  }
});
