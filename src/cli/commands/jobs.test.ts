import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, CLI, rftRows, sftRows, startServerProcess, tinyModel, tmp, VARIED_EVALUATOR, type ServerProcess } from '../../jobs/test-helpers.js';

const dir = tmp('rft-cli-jobs-');
const modelDir = tinyModel(dir);
let srv: ServerProcess;

/** Runs the CLI against the server (found through RFT_SERVER) without blocking the event loop. */
function rft(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, RFT_SERVER: srv.url, RFT_ACCOUNT: 'acme' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}
const ok = (r: { status: number | null; stderr: string }) => assert.equal(r.status, 0, r.stderr);

before(async () => {
  srv = await startServerProcess(join(dir, 'data'));
  writeFileSync(join(dir, 'train.jsonl'), rftRows(8));
  writeFileSync(join(dir, 'sft.jsonl'), sftRows(6));
  writeFileSync(join(dir, 'bad.jsonl'), `${rftRows(1)}{"messages": []}\n{oops\n`);
  writeFileSync(join(dir, 'varied.mjs'), VARIED_EVALUATOR(0));
});
after(async () => {
  await srv.stop();
});

test('rft datasets upload: a good file becomes a READY dataset (--json prints the resource); a bad one is refused with each line and leaves nothing', async () => {
  const r = await rft(['datasets', 'upload', 'train.jsonl', '--id', 'd1', '--json']);
  ok(r);
  const d = JSON.parse(r.stdout);
  assert.equal(d.name, 'accounts/acme/datasets/d1');
  assert.equal(d.exampleCount, 8);
  assert.deepEqual(d, (await call(srv.url, 'GET', '/v1/accounts/acme/datasets/d1')).body, 'as the API returns it');
  const bad = await rft(['datasets', 'upload', 'bad.jsonl', '--id', 'bad']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /2 problem\(s\)/);
  assert.match(bad.stderr, /line 2/);
  assert.match(bad.stderr, /line 3/);
  assert.equal((await call(srv.url, 'GET', '/v1/accounts/acme/datasets/bad')).status, 404);
  const list = await rft(['datasets', 'list']);
  ok(list);
  assert.match(list.stdout, /accounts\/acme\/datasets\/d1 +RFT +8 +READY/);
});

test('rft evaluators create (module upload, versions) and a job lifecycle: create -f, watch, get --json, logs, list, deploy; errors exit 1 with the reason', async () => {
  ok(await rft(['evaluators', 'create', 'varied', '--module', 'varied.mjs']));
  const v2 = await rft(['evaluators', 'create', 'varied', '--module', 'varied.mjs', '--add-version', '--json']);
  ok(v2);
  assert.equal(JSON.parse(v2.stdout).version, 2);
  const badEval = await rft(['evaluators', 'create', 'nope', '--spec', '{"type":"numeric","tolerance":"x"}']);
  assert.equal(badEval.status, 1);
  assert.match(badEval.stderr, /evaluator\.spec/);

  writeFileSync(join(dir, 'job.json'), JSON.stringify({
    dataset: 'd1', evaluator: 'varied', earlyStopZeroVarianceSteps: 0,
    trainingConfig: { baseModel: modelDir, steps: 2, batchSize: 2, loraRank: 2 },
    inferenceParameters: { maxOutputTokens: 5, responseCandidatesCount: 2 },
  }));
  const created = await rft(['jobs', 'create', '-f', 'job.json', '--id', 'j1', '--json']);
  ok(created);
  assert.equal(JSON.parse(created.stdout).name, 'accounts/acme/reinforcementFineTuningJobs/j1');
  const watched = await rft(['jobs', 'watch', 'j1']);
  ok(watched);
  assert.match(watched.stdout, /JOB_STATE_COMPLETED +step 2\/2/);
  const got = await rft(['jobs', 'get', 'j1', '--json']);
  ok(got);
  assert.deepEqual(JSON.parse(got.stdout), (await call(srv.url, 'GET', '/v1/accounts/acme/reinforcementFineTuningJobs/j1')).body);
  assert.equal(JSON.parse(got.stdout).evaluatorVersion, 'accounts/acme/evaluators/varied@2', 'the latest version at creation');
  const logs = await rft(['jobs', 'logs', 'j1', '-f']);
  ok(logs);
  assert.match(logs.stdout, /step 2\/2 reward/);
  const list = await rft(['jobs', 'list', '--state', 'JOB_STATE_COMPLETED']);
  ok(list);
  assert.match(list.stdout, /accounts\/acme\/reinforcementFineTuningJobs\/j1 +JOB_STATE_COMPLETED +2\/2/);
  const pause = await rft(['jobs', 'pause', 'j1']);
  assert.equal(pause.status, 1);
  assert.match(pause.stderr, /only a pending or running job can pause/);
  const dep = await rft(['jobs', 'deploy', 'j1', '--json']);
  ok(dep);
  assert.equal(JSON.parse(dep.stdout).model, 'accounts/acme/models/j1');
  const missing = await rft(['jobs', 'get', 'nope']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /does not exist/);
  const badSpec = await rft(['jobs', 'create', '-f', 'bad-spec.json']);
  assert.equal(badSpec.status, 2);
  writeFileSync(join(dir, 'bad-spec.json'), JSON.stringify({ dataset: 'd1', evaluator: 'varied', trainingConfig: { baseModel: modelDir, steps: 0, lr: 1 } }));
  const badSpec2 = await rft(['jobs', 'create', '-f', 'bad-spec.json']);
  assert.equal(badSpec2.status, 1);
  assert.match(badSpec2.stderr, /trainingConfig\.steps: must be ≥ 1/);
  assert.match(badSpec2.stderr, /trainingConfig\.lr: unknown field/);
});

test('the two-stage recipe: an SFT job, then an RFT job that warm-starts from its adapter', async () => {
  ok(await rft(['datasets', 'upload', 'sft.jsonl', '--id', 's1', '--format', 'SFT']));
  writeFileSync(join(dir, 'sft-job.json'), JSON.stringify({ dataset: 's1', baseModel: modelDir, epochs: 1, batchSize: 3, loraRank: 2, maxContextLength: 96 }));
  ok(await rft(['jobs', 'create', '--sft', '-f', 'sft-job.json', '--id', 'stage1']));
  const w = await rft(['jobs', 'watch', 'accounts/acme/supervisedFineTuningJobs/stage1']);
  ok(w);
  assert.match(w.stdout, /JOB_STATE_COMPLETED/);
  writeFileSync(join(dir, 'rft-job.json'), JSON.stringify({
    dataset: 'd1', evaluator: 'varied', earlyStopZeroVarianceSteps: 0,
    trainingConfig: { baseModel: modelDir, warmStartFrom: 'accounts/acme/supervisedFineTuningJobs/stage1', steps: 1, batchSize: 2, loraRank: 2 },
    inferenceParameters: { maxOutputTokens: 4, responseCandidatesCount: 2 },
  }));
  const r = await rft(['jobs', 'create', '-f', 'rft-job.json', '--id', 'stage2', '--json']);
  ok(r);
  assert.equal(JSON.parse(r.stdout).warmStartJob, 'accounts/acme/supervisedFineTuningJobs/stage1');
  const w2 = await rft(['jobs', 'watch', 'stage2']);
  ok(w2);
  assert.match(w2.stdout, /JOB_STATE_COMPLETED/);
  const cfg = JSON.parse(readFileSync(join(dir, 'data', 'jobs', 'acme', 'stage2', 'config.json'), 'utf8'));
  assert.equal(cfg.adapter, join(dir, 'data', 'jobs', 'acme', 'stage1', 'adapter'), 'the RFT stage starts from the SFT adapter');
  // the SFT dataset cannot feed an RFT job
  writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ dataset: 's1', evaluator: 'varied', trainingConfig: { baseModel: modelDir } }));
  const wrong = await rft(['jobs', 'create', '-f', 'wrong.json']);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /dataset: dataset "accounts\/acme\/datasets\/s1" holds SFT rows/);
});
