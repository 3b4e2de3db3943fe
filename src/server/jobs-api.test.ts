import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { call, CLI, comparable, readEvents, rftRows, startServerProcess, tinyModel, tmp, VARIED_EVALUATOR, type ServerProcess } from '../jobs/test-helpers.js';

const dir = tmp('rft-jobs-api-');
const modelDir = tinyModel(dir);
let srv: ServerProcess;
const A = '/v1/accounts/acme';

const jobSpec = (steps: number, extra: Record<string, unknown> = {}) => ({
  dataset: 'd1',
  evaluator: 'varied',
  trainingConfig: { baseModel: modelDir, steps, batchSize: 2, loraRank: 2, checkpointEvery: 1, learningRate: 0.05 },
  inferenceParameters: { maxOutputTokens: 6, responseCandidatesCount: 3 },
  earlyStopZeroVarianceSteps: 0,
  ...extra,
});

async function seed(url: string, delayMs = 0, headers: Record<string, string> = {}): Promise<void> {
  assert.equal((await call(url, 'POST', `${A}/datasets`, { datasetId: 'd1' }, headers)).status, 200);
  const up = await call(url, 'POST', `${A}/datasets/d1:upload`, rftRows(8), headers);
  assert.equal(up.status, 200, JSON.stringify(up.body));
  const ev = await call(url, 'POST', `${A}/evaluators`, { evaluatorId: 'varied', evaluator: { module: { code: VARIED_EVALUATOR(delayMs), language: 'js' } } }, headers);
  assert.equal(ev.status, 200, JSON.stringify(ev.body));
}

async function finished(url: string, name: string, headers: Record<string, string> = {}): Promise<any> {
  const t0 = Date.now();
  for (;;) {
    const j = (await call(url, 'GET', `/v1/${name}`, undefined, headers)).body;
    if (!['JOB_STATE_PENDING', 'JOB_STATE_VALIDATING', 'JOB_STATE_RUNNING'].includes(j.state)) return j;
    if (Date.now() - t0 > 60_000) throw new Error(`timed out waiting for ${name} (${j.state})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  srv = await startServerProcess(join(dir, 'data'));
  await seed(srv.url);
});
after(async () => {
  await srv.stop();
});

test('/health and an /openapi.json whose job schema comes from the validating zod schema (every trainer option included)', async () => {
  const h = await call(srv.url, 'GET', '/health');
  assert.equal(h.status, 200);
  assert.equal(h.body.auth, 'none (loopback only)');
  const doc = (await call(srv.url, 'GET', '/openapi.json')).body;
  assert.equal(doc.openapi, '3.1.0');
  const tc = doc.components.schemas.ReinforcementFineTuningJobSpec.properties.trainingConfig;
  for (const k of ['baseModel', 'learningRateWarmupSteps', 'checkpointEvery', 'policyUpdates', 'clipEpsilonHigh']) assert.ok(tc.properties[k], `trainingConfig.${k} is documented`);
  assert.deepEqual(doc.components.schemas.ReinforcementFineTuningJobSpec.properties.lossConfig.properties.method.enum, ['GRPO', 'DAPO', 'DR_GRPO', 'BNPO', 'GSPO', 'GSPO_TOKEN']);
  assert.ok(doc.paths['/v1/accounts/{account}/reinforcementFineTuningJobs/{id}:pause']);
});

test('bad input gets one error shape: unknown ids, bad specs (every problem with its path), malformed uploads (every bad line), bad JSON, wrong method', async () => {
  const shape = (b: any) => assert.deepEqual(Object.keys(b.error).filter((k) => k !== 'details').sort(), ['code', 'message', 'param', 'type']);
  const missing = await call(srv.url, 'GET', `${A}/reinforcementFineTuningJobs/nope`);
  assert.equal(missing.status, 404);
  shape(missing.body);
  assert.match(missing.body.error.message, /job "accounts\/acme\/reinforcementFineTuningJobs\/nope" does not exist/);

  const bad = await call(srv.url, 'POST', `${A}/reinforcementFineTuningJobs`, { dataset: 'nope', evaluator: 'varied', trainingConfig: { baseModel: '/no/such/model', learningRate: 'fast' } });
  assert.equal(bad.status, 400);
  shape(bad.body);
  assert.deepEqual(bad.body.error.details.map((d: any) => d.path), ['trainingConfig.learningRate']);
  const bad2 = await call(srv.url, 'POST', `${A}/reinforcementFineTuningJobs`, { dataset: 'nope', evaluator: 'nope', trainingConfig: { baseModel: '/no/such/model' } });
  assert.equal(bad2.status, 400);
  assert.deepEqual(bad2.body.error.details.map((d: any) => d.path).sort(), ['dataset', 'evaluator', 'trainingConfig.baseModel']);
  assert.equal((await call(srv.url, 'GET', `${A}/reinforcementFineTuningJobs`)).body.totalSize, 0, 'nothing was created');

  await call(srv.url, 'POST', `${A}/datasets`, { datasetId: 'broken' });
  const up = await call(srv.url, 'POST', `${A}/datasets/broken:upload`, `${rftRows(1)}{"messages": 3}\nnot json\n`);
  assert.equal(up.status, 400);
  shape(up.body);
  assert.deepEqual(up.body.error.details.map((d: any) => d.path.split(' ').slice(0, 2).join(' ')), ['line 2', 'line 3']);
  assert.equal((await call(srv.url, 'GET', `${A}/datasets/broken`)).body.state, 'UPLOADING', 'nothing was stored');

  const json = await call(srv.url, 'POST', `${A}/datasets`, '{"datasetId": ');
  assert.equal(json.status, 400);
  assert.equal(json.body.error.code, 'invalid_json');
  assert.equal((await call(srv.url, 'PUT', `${A}/datasets`)).status, 405);
  assert.equal((await call(srv.url, 'GET', `${A}/reinforcementFineTuningJobs?pageSize=0`)).body.error.param, 'pageSize');
  assert.equal((await call(srv.url, 'GET', `${A}/reinforcementFineTuningJobs?filter=${encodeURIComponent('secret = 1')}`)).body.error.param, 'filter');
  const ev = await call(srv.url, 'POST', `${A}/evaluators`, { evaluatorId: 'bad', evaluator: { spec: { type: 'numeric', rel_toll: 1 } } });
  assert.equal(ev.status, 400);
  assert.match(ev.body.error.details[0].path, /^evaluator\.spec/);
});

test('a job over HTTP: live metrics over SSE, rollouts sorted by score, logs, checkpoints, a downloadable adapter, a deployment served through the OpenAI API', async () => {
  const created = await call(srv.url, 'POST', `${A}/reinforcementFineTuningJobs?reinforcementFineTuningJobId=flow`, jobSpec(3));
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const name = created.body.name;
  assert.equal(name, 'accounts/acme/reinforcementFineTuningJobs/flow');
  assert.equal(created.body.trainingConfig.steps, 3, 'the resource carries the spec with Fireworks field names');
  const events = await readEvents(srv.url, `/v1/${name}/metrics:stream`, (e) => e === 'end');
  assert.deepEqual(events.filter((e) => e.event === 'metrics').map((e) => e.data.step), [1, 2, 3]);
  assert.equal(events.at(-1)!.data.state, 'JOB_STATE_COMPLETED');
  const job = (await call(srv.url, 'GET', `/v1/${name}`)).body;
  assert.equal(job.state, 'JOB_STATE_COMPLETED');
  assert.deepEqual(job.jobProgress, { step: 3, totalSteps: 3, percent: 100 });

  const page1 = (await call(srv.url, 'GET', `/v1/${name}/metrics?pageSize=2`)).body;
  const page2 = (await call(srv.url, 'GET', `/v1/${name}/metrics?pageSize=2&pageToken=${page1.nextPageToken}`)).body;
  assert.deepEqual([...page1.metrics, ...page2.metrics].map((m: any) => m.step), [1, 2, 3]);
  assert.equal(page2.nextPageToken, '');

  const ro = (await call(srv.url, 'GET', `/v1/${name}/rollouts?orderBy=${encodeURIComponent('score desc')}&pageSize=100`)).body;
  assert.equal(ro.totalSize, 3 * 2 * 3);
  const scores = ro.rollouts.map((r: any) => r.score);
  assert.deepEqual(scores, [...scores].sort((a: number, b: number) => b - a));
  const one = (await call(srv.url, 'GET', `/v1/${name}/rollouts?step=2&minScore=0.5`)).body;
  assert.ok(one.rollouts.every((r: any) => r.step === 2 && r.score >= 0.5 && r.messages.at(-1).role === 'assistant'));

  const logs = (await call(srv.url, 'GET', `/v1/${name}/logs`)).body.logs;
  assert.ok(logs.some((l: any) => l.line.startsWith('step 3/3')));

  const cps = (await call(srv.url, 'GET', `/v1/${name}/checkpoints`)).body.checkpoints;
  assert.deepEqual(cps.map((c: any) => c.kind), ['TRAINING_STATE', 'TRAINING_STATE', 'TRAINING_STATE', 'PEFT_ADAPTER']);
  const tarRes = await fetch(`${srv.url}/v1/${name}/checkpoints/final:download`);
  assert.equal(tarRes.headers.get('content-type'), 'application/x-tar');
  const out = join(dir, 'download');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'a.tar'), Buffer.from(await tarRes.arrayBuffer()));
  const x = spawnSync('tar', ['-xf', 'a.tar'], { cwd: out, encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
  const runAdapter = join(dir, 'data', 'jobs', 'acme', 'flow', 'adapter');
  for (const f of ['adapter_config.json', 'adapter_model.safetensors']) assert.deepEqual(readFileSync(join(out, 'flow-final', f)), readFileSync(join(runAdapter, f)), `${f} round-trips through the tar`);

  const dep = await call(srv.url, 'POST', `${A}/deployments`, { job: name });
  assert.equal(dep.status, 200, JSON.stringify(dep.body));
  assert.equal(dep.body.model, 'accounts/acme/models/flow');
  const openai = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  assert.deepEqual((await openai.models.list()).data.map((m) => m.id), ['accounts/acme/models/flow']);
  const chat = await openai.chat.completions.create({ model: 'accounts/acme/models/flow', messages: [{ role: 'user', content: 'Add 1 and 2.' }], max_tokens: 5, temperature: 0 });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.usage!.completion_tokens, 5);
  assert.equal((await call(srv.url, 'POST', `${A}/deployments`, { job: name, deploymentId: 'again' })).status, 409, 'one deployment per model id');
  assert.equal((await call(srv.url, 'DELETE', `/v1/${dep.body.name}`)).status, 200);
  await assert.rejects(openai.chat.completions.create({ model: 'accounts/acme/models/flow', messages: [{ role: 'user', content: 'x' }], max_tokens: 2 }), (e: any) => e.status === 404);

  assert.equal((await call(srv.url, 'POST', `/v1/${name}:pause`, {})).status, 409, 'a completed job cannot pause');
  assert.equal((await call(srv.url, 'DELETE', `/v1/${name}`)).status, 200);
  assert.equal((await call(srv.url, 'GET', `/v1/${name}`)).status, 404);
});

test('kill -9 of the server mid-job, then a restart: the job resumes from its last checkpoint and ends with the metrics of an uninterrupted run', async () => {
  const data = join(dir, 'killed');
  let s = await startServerProcess(data);
  try {
    await seed(s.url, 80);
    const ref = (await call(s.url, 'POST', `${A}/reinforcementFineTuningJobs?reinforcementFineTuningJobId=ref`, jobSpec(4))).body.name;
    const refDone = await finished(s.url, ref);
    assert.equal(refDone.state, 'JOB_STATE_COMPLETED', refDone.status.message);
    const name = (await call(s.url, 'POST', `${A}/reinforcementFineTuningJobs?reinforcementFineTuningJobId=victim`, jobSpec(4))).body.name;
    await readEvents(s.url, `/v1/${name}/metrics:stream`, (e, d) => e === 'metrics' && d.step >= 2);
    s.child.kill('SIGKILL');
    await new Promise((r) => s.child.once('exit', r));
    s = await startServerProcess(data);
    const done = await finished(s.url, name);
    assert.equal(done.state, 'JOB_STATE_COMPLETED', done.status.message);
    assert.equal(done.attempts, 2);
    const metrics = async (n: string) => comparable(((await call(s.url, 'GET', `/v1/${n}/metrics`)).body.metrics as any[]).map(({ step, ...m }) => ({ step, metrics: m })));
    assert.deepEqual(await metrics(name), await metrics(ref));
    const logs = (await call(s.url, 'GET', `/v1/${name}/logs`)).body.logs.map((l: any) => l.line);
    assert.ok(logs.some((l: string) => /server restarted/.test(l)));
  } finally {
    await s.stop();
  }
});

test('API keys: stored hashed, required once one exists, each key sees only its own account', async () => {
  const data = join(dir, 'auth');
  const mk = (account: string) => {
    const r = spawnSync(process.execPath, [CLI, 'server', 'keys', 'create', '--account', account, '--data', data, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).key as string;
  };
  const acme = mk('acme');
  const other = mk('other');
  const s = await startServerProcess(data);
  try {
    const auth = (k: string) => ({ authorization: `Bearer ${k}` });
    assert.equal((await call(s.url, 'GET', `${A}/datasets`)).status, 401);
    assert.equal((await call(s.url, 'GET', `${A}/datasets`, undefined, auth('rft_wrong'))).status, 401);
    assert.equal((await call(s.url, 'GET', `${A}/datasets`, undefined, auth(acme))).status, 200);
    const denied = await call(s.url, 'GET', `${A}/datasets`, undefined, auth(other));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.type, 'permission_error');
    assert.equal((await call(s.url, 'GET', '/health')).status, 200, '/health needs no key');
    assert.ok(!readFileSync(join(data, 'rft.db')).includes(Buffer.from(acme)));
  } finally {
    await s.stop();
  }
});

test('an upload over the size limit is refused with 413 and the server keeps serving', async () => {
  const s = await startServerProcess(join(dir, 'small'), ['--max-dataset-bytes', '200']);
  try {
    await call(s.url, 'POST', `${A}/datasets`, { datasetId: 'big' });
    const r = await call(s.url, 'POST', `${A}/datasets/big:upload`, rftRows(20));
    assert.equal(r.status, 413);
    assert.equal(r.body.error.code, 'too_large');
    assert.equal((await call(s.url, 'GET', '/health')).status, 200);
  } finally {
    await s.stop();
  }
});

test('evaluator :preview scores given responses on a dataset\'s rows; a bad request lists every problem', async () => {
  await call(srv.url, 'POST', `${A}/evaluators`, { evaluatorId: 'num', evaluator: { spec: 'numeric' } });
  // rows i: "Add i and i+1." with ground truth 2i+1
  const r = await call(srv.url, 'POST', `${A}/evaluators/num:preview`, { dataset: 'd1', responses: ['1', ['2', '3'], 'five'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.results.map((x: any) => [x.row, x.sample, x.score]), [[1, 0, 1], [2, 0, 0], [2, 1, 1], [3, 0, 0]]);
  assert.equal(r.body.summary.responses, 4);
  const bad = await call(srv.url, 'POST', `${A}/evaluators/num:preview`, { responses: [3] });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.error.details.map((d: any) => d.path).sort(), ['dataset', 'responses[0]']);
});

test('a data directory that cannot be written gives a 507 in the one error shape, and the server keeps serving', async () => {
  const data = join(dir, 'broken-disk');
  const s = await startServerProcess(data);
  try {
    await call(s.url, 'POST', `${A}/datasets`, { datasetId: 'x' });
    rmSync(join(data, 'tmp'), { recursive: true, force: true });
    writeFileSync(join(data, 'tmp'), 'not a directory');
    const r = await call(s.url, 'POST', `${A}/datasets/x:upload`, rftRows(2));
    assert.equal(r.status, 507);
    assert.equal(r.body.error.code, 'storage_error');
    assert.match(r.body.error.message, /cannot store the upload/);
    assert.equal((await call(s.url, 'GET', `${A}/datasets/x`)).body.state, 'UPLOADING', 'nothing half-written');
    assert.equal((await call(s.url, 'GET', '/health')).status, 200);
  } finally {
    await s.stop();
  }
});

test('without API keys the server refuses to listen beyond loopback, saying how to create a key', () => {
  const r = spawnSync(process.execPath, [CLI, 'server', '--host', '0.0.0.0', '--port', '0', '--data', join(dir, 'open')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without API keys: create one with `rft server keys create/);
});
