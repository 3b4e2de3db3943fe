import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { loadModel, loadTokenizer } from '../model/load.js';
import { loadAdapter } from '../model/lora.js';
import { sample, type Sample } from '../model/sampler.js';
import type { ChatMessage } from '../model/tokenizer.js';
import type { InferenceServer } from './http.js';
import { makeFixture, startServer, type Fixture } from './test-helpers.js';

let fx: Fixture;
let server: InferenceServer;
let url: string;
let client: OpenAI;

before(async () => {
  fx = makeFixture();
  ({ server, url } = await startServer(fx.modelDir, { adapters: { a1: fx.adapterDirs[0]! }, allowRuntimeLora: true }));
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  await server.close(2000);
  fx.cleanup();
});

const messages: ChatMessage[] = [{ role: 'user', content: 'Say hi.' }];

/** What `rft generate` computes for the same request: the model layer's batched sampler. */
function reference(opts: { adapter?: string; prompt?: string; n?: number; temperature: number; seed: number; maxTokens: number; stop?: string[] }): Sample[] {
  const m = loadModel(fx.modelDir);
  if (opts.adapter) loadAdapter(m, opts.adapter);
  const tok = loadTokenizer(fx.modelDir, m);
  const ids = opts.prompt !== undefined ? tok.encode(opts.prompt) : tok.encodeChat(messages, { addGenerationPrompt: true });
  return sample(m, Array.from({ length: opts.n ?? 1 }, () => ids), { maxNewTokens: opts.maxTokens, temperature: opts.temperature, seed: opts.seed, tokenizer: tok, stopStrings: opts.stop });
}

test('chat completion at temperature 0 equals rft generate, with usage counts', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: messages as never, temperature: 0, max_tokens: 20, seed: 7 });
  const [ref] = reference({ temperature: 0, seed: 7, maxTokens: 20 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0]!.message.role, 'assistant');
  assert.equal(r.choices[0]!.message.content, ref!.text);
  assert.equal(r.choices[0]!.finish_reason, ref!.finishReason);
  const tok = loadTokenizer(fx.modelDir);
  assert.equal(r.usage!.prompt_tokens, tok.encodeChat(messages, { addGenerationPrompt: true }).length);
  assert.equal(r.usage!.completion_tokens, ref!.tokens.length);
  assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
});

test('seeded sampling with n > 1 matches rft generate choice by choice', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: messages as never, temperature: 0.9, top_p: 0.95, max_tokens: 15, seed: 11, n: 3 });
  const ref = reference({ temperature: 0.9, seed: 11, maxTokens: 15, n: 3 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  // (top_p 0.95 in the reference too)
  const refTopP = (() => {
    const m = loadModel(fx.modelDir);
    const tok = loadTokenizer(fx.modelDir, m);
    const ids = tok.encodeChat(messages, { addGenerationPrompt: true });
    return sample(m, [ids, ids, ids], { maxNewTokens: 15, temperature: 0.9, topP: 0.95, seed: 11, tokenizer: tok });
  })();
  assert.deepEqual(r.choices.map((c) => c.message.content), refTopP.map((s) => s.text));
  assert.equal(ref.length, 3);
  assert.ok(new Set(r.choices.map((c) => c.message.content)).size > 1, 'different choices sample differently');
});

test('completions with a stop string cut the text before it', async () => {
  const free = await client.completions.create({ model: 'tiny', prompt: 'abc', temperature: 0, max_tokens: 30 });
  const text = free.choices[0]!.text;
  const [ref] = reference({ prompt: 'abc', temperature: 0, seed: 0, maxTokens: 30 });
  assert.equal(text, ref!.text);
  assert.equal(free.object, 'text_completion');
  const stop = text.slice(5, 7);
  assert.ok(stop.length === 2, `the greedy text is long enough to pick a stop string (${JSON.stringify(text)})`);
  const r = await client.completions.create({ model: 'tiny', prompt: 'abc', temperature: 0, max_tokens: 30, stop: [stop] });
  assert.equal(r.choices[0]!.text, text.slice(0, text.indexOf(stop)));
  assert.equal(r.choices[0]!.finish_reason, 'stop');
});

test('streaming chat: deltas concatenate to the non-streamed reply; usage chunk; [DONE]', async () => {
  const body = { model: 'tiny', messages: messages as never, temperature: 0, max_tokens: 25 };
  const full = await client.chat.completions.create(body);
  const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let usage: unknown = null;
  let chunks = 0;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      text += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.ok(chunks > 3, 'tokens arrive in several chunks');
  assert.equal(text, full.choices[0]!.message.content);
  assert.equal(finish, full.choices[0]!.finish_reason);
  assert.deepEqual(usage, full.usage);
  // The raw stream ends with the [DONE] sentinel.
  const raw = await (await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true, max_tokens: 3 }) })).text();
  assert.match(raw, /data: \[DONE\]\n\n$/);
});

test('logprobs and top_logprobs: the greedy token is the most likely alternative', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: messages as never, temperature: 0, max_tokens: 6, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0]!.logprobs!.content!;
  assert.equal(content.length, r.usage!.completion_tokens);
  for (const t of content) {
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0]!.token, t.token);
    assert.ok(Math.abs(t.top_logprobs[0]!.logprob - t.logprob) < 1e-5); // float64 here, the float32 kernel for the chosen token
    assert.ok(t.top_logprobs[0]!.logprob >= t.top_logprobs[1]!.logprob && t.top_logprobs[1]!.logprob >= t.top_logprobs[2]!.logprob);
    assert.ok(t.logprob <= 0 && t.top_logprobs.reduce((a, x) => a + Math.exp(x.logprob), 0) <= 1 + 1e-9);
  }
  const [ref] = reference({ temperature: 0, seed: 0, maxTokens: 6 });
  content.forEach((t, i) => assert.ok(Math.abs(t.logprob - ref!.logprobs[i]!) < 1e-4, `token ${i}: ${t.logprob} vs ${ref!.logprobs[i]}`));
  const c = await client.completions.create({ model: 'tiny', prompt: 'xy', temperature: 0, max_tokens: 4, logprobs: 2 });
  assert.equal(c.choices[0]!.logprobs!.tokens!.length, 4);
  assert.equal(Object.keys(c.choices[0]!.logprobs!.top_logprobs![0]!).length, 2);
});

test('response_format json_object: every reply parses as a JSON object', async () => {
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({ model: 'tiny', messages: messages as never, temperature: 1, max_tokens: 12, seed, response_format: { type: 'json_object' } });
    const text = r.choices[0]!.message.content!;
    const v = JSON.parse(text);
    assert.ok(v && typeof v === 'object' && !Array.isArray(v), `seed ${seed}: ${text}`);
  }
});

test('tools are offered through the chat template and the reply stays a valid message', async () => {
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const r = await client.chat.completions.create({ model: 'tiny', messages: messages as never, temperature: 0, max_tokens: 8, tools });
  assert.equal(r.choices[0]!.message.role, 'assistant');
  assert.ok(['stop', 'length', 'tool_calls'].includes(r.choices[0]!.finish_reason));
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: messages as never, tools, tool_choice: { type: 'function', function: { name: 'nope' } } }), (e: { status?: number; param?: string }) => e.status === 400 && e.param === 'tool_choice');
});

test('adapters: routed by model name, hot-loaded and unloaded while a request streams', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['tiny', 'a1']);
  const [refA1] = reference({ adapter: fx.adapterDirs[0], temperature: 0, seed: 0, maxTokens: 20 });
  const [refBase] = reference({ temperature: 0, seed: 0, maxTokens: 60 });
  const [refA2] = reference({ adapter: fx.adapterDirs[1], temperature: 0, seed: 0, maxTokens: 20 });
  assert.notEqual(refA1!.text!, refBase!.text!.slice(0, refA1!.text!.length), "the adapter changes the output");
  // A long base request streams while a2 is loaded, used and unloaded.
  const long = client.chat.completions.create({ model: 'tiny', messages: messages as never, temperature: 0, max_tokens: 60, stream: true });
  const collect = (async () => {
    let t = '';
    for await (const c of await long) t += c.choices[0]?.delta.content ?? '';
    return t;
  })();
  const load = await fetch(`${url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: 'a2', lora_path: fx.adapterDirs[1] }) });
  assert.equal(load.status, 200);
  const [ra1, ra2] = await Promise.all([
    client.chat.completions.create({ model: 'a1', messages: messages as never, temperature: 0, max_tokens: 20 }),
    client.chat.completions.create({ model: 'a2', messages: messages as never, temperature: 0, max_tokens: 20 }),
  ]);
  assert.equal(ra1.choices[0]!.message.content, refA1!.text);
  assert.equal(ra2.choices[0]!.message.content, refA2!.text);
  const unload = await fetch(`${url}/v1/unload_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: 'a2' }) });
  assert.equal(unload.status, 200);
  assert.equal(await collect, refBase!.text, 'the request in flight is undisturbed');
  await assert.rejects(client.chat.completions.create({ model: 'a2', messages: messages as never, max_tokens: 2 }), (e: { status?: number; param?: string }) => e.status === 404 && e.param === 'model');
  const bad = await fetch(`${url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: 'x', lora_path: fx.dir + '/missing' }) });
  assert.equal(bad.status, 404);
  assert.equal(((await bad.json()) as { error: { param: string } }).error.param, 'lora_path');
});

test('concurrent requests (base and adapter mixed) each get what they would get alone', async () => {
  const jobs = Array.from({ length: 6 }, (_, i) => ({ model: i % 2 ? 'a1' : 'tiny', max_tokens: 8 + 3 * i }));
  const rs = await Promise.all(jobs.map((j) => client.chat.completions.create({ ...j, messages: messages as never, temperature: 0 })));
  rs.forEach((r, i) => {
    const [ref] = reference({ adapter: jobs[i]!.model === 'a1' ? fx.adapterDirs[0] : undefined, temperature: 0, seed: 0, maxTokens: jobs[i]!.max_tokens });
    assert.equal(r.choices[0]!.message.content, ref!.text, `request ${i}`);
  });
});

test('a client that disconnects mid-stream cancels its request', async () => {
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
    body: JSON.stringify({ model: 'tiny', messages, max_tokens: 400, stream: true, ignore_eos: true }),
  });
  const reader = res.body!.getReader();
  await reader.read();
  ac.abort();
  let running = -1;
  for (let i = 0; i < 100 && running !== 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    running = server.scheduler.load.running;
  }
  assert.equal(running, 0);
});

test('a client that gives up on a non-streamed request cancels it too', async () => {
  const ac = new AbortController();
  const req = fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
    body: JSON.stringify({ model: 'tiny', prompt: 'abc', max_tokens: 450, ignore_eos: true }),
  }).catch((e: Error) => e);
  for (let i = 0; i < 2000 && server.scheduler.load.running === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(server.scheduler.load.running > 0, 'the request started');
  ac.abort();
  assert.ok((await req) instanceof Error);
  let running = -1;
  for (let i = 0; i < 100 && running !== 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    running = server.scheduler.load.running;
  }
  assert.equal(running, 0);
  const h = (await (await fetch(`${url}/health`)).json()) as { status: string };
  assert.equal(h.status, 'ok');
});
