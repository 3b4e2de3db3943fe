import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

  // --full trains every weight and saves a model folder that loads like any checkpoint
  // (with the diversity options, which reach the loop as given: entropy bonus, KL with a reference reset, pass@k advantages, clip_cov)
  const full = rft(['train', '--model', 'm', '--dataset', 'd/word-problems.rft.jsonl', '--evaluator', 'numeric', '--out', 'runs/full', '--full',
    '--steps', '2', '--rollouts-per-prompt', '2', '--prompts-per-step', '2', '--max-new-tokens', '4',
    '--entropy-coef', '0.01', '--kl-beta', '0.05', '--ref-reset-every', '1', '--adv-estimator', 'pass_at_k', '--pass-k', '2', '--loss-mode', 'clip_cov'], dir);
  assert.equal(full.status, 0, full.stderr);
  const fullCfg = JSON.parse(readFileSync(join(dir, 'runs/full/config.json'), 'utf8'));
  assert.deepEqual([fullCfg.loss.entropyCoef, fullCfg.loss.klBeta, fullCfg.refResetEvery, fullCfg.advantage.estimator, fullCfg.advantage.passK, fullCfg.loss.lossMode], [0.01, 0.05, 1, 'pass_at_k', 2, 'clip_cov']);
  const bad = rft(['train', '--model', 'm', '--dataset', 'd/word-problems.rft.jsonl', '--evaluator', 'numeric', '--out', 'runs/bad', '--full', '--steps', '1',
    '--adv-estimator', 'w_reinforce', '--unlikeliness-beta', '0.25'], dir);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /does not combine with the w_reinforce estimator/);
  const info = rft(['model', 'info', 'runs/full/model', '--json'], dir);
  assert.equal(info.status, 0, info.stderr);
  assert.ok(existsSync(join(dir, 'runs/full/model/tokenizer.json')), 'the tokenizer travels with the model');
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
  assert.match(r.stderr, /--dataset bad\.jsonl has 2 problems:/);
  assert.match(r.stderr, /line 2/);
  assert.match(r.stderr, /line 3/);
});

test('--resume refuses any change to an option that shapes the run, listing each; paths compare resolved; --out needs --resume or --overwrite', async () => {
  const dir = workspace();
  writeFileSync(join(dir, 'ev.json'), JSON.stringify({ type: 'numeric' }));
  const args = (root: string, ...more: string[]) => ['train', '--model', `${root}m`, '--dataset', `${root}d/word-problems.rft.jsonl`, '--evaluator', `${root}ev.json`, '--out', `${root}runs/a`,
    '--rollouts-per-prompt', '2', '--prompts-per-step', '2', '--max-new-tokens', '4', '--lora-rank', '2', '--checkpoint-every', '1', ...more];
  const first = rft(args('', '--steps', '2'), dir);
  assert.equal(first.status, 0, first.stderr);
  const cfg = JSON.parse(readFileSync(join(dir, 'runs/a/config.json'), 'utf8'));
  // every option that shapes the run is recorded (derived from the field table, not a hand list)
  const { rftFields } = await import('../../train/config/rft.js');
  for (const [key, f] of Object.entries(rftFields)) {
    if ((f as { resumeMayChange?: boolean }).resumeMayChange) assert.ok(!(key in cfg), `${key} may change on resume and is not recorded`);
    else if ((f as { default?: unknown }).default !== undefined) assert.ok(key in cfg, `config.json lacks ${key}`);
  }
  assert.equal(cfg.loraRank, 2);
  assert.equal(cfg.evaluator, join(dir, 'ev.json'));
  assert.equal(cfg.model, join(dir, 'm'));

  const again = rft(args('', '--steps', '2'), dir);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /runs\/a already holds a run; add --resume to continue it or --overwrite to replace it/);

  const alpha = rft(args('', '--steps', '2', '--resume', '--lora-alpha', '64', '--target-modules', 'q_proj'), dir);
  assert.equal(alpha.status, 1);
  assert.match(alpha.stderr, /cannot resume: the configuration differs/);
  assert.match(alpha.stderr, /loraAlpha \(32 → 64\)/);
  assert.match(alpha.stderr, /targetModules \(\[.*\] → \["q_proj"\]\)/);
  const rank = rft(args('', '--steps', '2', '--resume', '--lora-rank', '4', '--full'), dir);
  assert.equal(rank.status, 1);
  assert.match(rank.stderr, /loraRank \(2 → 4\)/);
  assert.match(rank.stderr, /full \(false → true\)/);
  assert.doesNotMatch(rank.stderr, /param\.0/);

  // the same files named from another directory, and a setting that does not shape the run: resumes
  mkdirSync(join(dir, 'sub'));
  const resumed = rft(args('../', '--steps', '2', '--resume', '--evaluator-concurrency', '2'), join(dir, 'sub'));
  assert.equal(resumed.status, 0, resumed.stderr);

  const none = rft(['train', '--model', 'm', '--dataset', 'd/word-problems.rft.jsonl', '--evaluator', 'numeric', '--out', 'runs/none', '--resume'], dir);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /cannot resume: runs\/none does not exist/);
  assert.ok(!existsSync(join(dir, 'runs/none')));

  // --overwrite replaces the old run: its step-2 checkpoint does not survive a 1-step run
  const over = rft(args('', '--steps', '1', '--overwrite'), dir);
  assert.equal(over.status, 0, over.stderr);
  assert.deepEqual(readdirSync(join(dir, 'runs/a/checkpoints')), ['step-000001']);
  assert.equal(JSON.parse(readFileSync(join(dir, 'runs/a/config.json'), 'utf8')).steps, 1);

  // the empty folders a run that failed at its start leaves are no run to protect
  mkdirSync(join(dir, 'runs/failed/checkpoints'), { recursive: true });
  mkdirSync(join(dir, 'runs/failed/samples'));
  const retry = rft(['train', '--model', 'm', '--dataset', 'd/word-problems.rft.jsonl', '--evaluator', 'numeric', '--out', 'runs/failed', '--steps', '1', '--rollouts-per-prompt', '2', '--prompts-per-step', '2', '--max-new-tokens', '4'], dir);
  assert.equal(retry.status, 0, retry.stderr);

  // a directory that is not a run is never cleared, even with --overwrite
  mkdirSync(join(dir, 'mine'));
  writeFileSync(join(dir, 'mine/notes.txt'), 'keep me');
  const foreign = rft(['train', '--model', 'm', '--dataset', 'd/word-problems.rft.jsonl', '--evaluator', 'numeric', '--out', 'mine', '--overwrite'], dir);
  assert.equal(foreign.status, 2);
  assert.match(foreign.stderr, /--out mine is not empty and is not a run directory \(it holds notes\.txt\)/);
  assert.equal(readFileSync(join(dir, 'mine/notes.txt'), 'utf8'), 'keep me');
});

test('rft train --config: flag names in camelCase and an evaluator spec object, recorded in config.json', () => {
  const dir = workspace();
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ model: 'm', dataset: 'd/word-problems.rft.jsonl', out: 'runs/c', evaluator: { type: 'numeric', rel_tol: 0.01 }, lr: 0.001, warmup: 1,
    steps: 1, rolloutsPerPrompt: 2, promptsPerStep: 2, maxNewTokens: 4, loraRank: 2 }));
  const r = rft(['train', '--config', 'cfg.json'], dir);
  assert.equal(r.status, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(join(dir, 'runs/c/config.json'), 'utf8'));
  assert.deepEqual(cfg.evaluator, { type: 'numeric', rel_tol: 0.01 });
  assert.deepEqual([cfg.learningRate, cfg.warmupSteps], [0.001, 1]);
});
