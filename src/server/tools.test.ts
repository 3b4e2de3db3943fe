import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { DEFAULTS, initModel } from '../model/init.js';
import { readCheckpoint, writeCheckpoint } from '../model/checkpoint.js';
import type { InferenceServer } from './http.js';
import { makeFixture, startServer, type Fixture } from './test-helpers.js';

/**
 * A scripted model: its next token depends only on the current one (all attention and MLP
 * outputs are zero, so the residual stream is the token's one-hot embedding, and lm_head maps
 * each token to its successor). After the chat prompt's final "\n" it writes three added tokens,
 * `<tool_call>`, a JSON call and `</tool_call>`, then <|im_end|>: a model that calls a tool.
 */
const CALL = '{"name": "get_weather", "arguments": {"city": "Paris"}}';
let fx: Fixture;
let server: InferenceServer;
let client: OpenAI;

before(async () => {
  fx = makeFixture();
  const dir = join(fx.dir, 'scripted');
  initModel(dir, { ...DEFAULTS, arch: 'llama', hidden: 128, layers: 1, heads: 4, kvHeads: 2, intermediate: 64, tieEmbeddings: false, vocabSize: 104 });
  const tj = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const vocab = tj.model.vocab as Record<string, number>;
  const base = Object.keys(vocab).length + tj.added_tokens.filter((a: { content: string }) => !(a.content in vocab)).length;
  const extra = ['<tool_call>', CALL, '</tool_call>'];
  extra.forEach((t, i) => (vocab[t] = base + i));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tj));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const V = base + extra.length;
  config.vocab_size = V;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const H = 128;
  const { tensors } = readCheckpoint(dir);
  const embed = new Float32Array(V * H);
  for (let i = 0; i < V; i++) embed[i * H + i] = 1;
  const next = new Map<number, number>([[vocab['\n']!, base], [base, base + 1], [base + 1, base + 2], [base + 2, 2 /* <|im_end|> */]]);
  const head = new Float32Array(V * H);
  for (let i = 0; i < V; i++) head[(next.get(i) ?? 2) * H + i] = 1;
  tensors.set('model.embed_tokens.weight', { shape: [V, H], data: embed });
  tensors.set('lm_head.weight', { shape: [V, H], data: head });
  for (const [name, t] of tensors) if (/o_proj|down_proj/.test(name)) t.data.fill(0);
  writeCheckpoint(dir, tensors);
  const s = await startServer(dir);
  server = s.server;
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  await server.close(1000);
  fx.cleanup();
});

const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];

test('a tool call in the model output comes back as OpenAI tool_calls', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages, tools, temperature: 0, max_tokens: 10 });
  const c = r.choices[0]!;
  assert.equal(c.finish_reason, 'tool_calls');
  assert.equal(c.message.content, null);
  assert.equal(c.message.tool_calls!.length, 1);
  const call = c.message.tool_calls![0]! as { type: string; function: { name: string; arguments: string } };
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
});

test('without tools (or with tool_choice "none") the same output is plain text', async () => {
  for (const extra of [{}, { tools, tool_choice: 'none' as const }]) {
    const r = await client.chat.completions.create({ model: 'tiny', messages, temperature: 0, max_tokens: 10, ...extra });
    assert.equal(r.choices[0]!.finish_reason, 'stop');
    assert.equal(r.choices[0]!.message.content, `<tool_call>${CALL}</tool_call>`);
  }
});

test('streaming with tools: the tool call arrives as a tool_calls delta', async () => {
  const stream = await client.chat.completions.create({ model: 'tiny', messages, tools, temperature: 0, max_tokens: 10, stream: true });
  const calls: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] = [];
  let finish = '';
  for await (const chunk of stream) {
    for (const ch of chunk.choices) {
      calls.push(...((ch.delta.tool_calls ?? []) as typeof calls));
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.function!.name, 'get_weather');
  assert.deepEqual(JSON.parse(calls[0]!.function!.arguments!), { city: 'Paris' });
});
