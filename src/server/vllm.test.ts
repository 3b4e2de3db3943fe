/**
 * The parts of vLLM's protocol an inference fleet is driven with: token-id prompts (one or
 * several), `n`, per-token log-probs, `return_token_ids`, `return_tokens_as_token_ids`,
 * `stop_token_ids`, and the runtime LoRA routes behind their switch. Checked against the model
 * layer's sampler (what `rft generate` computes) with the real `openai` client and raw fetch.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { loadModel, loadTokenizer } from '../model/load.js';
import { loadAdapter } from '../model/lora.js';
import { sample, type Sample } from '../model/sampler.js';
import type { InferenceServer } from './http.js';
import { makeFixture, startServer, type Fixture } from './test-helpers.js';

let fx: Fixture;
let server: InferenceServer;
let url: string;
let locked: InferenceServer;
let lockedUrl: string;
let client: OpenAI;

before(async () => {
  fx = makeFixture();
  ({ server, url } = await startServer(fx.modelDir, { allowRuntimeLora: true }));
  ({ server: locked, url: lockedUrl } = await startServer(fx.modelDir));
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  await server.close(2000);
  await locked.close(2000);
  fx.cleanup();
});

function reference(ids: number[], n: number, o: { temperature: number; seed: number; maxTokens: number; adapter?: string; stopTokenIds?: number[] }): Sample[] {
  const m = loadModel(fx.modelDir);
  if (o.adapter) loadAdapter(m, o.adapter);
  const tok = loadTokenizer(fx.modelDir, m);
  return sample(m, Array.from({ length: n }, () => ids), { maxNewTokens: o.maxTokens, temperature: o.temperature, seed: o.seed, tokenizer: tok, stopTokenIds: o.stopTokenIds });
}

async function post(path: string, body: unknown, base = url): Promise<{ status: number; text: string; json: () => any }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

interface VllmChoice {
  index: number;
  text: string;
  finish_reason: string;
  prompt_token_ids?: number[];
  token_ids?: number[];
  logprobs: { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[] } | null;
}

test('token-id prompts (several, with n) come back with the sampler\'s ids and log-probs, choice index = prompt·n + i', async () => {
  const tok = loadTokenizer(fx.modelDir);
  const prompts = [tok.encode('abc'), tok.encode('hello there'), tok.encode('zz')];
  const n = 3;
  const r = await client.completions.create({
    model: 'tiny', prompt: prompts, n, temperature: 0.8, max_tokens: 12, seed: 5, logprobs: 0,
    // vLLM's extensions go in the body as they are
    ...({ return_token_ids: true, return_tokens_as_token_ids: true } as object),
  });
  const choices = r.choices as unknown as VllmChoice[];
  assert.equal(choices.length, prompts.length * n);
  let completionTokens = 0;
  prompts.forEach((ids, p) => {
    const ref = reference(ids, n, { temperature: 0.8, seed: 5, maxTokens: 12 });
    for (let i = 0; i < n; i++) {
      const c = choices[p * n + i]!;
      assert.equal(c.index, p * n + i);
      assert.deepEqual(c.prompt_token_ids, ids);
      assert.deepEqual(c.token_ids, ref[i]!.tokens, `prompt ${p} choice ${i}`);
      assert.equal(c.text, ref[i]!.text);
      assert.equal(c.finish_reason, ref[i]!.finishReason);
      // return_tokens_as_token_ids names each sampled token by id, in order
      assert.deepEqual(c.logprobs!.tokens, ref[i]!.tokens.map((t) => `token_id:${t}`));
      c.logprobs!.token_logprobs.forEach((lp, k) => assert.ok(Math.abs(lp - ref[i]!.logprobs[k]!) < 1e-4, `log-prob ${k}: ${lp} vs ${ref[i]!.logprobs[k]}`));
      completionTokens += ref[i]!.tokens.length;
    }
  });
  assert.equal(r.usage!.prompt_tokens, prompts.reduce((a, x) => a + x.length, 0));
  assert.equal(r.usage!.completion_tokens, completionTokens);
});

test('without return_token_ids there are no id fields; text prompts still work in the list form', async () => {
  const r = await post('/v1/completions', { model: 'tiny', prompt: ['abc', 'xy'], max_tokens: 4, temperature: 0 });
  assert.equal(r.status, 200);
  const choices = r.json().choices as VllmChoice[];
  assert.equal(choices.length, 2);
  for (const c of choices) assert.ok(!('token_ids' in c) && !('prompt_token_ids' in c));
  assert.equal(choices[1]!.text, reference(loadTokenizer(fx.modelDir).encode('xy'), 1, { temperature: 0, seed: 0, maxTokens: 4 })[0]!.text);
});

test('streaming with return_token_ids: chunk ids concatenate to the sampled ids; the first chunk carries the prompt ids', async () => {
  const ids = loadTokenizer(fx.modelDir).encode('stream me');
  const body = { model: 'tiny', prompt: ids, n: 2, temperature: 0.7, seed: 9, max_tokens: 15, logprobs: 0, return_token_ids: true, return_tokens_as_token_ids: true };
  const full = (await post('/v1/completions', body)).json().choices as VllmChoice[];
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  const got = new Map<number, { prompt?: number[]; ids: number[]; lpTokens: string[]; first: boolean }>();
  for (const line of (await res.text()).split('\n\n')) {
    if (!line.startsWith('data: {')) continue;
    const chunk = JSON.parse(line.slice(6)) as { choices: VllmChoice[] };
    for (const c of chunk.choices) {
      const g = got.get(c.index) ?? { ids: [], lpTokens: [], first: true };
      if (g.first) g.prompt = c.prompt_token_ids;
      else assert.equal(c.prompt_token_ids, undefined, 'only the first chunk of a choice repeats the prompt');
      g.first = false;
      g.ids.push(...(c.token_ids ?? []));
      g.lpTokens.push(...(c.logprobs?.tokens ?? []));
      got.set(c.index, g);
    }
  }
  for (const c of full) {
    const g = got.get(c.index)!;
    assert.deepEqual(g.prompt, ids);
    assert.deepEqual(g.ids, c.token_ids);
    assert.deepEqual(g.lpTokens, c.token_ids!.map((t) => `token_id:${t}`));
  }
});

test('stop_token_ids end a choice at that id (kept in token_ids, like end-of-sequence)', async () => {
  const ids = loadTokenizer(fx.modelDir).encode('abc');
  const [free] = reference(ids, 1, { temperature: 0, seed: 0, maxTokens: 20 });
  const stopId = free!.tokens[4]!;
  const at = free!.tokens.indexOf(stopId);
  const r = (await post('/v1/completions', { model: 'tiny', prompt: ids, temperature: 0, max_tokens: 20, stop_token_ids: [stopId], return_token_ids: true })).json().choices[0] as VllmChoice;
  assert.deepEqual(r.token_ids, free!.tokens.slice(0, at + 1));
  assert.equal(r.finish_reason, 'stop');
  assert.deepEqual(r.token_ids, reference(ids, 1, { temperature: 0, seed: 0, maxTokens: 20, stopTokenIds: [stopId] })[0]!.tokens);
});

test('chat with return_token_ids: prompt_token_ids at the top, token_ids per choice', async () => {
  const messages = [{ role: 'user', content: 'Say hi.' }];
  const r = (await post('/v1/chat/completions', { model: 'tiny', messages, temperature: 0, max_tokens: 8, return_token_ids: true, logprobs: true, return_tokens_as_token_ids: true })).json();
  const tok = loadTokenizer(fx.modelDir);
  const ids = tok.encodeChat(messages, { addGenerationPrompt: true });
  assert.deepEqual(r.prompt_token_ids, ids);
  const ref = reference(ids, 1, { temperature: 0, seed: 0, maxTokens: 8 })[0]!;
  assert.deepEqual(r.choices[0].token_ids, ref.tokens);
  assert.deepEqual(r.choices[0].logprobs.content.map((t: { token: string }) => t.token), ref.tokens.map((t) => `token_id:${t}`));
});

const badPrompts: [string, unknown, string, RegExp][] = [
  ['a negative id in the second prompt', [[1, 2], [3, -1]], 'prompt[1][1]', /token id/],
  ['an id past the vocabulary', [[1, 2], [3, 4, 999999]], 'prompt[1][2]', /outside the vocabulary/],
  ['an empty prompt among several', [[1, 2], []], 'prompt[1]', /must not be empty/],
  ['a float among the ids', [1, 2.5], 'prompt[1]', /token id/],
  ['strings and ids mixed', ['ab', [1, 2]], 'prompt', /required/],
];
for (const [name, prompt, param, message] of badPrompts) {
  test(`bad token-id prompt: ${name} → 400 naming ${param}`, async () => {
    const r = await post('/v1/completions', { model: 'tiny', prompt, max_tokens: 2 });
    assert.equal(r.status, 400);
    assert.equal(r.json().error.param, param);
    assert.match(r.json().error.message, message);
  });
}

test('several prompts with stream: true is refused with a clear 400', async () => {
  const r = await post('/v1/completions', { model: 'tiny', prompt: [[1, 2], [3, 4]], max_tokens: 2, stream: true });
  assert.equal(r.status, 400);
  assert.equal(r.json().error.param, 'stream');
});

test('runtime LoRA: off unless allowed; load, refuse a duplicate, load_inplace replaces, unload; /v1/models follows', async () => {
  const off = await post('/v1/load_lora_adapter', { lora_name: 'x', lora_path: fx.adapterDirs[0] }, lockedUrl);
  assert.equal(off.status, 404);
  assert.equal(off.json().error.code, 'runtime_lora_disabled');
  assert.match(off.json().error.message, /--allow-runtime-lora|VLLM_ALLOW_RUNTIME_LORA_UPDATING/);

  const ids = loadTokenizer(fx.modelDir).encode('abc');
  const gen = async (model: string) => ((await post('/v1/completions', { model, prompt: ids, temperature: 0, max_tokens: 10, return_token_ids: true })).json().choices[0] as VllmChoice).token_ids;
  const load = await post('/v1/load_lora_adapter', { lora_name: 'step-1', lora_path: fx.adapterDirs[0] });
  assert.equal(load.status, 200);
  assert.equal(load.text, "Success: LoRA adapter 'step-1' added successfully.");
  assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['tiny', 'step-1']);
  assert.deepEqual(await gen('step-1'), reference(ids, 1, { temperature: 0, seed: 0, maxTokens: 10, adapter: fx.adapterDirs[0] })[0]!.tokens);

  const dup = await post('/v1/load_lora_adapter', { lora_name: 'step-1', lora_path: fx.adapterDirs[1] });
  assert.equal(dup.status, 400);
  assert.equal(dup.json().error.code, 'adapter_already_loaded');
  assert.match(dup.json().error.message, /load_inplace/);
  const inplace = await post('/v1/load_lora_adapter', { lora_name: 'step-1', lora_path: fx.adapterDirs[1], load_inplace: true });
  assert.equal(inplace.status, 200);
  assert.deepEqual(await gen('step-1'), reference(ids, 1, { temperature: 0, seed: 0, maxTokens: 10, adapter: fx.adapterDirs[1] })[0]!.tokens, 'the new weights answer under the old name');

  const missing = await post('/v1/load_lora_adapter', { lora_name: 'y', lora_path: join(fx.dir, 'nowhere') });
  assert.equal(missing.status, 404);
  assert.equal(missing.json().error.param, 'lora_path');
  const broken = join(fx.dir, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'adapter_config.json'), '{"r": 4');
  const corrupt = await post('/v1/load_lora_adapter', { lora_name: 'y', lora_path: broken });
  assert.equal(corrupt.status, 400);
  assert.equal(corrupt.json().error.param, 'lora_path');
  const noName = await post('/v1/load_lora_adapter', { lora_path: fx.adapterDirs[0] });
  assert.equal(noName.status, 400);
  assert.equal(noName.json().error.param, 'lora_name');
  const badFlag = await post('/v1/load_lora_adapter', { lora_name: 'z', lora_path: fx.adapterDirs[0], load_inplace: 'yes' });
  assert.equal(badFlag.json().error.param, 'load_inplace');

  const unload = await post('/v1/unload_lora_adapter', { lora_name: 'step-1' });
  assert.equal(unload.status, 200);
  assert.equal(unload.text, "Success: LoRA adapter 'step-1' removed successfully.");
  const again = await post('/v1/unload_lora_adapter', { lora_name: 'step-1' });
  assert.equal(again.status, 404);
  assert.equal(again.json().error.code, 'adapter_not_found');
  assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['tiny']);
  const gone = await post('/v1/completions', { model: 'step-1', prompt: ids, max_tokens: 2 });
  assert.equal(gone.status, 404);
  assert.equal(gone.json().error.param, 'model');
});
