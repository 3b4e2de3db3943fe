import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FULL_PLAN, withOverrides } from './quickstart.js';

const bin = fileURLToPath(new URL('./main.js', import.meta.url));

test('rft quickstart --small runs both stages end to end and writes summary.json (also as the last line with --json)', () => {
  const out = mkdtempSync(join(tmpdir(), 'rft-quickstart-'));
  const r = spawnSync(process.execPath, [bin, 'quickstart', '--small', '--out', out, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), summary);
  assert.equal(summary.task, 'countdown');
  assert.equal(summary.heldout_size, 48);
  for (const stage of ['sft', 'rft']) for (const k of ['pass1', 'mean_reward', 'pass1_sampled', 'pass_at_k']) {
    assert.ok(summary[stage][k] >= 0 && summary[stage][k] <= 1, `${stage}.${k} = ${summary[stage][k]}`);
  }
  assert.ok(summary.wall_s > 0);
  for (const f of ['data/sft.jsonl', 'data/rft.jsonl', 'data/heldout.jsonl', 'model/config.json', 'sft/model/model.safetensors', 'sft/metrics.jsonl',
    'rft/model/model.safetensors', 'rft/metrics.jsonl', 'rft/eval.jsonl', 'rft/report.md', 'rft/reward.svg']) {
    assert.ok(existsSync(join(out, f)), `missing ${f}`);
  }
  // held-out problems are never trained on
  const prompts = (f: string) => new Set(readFileSync(join(out, 'data', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l).messages[0].content));
  const train = prompts('sft.jsonl');
  for (const p of prompts('heldout.jsonl')) assert.ok(!train.has(p), `held-out prompt in training data: ${p}`);
  assert.match(r.stdout, /after SFT \+ RFT/);
});

test('plan overrides replace fields and refuse unknown ones', () => {
  const p = withOverrides(FULL_PLAN, { trainSize: 10, rft: { steps: 3, loss: { klBeta: 0.1 } } });
  assert.equal(p.trainSize, 10);
  assert.equal(p.rft.steps, 3);
  assert.equal(p.rft.loss.klBeta, 0.1);
  assert.equal(p.rft.loss.lossType, FULL_PLAN.rft.loss.lossType, 'untouched nested fields stay');
  assert.equal(p.rft.rolloutsPerPrompt, FULL_PLAN.rft.rolloutsPerPrompt);
  assert.throws(() => withOverrides(FULL_PLAN, { bogus: 1 }), /unknown plan field "bogus"/);
});
