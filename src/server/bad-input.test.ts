import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InferenceServer } from './http.js';
import { makeFixture, startServer, type Fixture } from './test-helpers.js';

let fx: Fixture;
let server: InferenceServer;
let url: string;

before(async () => {
  fx = makeFixture();
  ({ server, url } = await startServer(fx.modelDir, { maxBodyBytes: 64 * 1024 }));
});
after(async () => {
  await server.close(2000);
  fx.cleanup();
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function post(path: string, body: string | object, headers: Record<string, string> = {}, base = url): Promise<{ status: number; body: ErrorBody; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as ErrorBody, headers: res.headers };
}

/** Polls until cond holds (at most 10 s, then fails instead of hanging). */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'timed out waiting');
}

const ok = { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 };

const battery: [string, string | object, number, string | null, RegExp][] = [
  ['malformed JSON', '{"model": "tiny", "messages": [', 400, null, /not valid JSON/],
  ['a JSON array body', '[1, 2]', 400, null, /JSON object/],
  ['temperature of the wrong type', { ...ok, temperature: 'hot' }, 400, 'temperature', /must be a number/],
  ['temperature out of range', { ...ok, temperature: 7 }, 400, 'temperature', /\[0, 2\]/],
  ['n not an integer', { ...ok, n: 1.5 }, 400, 'n', /integer/],
  ['huge max_tokens', { ...ok, max_tokens: 10_000_000 }, 400, 'max_tokens', /context length/],
  ['max_tokens 0', { ...ok, max_tokens: 0 }, 400, 'max_tokens', /\[1, /],
  ['unknown model', { ...ok, model: 'gpt-9' }, 404, 'model', /does not exist/],
  ['missing model', { messages: ok.messages }, 400, 'model', /required/],
  ['empty messages', { ...ok, messages: [] }, 400, 'messages', /must not be empty/],
  ['a message without a role', { ...ok, messages: [{ content: 'x' }] }, 400, 'messages[0].role', /must be one of/],
  ['content of the wrong type', { ...ok, messages: [{ role: 'user', content: 5 }] }, 400, 'messages[0].content', /string/],
  ['stop of the wrong type', { ...ok, stop: 3 }, 400, 'stop', /string/],
  ['top_logprobs without logprobs', { ...ok, top_logprobs: 2 }, 400, 'top_logprobs', /logprobs/],
  ['an unknown parameter', { ...ok, temprature: 0.5 }, 400, 'temprature', /unknown parameter/],
  ['bad response_format', { ...ok, response_format: { type: 'xml' } }, 400, 'response_format.type', /json_object/],
  ['stream_options without stream', { ...ok, stream_options: { include_usage: true } }, 400, 'stream_options', /stream/],
];

for (const [name, body, status, param, message] of battery) {
  test(`bad input: ${name} → ${status} with param ${param}`, async () => {
    const r = await post('/v1/chat/completions', body);
    assert.equal(r.status, status);
    assert.equal(r.body.error.param, param);
    assert.match(r.body.error.message, message);
    assert.equal(typeof r.body.error.type, 'string');
  });
}

test('completions: bad prompts and token ids outside the vocabulary', async () => {
  assert.equal((await post('/v1/completions', { model: 'tiny', prompt: '' })).body.error.param, 'prompt');
  assert.equal((await post('/v1/completions', { model: 'tiny', prompt: [1, 2, 1e6] })).body.error.param, 'prompt[2]');
  assert.equal((await post('/v1/completions', { model: 'tiny', prompt: 'x'.repeat(600) })).body.error.code, 'context_length_exceeded');
  assert.equal((await post('/v1/completions', { model: 'tiny', messages: ok.messages })).body.error.param, 'messages');
});

test('every problem of a request is listed at once', async () => {
  const r = await post('/v1/chat/completions', { ...ok, temperature: -1, top_p: 3, n: 0 });
  assert.equal(r.body.error.param, 'temperature');
  assert.match(r.body.error.message, /temperature.*top_p.*n:/);
});

test('an oversized body gets 413, unknown routes 404, wrong methods 405', async () => {
  const big = await post('/v1/chat/completions', { ...ok, messages: [{ role: 'user', content: 'x'.repeat(100_000) }] });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'request_too_large');
  const nf = await fetch(`${url}/v1/nothing`);
  assert.equal(nf.status, 404);
  const m = await fetch(`${url}/v1/chat/completions`);
  assert.equal(m.status, 405);
});

test('a model whose vocabulary is padded past the tokenizer: sampled padding ids decode to nothing', async () => {
  const padded = makeFixture({ vocabSize: 2048, initStd: 1 });
  const s = await startServer(padded.modelDir);
  try {
    for (const stream of [false, true]) {
      const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: 'ab', max_tokens: 20, temperature: 1, seed: 1, stream }) });
      assert.equal(r.status, 200);
      const text = await r.text();
      assert.doesNotMatch(text, /"error"/);
    }
  } finally {
    await s.server.close(1000);
    padded.cleanup();
  }
});

test('after the whole battery the server still serves', async () => {
  const h = await (await fetch(`${url}/health`)).json();
  assert.equal((h as { status: string }).status, 'ok');
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ok) });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { choices: { message: { content: string } }[] };
  assert.equal(typeof body.choices[0]!.message.content, 'string');
});

test('API key: 401 without or with a wrong key, 200 with it; /health stays open', async () => {
  const s = await startServer(fx.modelDir, { apiKey: 'sekret' });
  try {
    assert.equal((await post('/v1/chat/completions', ok, {}, s.url)).status, 401);
    const wrong = await post('/v1/chat/completions', ok, { authorization: 'Bearer nope' }, s.url);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'invalid_api_key');
    const good = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sekret' }, body: JSON.stringify(ok) });
    assert.equal(good.status, 200);
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
  } finally {
    await s.server.close(1000);
  }
});

test('overload: a full queue answers 429 with Retry-After; shutting down answers 503', async () => {
  const s = await startServer(fx.modelDir, { maxBatch: 1, maxQueue: 1 });
  try {
    const long = fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...ok, max_tokens: 300, ignore_eos: true }) });
    await waitFor(() => s.server.scheduler.load.running > 0);
    // One request waits in the queue (batch of 1 busy); the rest find the queue full.
    const more = await Promise.all([1, 2, 3].map(() => post('/v1/chat/completions', ok, {}, s.url)));
    const limited = more.filter((r) => r && r.status === 429);
    assert.ok(limited.length >= 1, `statuses: ${more.map((r) => r?.status)}`);
    assert.equal(limited[0]!.headers.get('retry-after'), '1');
    assert.equal(limited[0]!.body.error.type, 'rate_limit_error');
    // Graceful shutdown: the running request still completes.
    const closing = s.server.close(20_000);
    assert.throws(() => s.server.scheduler.submit({ promptIds: [5], adapter: null, n: 1, maxTokens: 1, params: { temperature: 0, topP: 1, topK: 0 }, stops: [], logprobs: false, topLogprobs: 0, jsonMode: false }, { onDone() {}, onError() {} }), (e: { status?: number; retryAfter?: number }) => e.status === 503 && e.retryAfter === 5);
    const done = await long;
    assert.equal(done.status, 200);
    await closing;
  } finally {
    await s.server.close(100).catch(() => {});
  }
});

test('rft serve: SIGTERM stops the server gracefully (exit 0)', async () => {
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'serve', '--model', fx.modelDir, '--port', '0', '--adapter', `a1=${fx.adapterDirs[0]}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const listening = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /on (http:\/\/\S+)\/v1/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`rft serve exited early: ${err}`)));
  });
  const base = await listening;
  const models = (await (await fetch(`${base}/v1/models`)).json()) as { data: { id: string }[] };
  assert.deepEqual(models.data.map((m) => m.id), ['tiny', 'a1']);
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.equal(code, 0, err);
});

test('rft serve: a bad --adapter flag is a clear error, not a stack trace', async () => {
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'serve', '--model', fx.modelDir, '--adapter', 'nodir'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.notEqual(code, 0);
  assert.match(err, /--adapter "nodir": expected NAME=DIR/);
  assert.doesNotMatch(err, /\n\s+at /);
});
