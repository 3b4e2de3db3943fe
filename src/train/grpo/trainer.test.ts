import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { grpoStep } from './step.js';
import { rowsForStep, runRftLoop } from './trainer.js';
import { toyConfig, toyPolicy, toyRows, toyScore, toyTokenizer, toyEvaluate } from '../testing/toy-task.js';
import type { Sequence } from '../../contracts/policy-engine.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rft-train-'));

test('one GRPO step raises the log-probs of above-average completions and lowers those below', async () => {
  const policy = toyPolicy(3);
  const G = 8;
  const { trajectories, rewards } = await grpoStep(policy, toyTokenizer, toyScore, toyRows(4), { ...toyConfig, rolloutsPerPrompt: G, maxNewTokens: 4 }, { seed: 1, step: 0, lr: 0.01 });
  const seqs: Sequence[] = trajectories.map((t) => ({ prompt: t.segments[0].promptTokens, completion: t.segments[0].completionTokens }));
  // log-probs after the step, compared with the sampling log-probs from before it
  const after = await policy.logprobs(seqs);
  const up: number[] = [];
  const down: number[] = [];
  trajectories.forEach((t, i) => {
    const g = Math.floor(i / G);
    const mean = Array.from(rewards.slice(g * G, g * G + G)).reduce((a, b) => a + b, 0) / G;
    const delta = after[i].reduce((a, b) => a + b, 0) - t.segments[0].logprobs.reduce((a, b) => a + b, 0);
    if (rewards[i] > mean) up.push(delta);
    if (rewards[i] < mean) down.push(delta);
  });
  assert.ok(up.length >= 3 && down.length >= 3, `need better and worse completions: ${up.length} / ${down.length}`);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(avg(up) > 0, `above-average completions: mean Δlogp ${avg(up)}`);
  assert.ok(avg(down) < 0, `below-average completions: mean Δlogp ${avg(down)}`);
  assert.ok(up.filter((d) => d > 0).length > up.length / 2, `most above-average completions gain: ${up}`);
});

test('RFT on the toy task raises the mean reward well above its start', async () => {
  const dir = tmp();
  const policy = toyPolicy(5);
  const result = await runRftLoop({ policy, tokenizer: toyTokenizer, score: toyScore, train: toyRows(16), heldout: toyRows(8), config: { ...toyConfig, steps: 40 }, runDir: dir });
  const before = result.initialEval!;
  const after = result.finalEval!;
  assert.ok(after.mean_reward_sampled > before.mean_reward_sampled + 0.3, `sampled mean reward ${before.mean_reward_sampled} → ${after.mean_reward_sampled}`);
  const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.length, 40);
  for (const k of ['reward_mean', 'reward_std', 'reward/a_fraction', 'zero_variance_fraction', 'invalid_fraction', 'kl', 'clip_low', 'clip_high', 'entropy', 'completion_len_mean', 'completion_len_max', 'truncated_fraction', 'turns_mean', 'turns_max', 'tool_calls_mean', 'tool_calls_max', 'tool_errors', 'tool_error_fraction', 'error_fraction', 'timeout_fraction', 'sampled_tokens', 'inserted_tokens', 'grad_norm', 'lr', 'time_sample_s', 'time_eval_s', 'time_train_s', 'sample_tokens_per_s', 'train_tokens_per_s']) {
    assert.ok(k in metrics[0], `metrics.jsonl lacks ${k}`);
  }
  assert.ok(existsSync(join(dir, 'adapter', 'bigram_adapter.json')), 'the final adapter is saved');
  assert.equal(readdirSync(join(dir, 'samples')).length, 2, 'held-out samples at the start and the end');
});

test('every prompt is used once per epoch, in a seed-dependent order', () => {
  const rows = toyRows(10);
  const epoch = [0, 1, 2, 3, 4].flatMap((s) => rowsForStep(rows, 2, 3, s));
  assert.equal(new Set(epoch).size, 10);
  const other = [0, 1, 2, 3, 4].flatMap((s) => rowsForStep(rows, 2, 4, s));
  assert.notDeepEqual(epoch, other);
});

const runner = fileURLToPath(new URL('../testing/toy-run.js', import.meta.url));
function toyRun(args: string[]) {
  return spawnSync(process.execPath, [runner, ...args], { encoding: 'utf8' });
}
const metricsOf = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
  const { time_sample_s, time_eval_s, time_train_s, sample_tokens_per_s, train_tokens_per_s, ...rest } = JSON.parse(l);
  return rest;
});

test('a run killed (SIGKILL) after a step resumes from its last checkpoint and matches an uninterrupted run', () => {
  const full = tmp();
  assert.equal(toyRun([full, '8', '2']).status, 0);
  const killed = tmp();
  const r = toyRun([killed, '8', '2', '--kill-after-step', '5']);
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(metricsOf(killed).length, 5, 'steps 1..5 were logged before the kill');
  assert.equal(toyRun([killed, '8', '2', '--resume']).status, 0);
  assert.deepEqual(metricsOf(killed), metricsOf(full));
  assert.deepEqual(readFileSync(join(killed, 'adapter', 'bigram_adapter.json'), 'utf8'), readFileSync(join(full, 'adapter', 'bigram_adapter.json'), 'utf8'));
});

test('a run killed while writing a checkpoint resumes from the previous complete one', () => {
  const full = tmp();
  assert.equal(toyRun([full, '6', '2']).status, 0);
  const killed = tmp();
  // the second checkpoint (step 4) is being written when the process dies
  assert.equal(toyRun([killed, '6', '2', '--kill-in-checkpoint', '2']).signal, 'SIGKILL');
  assert.ok(readdirSync(join(killed, 'checkpoints')).some((n) => n.includes('.tmp-')), 'a half-written checkpoint was left behind');
  assert.equal(toyRun([killed, '6', '2', '--resume']).status, 0);
  assert.deepEqual(metricsOf(killed), metricsOf(full));
  assert.ok(!readdirSync(join(killed, 'checkpoints')).some((n) => n.includes('.tmp-')), 'the half-written checkpoint was cleaned up');
});

test('resuming with a different configuration is refused', async () => {
  const dir = tmp();
  await runRftLoop({ policy: toyPolicy(), tokenizer: toyTokenizer, score: toyScore, train: toyRows(8), config: { ...toyConfig, steps: 2, checkpointEvery: 1 }, runDir: dir });
  await assert.rejects(
    runRftLoop({ policy: toyPolicy(), tokenizer: toyTokenizer, score: toyScore, train: toyRows(8), config: { ...toyConfig, steps: 2, checkpointEvery: 1, learningRate: 1 }, runDir: dir, resume: true }),
    /configuration differs .* learningRate \(0\.05 → 1\)/,
  );
});

test('invalid evaluations are not trained on and are counted', async () => {
  const policy = toyPolicy();
  let calls = 0;
  const flaky = async (rs: Parameters<typeof toyScore>[0]) => rs.map((r) => (calls++ % 3 === 0 ? { score: 0, valid: false, reason: 'evaluator crashed' } : toyEvaluate(r)));
  const { metrics } = await grpoStep(policy, toyTokenizer, flaky, toyRows(2), toyConfig, { seed: 1, step: 0, lr: 0.01 });
  assert.ok(Math.abs(metrics.invalid_fraction - 4 / 12) < 1e-9);
  assert.ok(metrics.trained_sequences <= 8);
});

test('control "pause" checkpoints mid-run without the adapter; resuming finishes with the metrics of an uninterrupted run', async () => {
  const cfg = { ...toyConfig, steps: 6, checkpointEvery: 4 };
  const full = tmp();
  await runRftLoop({ policy: toyPolicy(), tokenizer: toyTokenizer, score: toyScore, train: toyRows(8), config: cfg, runDir: full });
  const paused = tmp();
  const seen: number[] = [];
  const r = await runRftLoop({
    policy: toyPolicy(), tokenizer: toyTokenizer, score: toyScore, train: toyRows(8), config: cfg, runDir: paused,
    onRollouts: (step, ro) => {
      assert.equal(ro.trajectories.length, ro.results.length);
      seen.push(step);
    },
    control: (step) => (step === 3 ? 'pause' : 'continue'),
  });
  assert.equal(r.pausedAt, 3);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.ok(existsSync(join(paused, 'checkpoints', 'step-000003', 'trainer_state.json')), 'a checkpoint at the pause step');
  assert.ok(!existsSync(join(paused, 'adapter')), 'no final adapter for a paused run');
  const r2 = await runRftLoop({ policy: toyPolicy(), tokenizer: toyTokenizer, score: toyScore, train: toyRows(8), config: cfg, runDir: paused, resume: true });
  assert.equal(r2.pausedAt, undefined);
  assert.deepEqual(metricsOf(paused), metricsOf(full));
  assert.equal(readFileSync(join(paused, 'adapter', 'bigram_adapter.json'), 'utf8'), readFileSync(join(full, 'adapter', 'bigram_adapter.json'), 'utf8'));
});

test('control "stop" ends the run early with a checkpoint, a final evaluation and the adapter', async () => {
  const dir = tmp();
  const r = await runRftLoop({
    policy: toyPolicy(), tokenizer: toyTokenizer, score: toyScore, train: toyRows(8), heldout: toyRows(2), config: { ...toyConfig, steps: 6 }, runDir: dir,
    control: (step) => (step === 2 ? 'stop' : 'continue'),
  });
  assert.equal(r.stoppedAt, 2);
  assert.equal(metricsOf(dir).length, 2);
  assert.ok(existsSync(join(dir, 'checkpoints', 'step-000002')));
  assert.ok(existsSync(join(dir, 'adapter', 'bigram_adapter.json')));
  const evals = readFileSync(join(dir, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(evals, [0, 2]);
});
