import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('./main.js', import.meta.url));

test('rft quickstart --fleet 2: RFT samples on two rft serve processes on the SFT model, through the whole held-out evaluation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-qs-fleet-'));
  try {
    // A tiny version of the default (LoRA) plan: the point is the path, not the gain.
    writeFileSync(join(dir, 'plan.json'), JSON.stringify({ trainSize: 160, heldoutSize: 12, sft: { epochs: 1 }, rft: { steps: 2, promptsPerStep: 4, rolloutsPerPrompt: 4, evalSamples: 2, evalEvery: 0, warmupSteps: 0 } }));
    const r = spawnSync(process.execPath, [bin, 'quickstart', '--out', join(dir, 'qs'), '--plan', join(dir, 'plan.json'), '--fleet', '2', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(summary.rollouts, 'fleet of 2 rft serve');
    assert.match(r.stdout, /RFT rollouts sampled on a fleet of 2 rft serve/);
    const fleet = JSON.parse(readFileSync(join(dir, 'qs', 'rft', 'fleet.json'), 'utf8'));
    assert.equal(fleet.servers.length, 2);
    assert.ok(Object.values(fleet.fleet.servers as Record<string, { requests: number }>).every((s) => s.requests > 0), 'both servers sampled');
    assert.equal(fleet.fleet.failures, 0);
    for (const line of readFileSync(join(dir, 'qs', 'rft', 'metrics.jsonl'), 'utf8').trim().split('\n')) {
      const m = JSON.parse(line);
      if (m.trained_sequences > 0) assert.ok(Math.abs(m.mismatch_kl) < 1e-4, `step ${m.step}: mismatch_kl ${m.mismatch_kl}`);
    }
    // the full-weight small plan cannot use a fleet
    const bad = spawnSync(process.execPath, [bin, 'quickstart', '--out', join(dir, 'qs2'), '--small', '--fleet', '1'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /LoRA adapter.*rftFull/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
