/**
 * Truncated importance sampling on real fleet rollouts: an `rft serve` child process samples, the
 * trainer's own model scores the same token ids, and rolloutCorrection compares the two. An honest
 * server agrees with the trainer to float precision (weights 1, KL 0); a deliberately perturbed
 * one (a proxy that raises the sampling temperature, or a server holding a stale adapter) shows up
 * in the metrics, and the weights are exactly min(π_train / π_rollout, C) of its tokens.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadModel, loadTokenizer } from '../../model/load.js';
import { loadAdapter } from '../../model/lora.js';
import { logprobs } from '../../model/logprobs.js';
import { chatTokenizer } from '../../model/policy.js';
import type { Row } from '../../contracts/row.js';
import type { Trajectory } from '../../contracts/trajectory.js';
import { FleetRolloutSource } from '../../rollout/fleet.js';
import { makeFleetFixture, spawnServe, type FleetFixture, type ServeProcess } from '../../rollout/fleet-testing.js';
import { rolloutCorrection } from './rollout-correction.js';

let fx: FleetFixture;
let serve: ServeProcess;
let proxy: Server;
let proxyUrl: string;
const HOT = 1.6;

before(async () => {
  fx = makeFleetFixture();
  fx.writeAdapter(join(fx.dir, 'a1'), 1);
  fx.writeAdapter(join(fx.dir, 'a2'), 2);
  serve = await spawnServe(fx.modelDir, ['--adapter', `stale=${join(fx.dir, 'a1')}`]);
  // The perturbed server: every request is sampled (and its log-probs reported) at HOT × the asked temperature.
  proxy = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const b = JSON.parse(body) as { temperature: number };
    b.temperature *= HOT;
    const r = await fetch(`${serve.url}${req.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
    res.writeHead(r.status, { 'content-type': 'application/json' });
    res.end(await r.text());
  });
  proxyUrl = await new Promise<string>((r) => proxy.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`)));
});
after(async () => {
  await new Promise((r) => proxy.close(r));
  await serve.stop();
  fx.cleanup();
});

const rows: Row[] = Array.from({ length: 6 }, (_, i) => ({ messages: [{ role: 'user', content: `item ${i} ${'ab'.repeat(i)}` }] }));
const sampling = { maxNewTokens: 16, temperature: 1 };

/** The trainer's side: its own log-probs (T = 1) of the fleet's tokens, flattened with the fleet's. */
function compare(ts: Trajectory[], adapterDir?: string) {
  const m = loadModel(fx.modelDir);
  if (adapterDir) loadAdapter(m, adapterDir);
  const segs = ts.map((t) => t.segments[0]!);
  const old = logprobs(m, segs.map((s) => ({ prompt: s.promptTokens, completion: s.completionTokens })), { temperature: 1 });
  const offsets = [0];
  for (const s of segs) offsets.push(offsets[offsets.length - 1]! + s.completionTokens.length);
  return { old: old.flat(), rollout: segs.flatMap((s) => s.logprobs), offsets };
}

test('an honest server: the fleet\'s log-probs are the trainer\'s, every weight is 1 and the mismatch 0', async () => {
  const fleet = new FleetRolloutSource({ servers: [serve.url], tokenizer: chatTokenizer(loadTokenizer(fx.modelDir)), baseModel: 'tiny' });
  const batch = compare(await fleet.rollout({ rows, n: 4, sampling, seed: 1 }));
  const { weights, metrics } = rolloutCorrection(batch, { level: 'token', threshold: 2 });
  assert.ok(metrics.tokens > 100);
  assert.ok(metrics.mismatch_max_abs < 1e-4, `max |Δ log p| ${metrics.mismatch_max_abs}`);
  assert.ok(Math.abs(metrics.mismatch_kl) < 1e-5 && metrics.mismatch_k3 < 1e-8, JSON.stringify(metrics));
  assert.equal(metrics.is_clip_fraction, 0);
  assert.ok(weights.every((w) => Math.abs(w - 1) < 1e-4));
});

test('a server sampling hotter than asked: the mismatch shows, and each weight is min(π_train / π_rollout, 2)', async () => {
  const fleet = new FleetRolloutSource({ servers: [proxyUrl], tokenizer: chatTokenizer(loadTokenizer(fx.modelDir)), baseModel: 'tiny' });
  const batch = compare(await fleet.rollout({ rows, n: 4, sampling, seed: 1 }));
  const { weights, metrics } = rolloutCorrection(batch, { level: 'token', threshold: 2 });
  assert.ok(metrics.mismatch_k3 > 0.01, `k3 ${metrics.mismatch_k3}`);
  assert.ok(metrics.mismatch_kl > 0.01, `k1 ${metrics.mismatch_kl}`);
  assert.ok(metrics.is_clip_fraction > 0, 'tokens the hot server rarely picks but the trainer likes are truncated at C');
  assert.ok(weights.some((w) => w < 0.5), 'tokens the hot server over-samples are down-weighted');
  weights.forEach((w, i) => assert.ok(Math.abs(w - Math.min(Math.exp(batch.old[i]! - batch.rollout[i]!), 2)) < 1e-9));
  const seq = rolloutCorrection(batch, { level: 'sequence', threshold: 2 });
  assert.ok(seq.metrics.is_clip_fraction > 0 || seq.weights.some((w) => w < 0.5), 'sequence weights move too');
});

test('a server with bf16 weights against the F32 trainer: a small, real mismatch the metrics see', async () => {
  const bf16 = await spawnServe(fx.modelDir, ['--weights-dtype', 'bf16']);
  try {
    const fleet = new FleetRolloutSource({ servers: [bf16.url], tokenizer: chatTokenizer(loadTokenizer(fx.modelDir)), baseModel: 'tiny' });
    const batch = compare(await fleet.rollout({ rows, n: 4, sampling, seed: 1 }));
    const { metrics } = rolloutCorrection(batch, { level: 'token', threshold: 2 });
    if (process.env.RFT_SHOW_MISMATCH) console.error(JSON.stringify(metrics));
    assert.ok(metrics.mismatch_max_abs > 1e-4, `bf16 rounding shows in the log-probs: ${metrics.mismatch_max_abs}`);
    assert.ok(metrics.mismatch_k3 < 0.05, `but stays small: k3 ${metrics.mismatch_k3}`);
    await fleet.close();
  } finally {
    await bf16.stop();
  }
});

test('a server holding a stale adapter: sampled from step k−1 while the trainer is at step k, the mismatch shows', async () => {
  const fleet = new FleetRolloutSource({ servers: [serve.url], tokenizer: chatTokenizer(loadTokenizer(fx.modelDir)), baseModel: 'tiny' });
  fleet.setModel('stale');
  const ts = await fleet.rollout({ rows, n: 4, sampling, seed: 2 });
  const fresh = rolloutCorrection(compare(ts, join(fx.dir, 'a1')), { level: 'token', threshold: 2 });
  assert.ok(fresh.metrics.mismatch_max_abs < 1e-4, 'against the adapter it was sampled with, it agrees');
  const stale = rolloutCorrection(compare(ts, join(fx.dir, 'a2')), { level: 'token', threshold: 2 });
  assert.ok(stale.metrics.mismatch_k3 > 0.01, `k3 ${stale.metrics.mismatch_k3}`);
  assert.ok(stale.metrics.is_clip_fraction > 0);
});
