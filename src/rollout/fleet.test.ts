import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadModel, loadTokenizer } from '../model/load.js';
import { loadAdapter } from '../model/lora.js';
import { chatTokenizer } from '../model/policy.js';
import { sample } from '../model/sampler.js';
import type { Row } from '../contracts/row.js';
import type { Trajectory } from '../contracts/trajectory.js';
import { FleetRequestError, FleetRolloutSource, parseChoices, rowSeed } from './fleet.js';
import { AdapterSync, requireLoraForFleet } from './adapter-sync.js';
import { FleetSession } from './fleet-session.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import { makeFleetFixture, spawnServe, type FleetFixture, type ServeProcess } from './fleet-testing.js';

let fx: FleetFixture;
let a: ServeProcess;
let b: ServeProcess;

before(async () => {
  fx = makeFleetFixture();
  [a, b] = await Promise.all([spawnServe(fx.modelDir), spawnServe(fx.modelDir)]);
});
after(async () => {
  await Promise.all([a.stop(), b.stop()]);
  fx.cleanup();
});

const rows = (k: number): Row[] => Array.from({ length: k }, (_, i) => ({ messages: [{ role: 'user', content: `question ${i}: ${'xyz'.repeat(i % 3)}` }] }));
const sampling = { maxNewTokens: 12, temperature: 1 };

/** What the fleet must return: the model layer's sampler on the same token ids, with each row's seed. */
function expected(rs: Row[], n: number, seed: number, adapterDir?: string): { tokens: number[]; logprobs: number[] }[][] {
  const m = loadModel(fx.modelDir);
  if (adapterDir) loadAdapter(m, adapterDir);
  const tok = loadTokenizer(fx.modelDir, m);
  const ct = chatTokenizer(tok);
  return rs.map((row, i) => {
    const ids = ct.applyChatTemplate(row.messages, { addGenerationPrompt: true });
    return sample(m, Array.from({ length: n }, () => ids), { maxNewTokens: sampling.maxNewTokens, temperature: sampling.temperature, seed: rowSeed(seed, i), tokenizer: tok });
  });
}

function assertMatches(got: Trajectory[], want: { tokens: number[]; logprobs: number[] }[][], n: number): void {
  assert.equal(got.length, want.length * n);
  got.forEach((t, k) => {
    const row = Math.floor(k / n);
    const ref = want[row]![k % n]!;
    assert.equal(t.rowIndex, row, 'grouped by row');
    assert.equal(t.error, undefined, t.error);
    const seg = t.segments[0]!;
    assert.deepEqual(seg.completionTokens, ref.tokens, `row ${row} choice ${k % n}: the server's token ids`);
    assert.deepEqual(seg.completionMask, ref.tokens.map(() => 1));
    seg.logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - ref.logprobs[j]!) < 1e-4, `row ${row} token ${j}: ${lp} vs ${ref.logprobs[j]}`));
  });
}

const tokenizer = () => chatTokenizer(loadTokenizer(fx.modelDir));

test('fleet rollouts: token-id prompts, n per row, the server\'s ids and log-probs; rows spread over both servers', async () => {
  const fleet = new FleetRolloutSource({ servers: [a.url, `${b.url}/v1/`], tokenizer: tokenizer(), baseModel: 'tiny' });
  const rs = rows(6);
  const got = await fleet.rollout({ rows: rs, n: 3, sampling, seed: 42 });
  assertMatches(got, expected(rs, 3, 42), 3);
  const ct = tokenizer();
  assert.deepEqual(got[0]!.segments[0]!.promptTokens, ct.applyChatTemplate(rs[0]!.messages, { addGenerationPrompt: true }));
  assert.equal(got[0]!.messages.at(-1)!.role, 'assistant');
  assert.equal(got[0]!.output, got[0]!.messages.at(-1)!.content);
  const per = Object.values(fleet.stats.servers);
  assert.ok(per.every((s) => s.requests >= 2), `both servers got work: ${JSON.stringify(fleet.stats.servers)}`);
  assert.equal(fleet.stats.failures, 0);
  // a different seed samples differently, the same seed the same
  const again = await fleet.rollout({ rows: rs, n: 3, sampling, seed: 42 });
  assert.deepEqual(again.map((t) => t.segments[0]!.completionTokens), got.map((t) => t.segments[0]!.completionTokens));
  const other = await fleet.rollout({ rows: rs, n: 3, sampling, seed: 43 });
  assert.notDeepEqual(other.map((t) => t.segments[0]!.completionTokens), got.map((t) => t.segments[0]!.completionTokens));
});

test('adapter sync: each step loads a new name on every server, old ones are unloaded and deleted; a lagging server is routed around', async () => {
  const shared = join(fx.dir, 'shared');
  const sync = new AdapterSync({ servers: [a.url, b.url], sharedDir: shared, keep: 2 });
  const fleet = new FleetRolloutSource({ servers: [a.url, b.url], tokenizer: tokenizer(), baseModel: 'tiny', cooldownMs: 50 });
  for (const step of [1, 2, 3]) {
    const r = await sync.publish(async (dir) => fx.writeAdapter(dir, 100 + step), step);
    assert.equal(r.name, `rft-step-${step}`);
    assert.deepEqual(r.loaded.length, 2);
    fleet.setModel(r.name);
  }
  for (const s of [a, b]) {
    const models = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(models.data.map((m) => m.id), ['tiny', 'rft-step-2', 'rft-step-3']);
  }
  assert.ok(!existsSync(join(shared, 'rft-step-1')), 'an unloaded adapter\'s folder is removed');
  const rs = rows(4);
  assertMatches(await fleet.rollout({ rows: rs, n: 2, sampling, seed: 7 }), expected(rs, 2, 7, join(shared, 'rft-step-3')), 2);
  // reference rollouts sample the base model
  assertMatches(await fleet.rollout({ rows: rs, n: 2, sampling, seed: 7, reference: true }), expected(rs, 2, 7), 2);

  // Server b lost the current adapter (restarted, or its load failed): its 404s are retried on a.
  const un = await fetch(`${b.url}/v1/unload_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: 'rft-step-3' }) });
  assert.equal(un.status, 200);
  const got = await fleet.rollout({ rows: rs, n: 2, sampling, seed: 8 });
  assertMatches(got, expected(rs, 2, 8, join(shared, 'rft-step-3')), 2);
  assert.ok(fleet.stats.servers[b.url]!.failures > 0, 'the stale server\'s refusals are counted');
  assert.ok(fleet.stats.retries > 0);
});

test('FleetSession: a policy version is published once, before the first rollout that needs it; reference rollouts need none', async () => {
  let weightsSeed = 500;
  const saved: number[] = [];
  const inner = {
    saveAdapter: async (dir: string) => {
      fx.writeAdapter(dir, weightsSeed);
      saved.push(weightsSeed);
    },
    optimStep: async () => {
      weightsSeed++;
      return { gradNorm: 0 };
    },
    loadTrainingState: async () => {
      weightsSeed += 10;
    },
  } as unknown as PolicyEngine;
  const fleet = new FleetRolloutSource({ servers: [a.url, b.url], tokenizer: tokenizer(), baseModel: 'tiny' });
  const session = new FleetSession(fleet, new AdapterSync({ servers: [a.url, b.url], sharedDir: join(fx.dir, 'session'), prefix: 'sess' }), inner);
  const rs = rows(2);
  await session.rollout({ rows: rs, n: 2, sampling, seed: 1, reference: true });
  assert.deepEqual(saved, [], 'the reference needs no adapter');
  const first = await session.rollout({ rows: rs, n: 2, sampling, seed: 1 });
  await session.rollout({ rows: rs, n: 2, sampling, seed: 2 });
  assert.deepEqual(saved, [500], 'version 0 published once');
  assert.equal(fleet.currentModel, 'sess-step-0');
  assertMatches(first, expected(rs, 2, 1, join(fx.dir, 'session', 'sess-step-0')), 2);
  await session.policy.optimStep({ lr: 1 });
  await session.policy.optimStep({ lr: 1 }); // two mini-batches, one sync
  const second = await session.rollout({ rows: rs, n: 2, sampling, seed: 3 });
  assert.deepEqual(saved, [500, 502]);
  assert.equal(fleet.currentModel, 'sess-step-2');
  assertMatches(second, expected(rs, 2, 3, join(fx.dir, 'session', 'sess-step-2')), 2);
  await session.policy.loadTrainingState('/unused');
  assert.equal(session.version, 3, 'loading a checkpoint changes the weights too');
  await session.rollout({ rows: rs, n: 2, sampling, seed: 4 });
  assert.deepEqual(saved, [500, 502, 512]);
  assert.equal(session.stats.publishes, 3);
  await session.close();
});

test('a server killed mid-run: its requests are retried on the other, every trajectory is complete and correct', async () => {
  const [c, d] = await Promise.all([spawnServe(fx.modelDir), spawnServe(fx.modelDir)]);
  try {
    const fleet = new FleetRolloutSource({ servers: [c.url, d.url], tokenizer: tokenizer(), baseModel: 'tiny', cooldownMs: 60_000 });
    const rs = rows(8);
    const long = { maxNewTokens: 60, temperature: 1 };
    const run = fleet.rollout({ rows: rs, n: 4, sampling: long, seed: 5 });
    for (let i = 0; i < 400 && fleet.stats.servers[c.url]!.requests === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    await c.kill();
    const got = await run;
    const m = loadModel(fx.modelDir);
    const tok = loadTokenizer(fx.modelDir, m);
    const ct = chatTokenizer(tok);
    rs.forEach((row, i) => {
      const ids = ct.applyChatTemplate(row.messages, { addGenerationPrompt: true });
      const ref = sample(m, [ids, ids, ids, ids], { maxNewTokens: 60, temperature: 1, seed: rowSeed(5, i), tokenizer: tok });
      for (let j = 0; j < 4; j++) assert.deepEqual(got[i * 4 + j]!.segments[0]!.completionTokens, ref[j]!.tokens, `row ${i} choice ${j}`);
    });
    assert.ok(got.every((t) => t.error === undefined));
    assert.ok(fleet.stats.servers[c.url]!.failures > 0, `the killed server's requests failed: ${JSON.stringify(fleet.stats)}`);
    assert.equal(fleet.stats.rowsFailed, 0);
    // With c gone for good, later steps run on d alone.
    const next = await fleet.rollout({ rows: rows(2), n: 2, sampling, seed: 6 });
    assert.ok(next.every((t) => t.error === undefined && t.segments[0]!.completionTokens.length > 0));
  } finally {
    await Promise.all([c.kill(), d.stop()]);
  }
});

test('a silent server times out and a lying one is rejected; both are retried on an honest server and counted', async () => {
  const hang: Server = createServer(() => {
    /* never answers */
  });
  const liar: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // n is 2; one choice, with a positive "log-prob"
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ index: 0, text: 'x', token_ids: [5], logprobs: { tokens: ['token_id:5'], token_logprobs: [3.5] }, finish_reason: 'stop' }] }));
    });
  });
  const listen = (s: Server) => new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
  const [hangUrl, liarUrl] = await Promise.all([listen(hang), listen(liar)]);
  try {
    const fleet = new FleetRolloutSource({ servers: [hangUrl, liarUrl, a.url], tokenizer: tokenizer(), baseModel: 'tiny', timeoutMs: 300, cooldownMs: 10_000 });
    const rs = rows(3);
    assertMatches(await fleet.rollout({ rows: rs, n: 2, sampling, seed: 3 }), expected(rs, 2, 3), 2);
    assert.ok(fleet.stats.servers[hangUrl]!.timeouts > 0, JSON.stringify(fleet.stats));
    assert.ok(fleet.stats.servers[liarUrl]!.failures > 0, JSON.stringify(fleet.stats));
    assert.equal(fleet.stats.servers[liarUrl]!.tokens, 0, 'nothing from the lying server is used');
  } finally {
    hang.closeAllConnections();
    await Promise.all([new Promise((r) => hang.close(r)), new Promise((r) => liar.close(r))]);
  }
});

test('a request every server refuses (400) fails the rollout at once; a fleet that is all down fails with a clear error', async () => {
  const fleet = new FleetRolloutSource({ servers: [a.url, b.url], tokenizer: tokenizer(), baseModel: 'tiny' });
  // rft serve takes n ≤ 16: a source told it may send more gets a 400, which fails the rollout at once
  const greedy = new FleetRolloutSource({ servers: [a.url, b.url], tokenizer: tokenizer(), baseModel: 'tiny', maxChoicesPerRequest: 64 });
  await assert.rejects(greedy.rollout({ rows: rows(2), n: 17, sampling, seed: 1 }), (e: Error) => e instanceof FleetRequestError && /\(400\).*n/.test(e.message));
  assert.equal(greedy.stats.retries, 0, 'a malformed request is not retried');
  // by default a group of 20 goes out as 16 + 4, each its own seed
  const split = await fleet.rollout({ rows: rows(1), n: 20, sampling, seed: 1 });
  assert.equal(split.length, 20);
  assert.equal(fleet.stats.requests, 2);
  const [ref] = expected(rows(1), 16, 1);
  assert.deepEqual(split.slice(0, 16).map((t) => t.segments[0]!.completionTokens), ref!.map((r) => r.tokens));
  assert.equal(new Set(split.map((t) => t.segments[0]!.completionTokens.join(','))).size, 20, 'the second chunk does not repeat the first');
  const dead = await spawnServe(fx.modelDir);
  await dead.kill();
  const down = new FleetRolloutSource({ servers: [dead.url], tokenizer: tokenizer(), baseModel: 'tiny', cooldownMs: 1 });
  await assert.rejects(down.rollout({ rows: rows(2), n: 2, sampling, seed: 1 }), /every rollout request failed on the fleet.*ECONNREFUSED/);
  assert.throws(() => new FleetRolloutSource({ servers: ['ftp://x'], tokenizer: tokenizer(), baseModel: 'tiny' }), /only http/);
  assert.throws(() => new FleetRolloutSource({ servers: [], tokenizer: tokenizer(), baseModel: 'tiny' }), /at least one/);
});

test('dispatched(): once it resolves the requests are on the wire, so the fleet samples while this process blocks', async () => {
  const c = await spawnServe(fx.modelDir);
  try {
    const fleet = new FleetRolloutSource({ servers: [c.url], tokenizer: tokenizer(), baseModel: 'tiny' });
    const before = ((await (await fetch(`${c.url}/health`)).json()) as { tokens: number }).tokens;
    assert.equal(before, 0);
    const run = fleet.rollout({ rows: rows(3), n: 2, sampling: { maxNewTokens: 30, temperature: 1 }, seed: 4 });
    await fleet.dispatched();
    // A training step on the CPU: the event loop is blocked, nothing more can be sent.
    const until = Date.now() + 400;
    while (Date.now() < until) {
      /* busy */
    }
    const during = ((await (await fetch(`${c.url}/health`)).json()) as { tokens: number }).tokens;
    assert.ok(during > 0, 'the server sampled while the trainer was busy');
    const got = await run;
    assert.equal(got.length, 6);
    await fleet.close();
  } finally {
    await c.stop();
  }
});

test('a server that ignores stop_token_ids is cut at the first stop token, as the trainer\'s sampler would stop', async () => {
  const tok = tokenizer();
  const eos = tok.stopTokenIds[0]!;
  const x = tok.encode('x')[0]!;
  const fake: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ index: 0, token_ids: [x, eos, x, x], logprobs: { token_logprobs: [-1, -2, -3, -4] }, finish_reason: 'length' }] }));
    });
  });
  const url = await new Promise<string>((r) => fake.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(fake.address() as AddressInfo).port}`)));
  try {
    const fleet = new FleetRolloutSource({ servers: [url], tokenizer: tok, baseModel: 'tiny' });
    const [t] = await fleet.rollout({ rows: rows(1), n: 1, sampling, seed: 1 });
    assert.deepEqual(t!.segments[0]!.completionTokens, [x, eos]);
    assert.deepEqual(t!.segments[0]!.logprobs, [-1, -2]);
    assert.equal(t!.finishReason, 'stop');
    assert.equal(t!.output, 'x');
    await fleet.close();
  } finally {
    await new Promise((r) => fake.close(r));
  }
});

test('replies that do not add up are failures, not trajectories', () => {
  const ok = { index: 0, token_ids: [1, 2], logprobs: { token_logprobs: [-0.5, -1] }, finish_reason: 'stop' };
  assert.deepEqual(parseChoices(JSON.stringify({ choices: [ok] }), 1, 's'), [{ tokens: [1, 2], logprobs: [-0.5, -1], finishReason: 'stop' }]);
  // ids from return_tokens_as_token_ids names when token_ids is absent (vLLM before 0.10.2)
  assert.deepEqual(parseChoices(JSON.stringify({ choices: [{ ...ok, token_ids: undefined, logprobs: { tokens: ['token_id:7', 'token_id:9'], token_logprobs: [-1, -2] } }] }), 1, 's')[0]!.tokens, [7, 9]);
  const bad: [unknown, RegExp][] = [
    [{ choices: [ok, { ...ok, index: 0 }] }, /expected 1 choices/],
    [{ choices: [{ ...ok, index: 3 }] }, /index 3/],
    [{ choices: [{ ...ok, token_ids: [1, -2] }] }, /integers >= 0/],
    [{ choices: [{ ...ok, token_ids: [1] }] }, /1 token ids but 2 log-probs/],
    [{ choices: [{ ...ok, logprobs: { token_logprobs: [-1, null] } }] }, /finite/],
    [{ choices: [{ ...ok, logprobs: null }] }, /no logprobs/],
    [{ choices: [{ ...ok, finish_reason: 'abort' }] }, /"abort"/],
  ];
  for (const [body, re] of bad) assert.throws(() => parseChoices(JSON.stringify(body), 1, 's'), re);
  assert.throws(() => parseChoices(JSON.stringify({ choices: [ok] }), 1, 's', { vocabSize: 2 }), /token id 2 is outside the vocabulary \(0\.\.1\)/);
  assert.throws(() => parseChoices(JSON.stringify({ choices: [ok] }), 1, 's', { maxTokens: 1 }), /2 tokens, more than the 1 asked for/);
  assert.throws(() => parseChoices('<html>', 1, 's'), /not JSON/);
});

test('full-weight runs are refused for the fleet with a message that says what to do', () => {
  assert.throws(() => requireLoraForFleet({ full: true }), /LoRA adapter.*--full.*drop --rollout-server/);
  assert.doesNotThrow(() => requireLoraForFleet({ full: false }));
});
