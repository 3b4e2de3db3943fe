/**
 * `rft train --rollout-server`: the whole path with `rft serve` child processes as the fleet —
 * rollouts sampled there, the adapter synced every step, one server killed mid-run, a perturbed
 * server (a proxy that samples hotter than asked) caught by the mismatch metrics, and --async.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServe, type ServeProcess } from '../../rollout/fleet-testing.js';

const bin = fileURLToPath(new URL('../main.js', import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rft-cli-fleet-'));
  const ok = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  ok(['model', 'init', '--out', 'm', '--arch', 'qwen3', '--hidden', '32', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--intermediate', '48', '--seed', '1', '--init-std', '0.3']); // peaked next-token distributions, so a hotter sampler is visible
  ok(['dataset', 'generate', 'word-problems', '--out-dir', 'd', '--n', '12', '--seed', '2']);
});
after(() => {
  if (!process.env.RFT_KEEP_TEST_TMP) rmSync(dir, { recursive: true, force: true });
});

const trainArgs = (out: string, servers: string[], extra: string[] = []) => [
  // a reward a random model earns about half the time, so groups vary and the policy moves
  bin, 'train', '--model', 'm', '--dataset', 'd/word-problems.rft.jsonl', '--evaluator', '{"type": "format", "regex": "[aeiou]"}', '--out', out,
  '--steps', '3', '--rollouts-per-prompt', '3', '--prompts-per-step', '2', '--max-new-tokens', '8', '--lora-rank', '4', '--lr', '0.02',
  // zero-variance groups stay in (a random model scores 0 everywhere), so every step trains and measures
  '--no-drop-zero-variance-groups',
  '--rollout-server', servers.join(','), '--rollout-model', 'tiny', '--rollout-timeout-ms', '20000', ...extra,
];

/** Runs rft train in a child process; `onMetrics(lines)` is polled while it runs. */
async function train(args: string[], onMetrics?: (lines: number) => Promise<void> | void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: dir });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const out = join(dir, args[args.indexOf('--out') + 1]!, 'metrics.jsonl');
  let running = true;
  void exited.then(() => (running = false));
  while (running && onMetrics) {
    await new Promise((r) => setTimeout(r, 20));
    const lines = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).length : 0;
    await onMetrics(lines);
  }
  return { code: await exited, stdout, stderr };
}

const metricsOf = (run: string) => readFileSync(join(dir, run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);

test('rollouts on two rft serve processes, adapters synced each step, one server killed after the first step', async () => {
  const [a, b] = await Promise.all([spawnServe(join(dir, 'm')), spawnServe(join(dir, 'm'))]);
  try {
    let killed = false;
    const r = await train(trainArgs('runs/fleet', [a.url, b.url]), async (lines) => {
      if (lines >= 1 && !killed) {
        killed = true;
        await a.kill();
      }
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(killed);
    const m = metricsOf('runs/fleet');
    assert.equal(m.length, 3);
    for (const s of m) {
      // Same engine on both sides: the fleet's log-probs are the trainer's (float32 rounding aside).
      assert.ok(Math.abs(s.mismatch_kl!) < 1e-4 && s.mismatch_k3! < 1e-6, `step ${s.step}: ${s.mismatch_kl}`);
      assert.equal(s.is_clip_fraction, 0);
      assert.equal(s.invalid_fraction, 0, 'no rollout was lost');
    }
    const report = JSON.parse(readFileSync(join(dir, 'runs/fleet/fleet.json'), 'utf8'));
    assert.ok(report.fleet.servers[a.url].failures > 0, 'requests to the dead server failed and were counted');
    assert.equal(report.fleet.rowsFailed, 0);
    assert.equal(report.session.publishes, 3, 'one adapter per policy version sampled (0, 1, 2)');
    assert.match(r.stdout, /fleet: \d+ requests, [1-9]\d* failed/);
    // The survivor serves the newest adapters only (keep 2), named for the run and the version.
    const models = ((await (await fetch(`${b.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((x) => x.id);
    assert.equal(models.length, 3, models.join(', '));
    assert.match(models[1]!, /^rft-[0-9a-f]{6}-step-1$/);
    assert.match(models[2]!, /^rft-[0-9a-f]{6}-step-2$/);
    assert.equal(readdirSync(join(dir, 'runs/fleet/fleet-adapters')).length, 2);
  } finally {
    await Promise.all([a.kill(), b.stop()]);
  }
});

test('a perturbed server (sampling hotter than asked) shows in mismatch_kl and is_clip_fraction; --async lags by one step', async () => {
  const s = await spawnServe(join(dir, 'm'));
  const proxy: Server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const b = JSON.parse(body || '{}') as { temperature?: number };
    if (req.url === '/v1/completions' && b.temperature !== undefined) b.temperature *= 1.6;
    const r = await fetch(`${s.url}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: req.method === 'POST' ? JSON.stringify(b) : undefined });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(await r.text());
  });
  const proxyUrl = await new Promise<string>((r) => proxy.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`)));
  try {
    const hot = await train(trainArgs('runs/hot', [proxyUrl]));
    assert.equal(hot.code, 0, hot.stderr);
    for (const m of metricsOf('runs/hot')) {
      assert.ok(m.mismatch_kl! > 0.01, `step ${m.step}: mismatch_kl ${m.mismatch_kl}`);
      assert.ok(m.is_clip_fraction! > 0, `step ${m.step}: the correction truncates some weights`);
    }

    const pipelined = await train(trainArgs('runs/async', [s.url], ['--async']));
    assert.equal(pipelined.code, 0, pipelined.stderr);
    const m = metricsOf('runs/async');
    assert.ok(Math.abs(m[0]!.mismatch_kl!) < 1e-4, 'the first step is sampled on the spot from the current weights');
    for (const later of m.slice(1)) assert.ok(later.mismatch_k3! > 1e-6, `step ${later.step} trains on rollouts one version old: k3 ${later.mismatch_k3}`);
    const report = JSON.parse(readFileSync(join(dir, 'runs/async/fleet.json'), 'utf8'));
    assert.equal(report.pipeline.hits, 2, 'steps 2 and 3 were sampled ahead');
  } finally {
    await new Promise((r) => proxy.close(r));
    await s.stop();
  }
});

test('a full-weight run and --async without servers are refused with a clear message', () => {
  const full = spawnSync(process.execPath, trainArgs('runs/x', ['http://127.0.0.1:9'], ['--full']), { cwd: dir, encoding: 'utf8' });
  assert.notEqual(full.status, 0);
  assert.match(full.stderr, /full-weight run \(--full\) has no weight-sync path/);
  const args = trainArgs('runs/y', ['x']).filter((_, i, all) => all[i - 1] !== '--rollout-server' && all[i] !== '--rollout-server');
  const noFleet = spawnSync(process.execPath, [...args, '--async'], { cwd: dir, encoding: 'utf8' });
  assert.notEqual(noFleet.status, 0);
  assert.match(noFleet.stderr, /--async .* --rollout-server/);
});
