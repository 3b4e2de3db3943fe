import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../main.js', import.meta.url));
const rft = (args: string[], cwd: string) => spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rft-cli-train-'));
  const ok = (r: ReturnType<typeof rft>) => assert.equal(r.status, 0, r.stderr);
  ok(rft(['model', 'init', '--out', 'm', '--arch', 'qwen3', '--hidden', '32', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--intermediate', '48', '--seed', '1'], dir));
  ok(rft(['dataset', 'generate', 'word-problems', '--out-dir', 'd', '--n', '12', '--seed', '2'], dir));
  return dir;
}

test('rft sft then rft train: LoRA adapters, metrics, held-out evaluations and a report in the run directories', () => {
  const dir = workspace();
  const sft = rft(['sft', '--model', 'm', '--dataset', 'd/word-problems.sft.jsonl', '--eval', 'd/word-problems.sft.jsonl', '--evaluator', 'numeric', '--out', 'runs/sft',
    '--batch-size', '6', '--epochs', '1', '--lora-rank', '4', '--max-new-tokens', '8', '--max-length', '160'], dir);
  assert.equal(sft.status, 0, sft.stderr);
  assert.ok(existsSync(join(dir, 'runs/sft/adapter/adapter_config.json')));
  assert.equal(readFileSync(join(dir, 'runs/sft/metrics.jsonl'), 'utf8').trim().split('\n').length, 2);

  const train = rft(['train', '--model', 'm', '--adapter', 'runs/sft/adapter', '--dataset', 'd/word-problems.rft.jsonl', '--eval-dataset', 'd/word-problems.rft.jsonl',
    '--evaluator', 'numeric', '--out', 'runs/rft', '--steps', '2', '--rollouts-per-prompt', '3', '--prompts-per-step', '2', '--max-new-tokens', '6',
    '--eval-samples', '2', '--lora-rank', '4', '--checkpoint-every', '1'], dir);
  assert.equal(train.status, 0, train.stderr);
  const run = join(dir, 'runs/rft');
  for (const f of ['config.json', 'metrics.jsonl', 'eval.jsonl', 'report.md', 'reward.svg', 'heldout.svg', 'adapter/adapter_model.safetensors', 'checkpoints/step-000002/training_state.json']) {
    assert.ok(existsSync(join(run, f)), `missing ${f}`);
  }
  const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.equal(cfg.rolloutsPerPrompt, 3);
  // the folded adapter has the SFT rank plus the new rank
  assert.equal(JSON.parse(readFileSync(join(run, 'adapter/adapter_config.json'), 'utf8')).r, 8);
  assert.match(train.stdout, /held-out pass@1/);
});

test('bad flags are reported together, with the flag names, and nothing runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-cli-bad-'));
  const r = rft(['train', '--model', 'm', '--dataset', 'x.jsonl', '--evaluator', 'numeric', '--out', 'o', '--rollouts-per-prompt', '1', '--loss-type', 'ppo', '--lr', 'fast'], dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--lr expects a number, got "fast"/);
  const r2 = rft(['train', '--model', 'm', '--dataset', 'x.jsonl', '--evaluator', 'numeric', '--out', 'o', '--rollouts-per-prompt', '1', '--loss-type', 'ppo'], dir);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /rolloutsPerPrompt \(--rollouts-per-prompt\): must be ≥ 2/);
  assert.match(r2.stderr, /lossType \(--loss-type\): expected one of/);
  assert.ok(!existsSync(join(dir, 'o')), 'no run directory was created');
});

test('a dataset with problems is refused with each problem and its line', () => {
  const dir = workspace();
  writeFileSync(join(dir, 'bad.jsonl'), '{"messages":[{"role":"user","content":"hi"}]}\nnot json\n{"messages":[]}\n');
  const r = rft(['train', '--model', 'm', '--dataset', 'bad.jsonl', '--evaluator', 'numeric', '--out', 'o'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--dataset bad\.jsonl has 2 problem\(s\)/);
  assert.match(r.stderr, /line 2/);
  assert.match(r.stderr, /line 3/);
});
