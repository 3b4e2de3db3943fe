import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobStore } from './store.js';
import { JobRunner } from './runner.js';
import { createEvaluator, createJob } from './service.js';
import { comparable, rftRows, tinyModel, tmp, uploadDataset, VARIED_EVALUATOR, waitFor } from './test-helpers.js';

const dir = tmp();
const modelDir = tinyModel(dir);
const runners: JobRunner[] = [];
after(async () => {
  for (const r of runners) await r.close();
});

async function setup(delayMs = 40) {
  const store = new JobStore(join(tmp(), 'data'));
  await uploadDataset(store, 'acme', 'd1', rftRows(8));
  await createEvaluator(store, 'acme', { evaluatorId: 'varied', evaluator: { module: { code: VARIED_EVALUATOR(delayMs), language: 'js' } } });
  const runner = new JobRunner(store);
  runners.push(runner);
  return { store, runner };
}

const spec = (steps: number, extra: Record<string, unknown> = {}) => ({
  dataset: 'd1',
  evaluator: 'varied',
  trainingConfig: { baseModel: modelDir, steps, batchSize: 2, loraRank: 2, checkpointEvery: 1, learningRate: 0.05, ...extra },
  inferenceParameters: { maxOutputTokens: 6, responseCandidatesCount: 3, temperature: 1 },
  earlyStopZeroVarianceSteps: 0,
});

const state = (store: JobStore, name: string) => store.getJob(name).state;
const finished = (store: JobStore, name: string) => () => ['JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EARLY_STOPPED', 'JOB_STATE_PAUSED'].includes(state(store, name)) && store.getJob(name);

let reference: unknown[] | undefined;
async function referenceMetrics(): Promise<unknown[]> {
  if (reference) return reference;
  const { store, runner } = await setup(0);
  const j = await createJob(store, 'acme', 'rft', spec(4), 'ref');
  runner.schedule();
  const done = await waitFor('the reference job', finished(store, j.name));
  assert.equal(done.state, 'JOB_STATE_COMPLETED', done.statusMessage);
  reference = comparable(store.metrics(j.name));
  return reference;
}

test('a job runs in a child process to COMPLETED: metrics, rollouts and logs in the store, the adapter in its run directory', async () => {
  const { store, runner } = await setup(0);
  const j = await createJob(store, 'acme', 'rft', spec(4), 'j1');
  assert.equal(j.state, 'JOB_STATE_PENDING');
  assert.equal(j.resolved.evaluatorVersion, 'accounts/acme/evaluators/varied@1', 'the evaluator version is pinned');
  runner.schedule();
  const done = await waitFor('completion', finished(store, j.name));
  assert.equal(done.state, 'JOB_STATE_COMPLETED', done.statusMessage);
  assert.equal(done.step, 4);
  assert.equal(done.totalSteps, 4);
  const metrics = store.metrics(j.name);
  // the store holds what the trainer wrote to its own metrics.jsonl
  const fromFile = readFileSync(join(done.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => { const { step, ...m } = JSON.parse(l); return { step, metrics: m }; });
  assert.deepEqual(comparable(metrics), comparable(fromFile));
  assert.ok(metrics.some((m) => (m.metrics.trained_sequences as number) > 0), 'the evaluator gives groups reward variance, so steps train');
  const ro = store.rollouts(j.name, { step: 1, limit: 100 });
  assert.equal(ro.totalSize, 2 * 3, 'prompts per step × candidates');
  assert.ok(ro.items.every((r) => r.valid && typeof r.score === 'number' && /^length \d+$/.test(r.reason!)));
  assert.deepEqual(ro.items.map((r) => r.group), [0, 0, 0, 1, 1, 1]);
  assert.equal((ro.items[0]!.messages as { role: string }[]).at(-1)!.role, 'assistant');
  assert.ok(store.logs(j.name).some((l) => l.line.startsWith('step 4/4')));
  assert.ok(existsSync(join(done.runDir, 'adapter', 'adapter_config.json')));
  assert.deepEqual(comparable(metrics), await referenceMetrics(), 'runs are deterministic');
});

test('a child that dies mid-job makes the job FAILED with the reason; the runner lives on and resume finishes it with the metrics of an uninterrupted run', async () => {
  const { store, runner } = await setup(60);
  const j = await createJob(store, 'acme', 'rft', spec(4), 'crash');
  runner.schedule();
  await waitFor('step 1', () => store.getJob(j.name).step >= 1);
  process.kill(store.getJob(j.name).pid!, 'SIGKILL');
  const failed = await waitFor('failure', finished(store, j.name));
  assert.equal(failed.state, 'JOB_STATE_FAILED');
  assert.match(failed.statusMessage, /killed by SIGKILL/);
  runner.resume(j.name);
  const done = await waitFor('completion', finished(store, j.name));
  assert.equal(done.state, 'JOB_STATE_COMPLETED', done.statusMessage);
  assert.equal(done.attempts, 2);
  assert.deepEqual(comparable(store.metrics(j.name)), await referenceMetrics());
});

test('pause stops the child after a checkpoint; resume continues exactly', async () => {
  const { store, runner } = await setup(60);
  const j = await createJob(store, 'acme', 'rft', spec(4), 'pause');
  runner.schedule();
  await waitFor('step 1', () => store.getJob(j.name).step >= 1);
  runner.pause(j.name);
  const paused = await waitFor('pause', finished(store, j.name));
  assert.equal(paused.state, 'JOB_STATE_PAUSED', paused.statusMessage);
  assert.ok(paused.step < 4, 'paused before the end');
  assert.ok(!existsSync(join(paused.runDir, 'adapter')), 'no final adapter while paused');
  runner.resume(j.name);
  const done = await waitFor('completion', finished(store, j.name));
  assert.equal(done.state, 'JOB_STATE_COMPLETED', done.statusMessage);
  assert.deepEqual(comparable(store.metrics(j.name)), await referenceMetrics());
});

test('a new runner on the same store resumes jobs that were RUNNING when the old one stopped', async () => {
  const { store, runner } = await setup(60);
  const j = await createJob(store, 'acme', 'rft', spec(4), 'restart');
  runner.schedule();
  await waitFor('step 2', () => store.getJob(j.name).step >= 2);
  await runner.close();
  assert.equal(state(store, j.name), 'JOB_STATE_RUNNING', 'a shutdown leaves the state for the next start');
  const again = new JobRunner(store);
  runners.push(again);
  again.start();
  const done = await waitFor('completion', finished(store, j.name));
  assert.equal(done.state, 'JOB_STATE_COMPLETED', done.statusMessage);
  assert.ok(store.logs(j.name).some((l) => /resuming from the checkpoint at step [1-9]/.test(l.line)));
  assert.deepEqual(comparable(store.metrics(j.name)), await referenceMetrics());
});

test('one job at a time by default: the second waits PENDING; cancel works in both states', async () => {
  const { store, runner } = await setup(60);
  const a = await createJob(store, 'acme', 'rft', spec(20), 'a');
  const b = await createJob(store, 'acme', 'rft', spec(2), 'b');
  runner.schedule();
  await waitFor('a running', () => state(store, a.name) === 'JOB_STATE_RUNNING');
  assert.equal(state(store, b.name), 'JOB_STATE_PENDING');
  runner.cancel(b.name);
  assert.equal(state(store, b.name), 'JOB_STATE_CANCELLED');
  runner.cancel(a.name);
  const done = await waitFor('cancel', finished(store, a.name));
  assert.equal(done.state, 'JOB_STATE_CANCELLED');
  assert.throws(() => runner.resume(a.name), /is JOB_STATE_CANCELLED; only a paused or failed job can resume/);
});

test('early stop: every group with zero reward variance for N steps ends the job EARLY_STOPPED with an adapter', async () => {
  const { store, runner } = await setup(0);
  const never = { type: 'string_check', input: '{{sample.output_text}}', reference: 'no tiny model writes this', operation: 'eq' };
  const j = await createJob(store, 'acme', 'rft', { ...spec(10), evaluator: never, earlyStopZeroVarianceSteps: 2 }, 'flat');
  runner.schedule();
  const done = await waitFor('early stop', finished(store, j.name));
  assert.equal(done.state, 'JOB_STATE_EARLY_STOPPED', done.statusMessage);
  assert.equal(done.step, 2);
  assert.ok(existsSync(join(done.runDir, 'adapter')));
});

test('a job whose inputs break at start fails with the reason (the store is not left half-way)', async () => {
  const { store, runner } = await setup(0);
  const j = await createJob(store, 'acme', 'rft', spec(2), 'broken');
  // the trainer itself refuses this (prompts per step larger than anything sensible is fine, a bad target module is not)
  store.db.prepare('UPDATE jobs SET options = ? WHERE name = ?').run(JSON.stringify({ ...j.options, targetModules: ['nonsense_proj'] }), j.name);
  runner.schedule();
  const done = await waitFor('failure', finished(store, j.name));
  assert.equal(done.state, 'JOB_STATE_FAILED');
  assert.match(done.statusMessage, /nonsense_proj/);
  assert.equal(store.metrics(j.name).length, 0);
});

test('evalAutoCarveout holds out a fixed tenth of the dataset; held-out evaluations are stored at the start and the end', async () => {
  const { store, runner } = await setup(0);
  const big = await uploadDataset(store, 'acme', 'd20', rftRows(20));
  const j = await createJob(store, 'acme', 'rft', { ...spec(2, { evalEvery: 0, evalSamples: 2 }), dataset: big, evalAutoCarveout: true }, 'carve');
  runner.schedule();
  const done = await waitFor('completion', finished(store, j.name));
  assert.equal(done.state, 'JOB_STATE_COMPLETED', done.statusMessage);
  const lines = (f: string) => readFileSync(join(done.runDir, 'inputs', f), 'utf8').trim().split('\n');
  assert.equal(lines('train.jsonl').length, 18);
  assert.equal(lines('eval.jsonl').length, 2);
  assert.deepEqual(new Set([...lines('train.jsonl'), ...lines('eval.jsonl')]).size, 20, 'a partition of the rows');
  const evals = store.evals(j.name);
  assert.deepEqual(evals.map((e) => e.step), [0, 2]);
  assert.equal(evals[0]!.evaluation.n, 2);
});
