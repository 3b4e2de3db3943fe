import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { JobStore } from './store.js';
import { JobsError } from './errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rft-store-'));
const row = (q: string) => JSON.stringify({ messages: [{ role: 'user', content: q }], ground_truth: '1' });
const body = (text: string) => Readable.from([Buffer.from(text)]);

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<JobsError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof JobsError, `expected a JobsError, got ${e}`);
    return e;
  }
  assert.fail('expected an error');
}

test('dataset upload: validated, content-addressed, shared by equal uploads, file removed with the last user', async () => {
  const dir = tmp();
  const s = new JobStore(dir);
  s.createDataset('acme', 'd1');
  s.createDataset('acme', 'd2', { displayName: 'Second' });
  const text = `${row('a')}\n${row('b')}\n`;
  const { dataset } = await s.uploadDataset('accounts/acme/datasets/d1', body(text));
  assert.equal(dataset.state, 'READY');
  assert.equal(dataset.exampleCount, 2);
  assert.equal(dataset.sizeBytes, Buffer.byteLength(text));
  const file = s.datasetPath(dataset);
  assert.equal(readFileSync(file, 'utf8'), text);
  assert.match(file, new RegExp(`${dataset.sha256}\\.jsonl$`));
  await s.uploadDataset('accounts/acme/datasets/d2', body(text));
  assert.equal(readdirSync(join(dir, 'datasets')).length, 1, 'one file for two datasets with the same contents');
  s.deleteDataset('accounts/acme/datasets/d1');
  assert.ok(existsSync(file), 'still used by d2');
  s.deleteDataset('accounts/acme/datasets/d2');
  assert.ok(!existsSync(file));
  assert.equal((await rejection(() => s.getDataset('accounts/acme/datasets/d1'))).status, 404);
});

test('a bad upload is refused with every problem and its line; nothing is stored', async () => {
  const dir = tmp();
  const s = new JobStore(dir);
  s.createDataset('acme', 'd1');
  const e = await rejection(s.uploadDataset('accounts/acme/datasets/d1', body(`${row('a')}\nnot json\n{"messages":[]}\n{"messages":"x"}\n`)));
  assert.equal(e.status, 400);
  assert.deepEqual(e.issues!.map((i) => i.path.split(' ').slice(0, 2).join(' ')), ['line 2', 'line 3', 'line 4']);
  assert.equal(s.getDataset('accounts/acme/datasets/d1').state, 'UPLOADING');
  assert.deepEqual(readdirSync(join(dir, 'datasets')), []);
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'the temporary upload is gone');
});

test('an upload over the size limit is cut off with 413 and leaves nothing behind', async () => {
  const dir = tmp();
  const s = new JobStore(dir, { maxDatasetBytes: 100 });
  s.createDataset('acme', 'd1');
  const e = await rejection(s.uploadDataset('accounts/acme/datasets/d1', Readable.from(Array.from({ length: 10 }, () => Buffer.from(row('abc') + '\n')))));
  assert.equal(e.status, 413);
  assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  assert.equal(s.getDataset('accounts/acme/datasets/d1').state, 'UPLOADING');
});

test('evaluators are versioned; name@N reads a version; ids are checked', async () => {
  const s = new JobStore(tmp());
  s.addEvaluatorVersion('acme', 'e1', { spec: 'numeric', source: 'builtin' }, true);
  assert.equal((await rejection(() => s.addEvaluatorVersion('acme', 'e1', { spec: 'numeric' }, true))).status, 409);
  const v2 = s.addEvaluatorVersion('acme', 'e1', { module: { code: 'export default () => 1;', extension: '.js' } }, false);
  assert.equal(v2.version, 2);
  assert.equal(v2.source, 'module');
  assert.ok(existsSync(JSON.parse(v2.spec).path));
  assert.equal(s.getEvaluator('accounts/acme/evaluators/e1').version, 2);
  assert.equal(s.getEvaluator('accounts/acme/evaluators/e1@1').spec, 'numeric');
  assert.equal(s.listEvaluators('acme').items.length, 1, 'listed once, at its latest version');
  assert.equal((await rejection(() => s.addEvaluatorVersion('acme', 'Bad_Id', { spec: 'numeric' }, true))).status, 400);
});

test('the job state machine refuses changes it does not allow', async () => {
  const s = new JobStore(tmp());
  const j = s.createJob({ account: 'acme', id: 'j1', kind: 'rft', spec: {}, options: {}, resolved: {} });
  assert.equal(j.name, 'accounts/acme/reinforcementFineTuningJobs/j1');
  assert.equal(j.state, 'JOB_STATE_PENDING');
  s.transition(j.name, 'JOB_STATE_VALIDATING');
  s.transition(j.name, 'JOB_STATE_RUNNING');
  s.transition(j.name, 'JOB_STATE_PAUSED');
  assert.equal((await rejection(() => s.transition(j.name, 'JOB_STATE_COMPLETED'))).status, 409);
  s.transition(j.name, 'JOB_STATE_CANCELLED');
  assert.match((await rejection(() => s.transition(j.name, 'JOB_STATE_PENDING'))).message, /is JOB_STATE_CANCELLED; it cannot become JOB_STATE_PENDING/);
  assert.equal((await rejection(() => s.createJob({ account: 'acme', id: 'j1', kind: 'rft', spec: {}, options: {}, resolved: {} }))).status, 409);
});

test('a step is recorded with its rollouts in one transaction: a failure writes neither', async () => {
  const s = new JobStore(tmp());
  const j = s.createJob({ account: 'acme', id: 'j1', kind: 'rft', spec: {}, options: {}, resolved: {} });
  const r = (i: number, score: number) => ({ index: i, group: Math.floor(i / 2), score, valid: true, reason: `r${i}`, prompt: [], messages: [], metrics: null, finishReason: 'stop' });
  s.recordStep(j.name, 1, { reward_mean: 0.5 }, [r(0, 0), r(1, 1), r(2, 0.25), r(3, 0.75)]);
  assert.throws(() => s.recordStep(j.name, 2, { reward_mean: 1 }, [r(0, 1), { ...r(1, 1), prompt: 10n }]));
  assert.deepEqual(s.metrics(j.name).map((m) => m.step), [1]);
  assert.equal(s.rollouts(j.name, { step: 2 }).totalSize, 0);
  assert.equal(s.getJob(j.name).step, 1);
  const best = s.rollouts(j.name, { orderBy: 'score desc', limit: 2 });
  assert.deepEqual(best.items.map((x) => x.score), [1, 0.75]);
  assert.ok(best.nextPageToken);
  assert.deepEqual(s.rollouts(j.name, { minScore: 0.2, maxScore: 0.8, orderBy: 'score' }).items.map((x) => x.index), [2, 3]);
  s.recordStep(j.name, 2, { reward_mean: 1 });
  s.truncateAfter(j.name, 1);
  assert.deepEqual(s.metrics(j.name).map((m) => m.step), [1]);
});

test('lists page, filter and sort; a bad filter, orderBy or pageToken is a 400 naming the parameter', async () => {
  const s = new JobStore(tmp());
  for (let i = 0; i < 5; i++) s.createJob({ account: 'acme', id: `j${i}`, kind: 'rft', spec: { displayName: `job ${i}` }, options: {}, resolved: {} });
  s.createJob({ account: 'other', id: 'x', kind: 'rft', spec: {}, options: {}, resolved: {} });
  s.transition('accounts/acme/reinforcementFineTuningJobs/j3', 'JOB_STATE_CANCELLED');
  const p1 = s.listJobs('acme', 'rft', { pageSize: 2 });
  assert.deepEqual(p1.items.map((j) => j.id), ['j4', 'j3'], 'newest first');
  assert.equal(p1.totalSize, 5);
  const p2 = s.listJobs('acme', 'rft', { pageSize: 2, pageToken: p1.nextPageToken });
  const p3 = s.listJobs('acme', 'rft', { pageSize: 2, pageToken: p2.nextPageToken });
  assert.deepEqual([...p2.items, ...p3.items].map((j) => j.id), ['j2', 'j1', 'j0']);
  assert.equal(p3.nextPageToken, '');
  assert.deepEqual(s.listJobs('acme', 'rft', { filter: 'state = "JOB_STATE_CANCELLED"' }).items.map((j) => j.id), ['j3']);
  assert.deepEqual(s.listJobs('acme', 'rft', { orderBy: 'name asc', pageSize: 1 }).items.map((j) => j.id), ['j0']);
  assert.equal(s.listJobs('acme', 'sft').totalSize, 0);
  assert.equal((await rejection(() => s.listJobs('acme', 'rft', { filter: 'secret = 1' }))).param, 'filter');
  assert.equal((await rejection(() => s.listJobs('acme', 'rft', { orderBy: 'spec; DROP TABLE jobs' }))).param, 'orderBy');
  assert.equal((await rejection(() => s.listJobs('acme', 'rft', { pageToken: 'garbage' }))).param, 'pageToken');
});

test('API keys are stored hashed and name their account', () => {
  const dir = tmp();
  const s = new JobStore(dir);
  const { key } = s.createApiKey('acme');
  assert.equal(s.accountOfKey(key), 'acme');
  assert.equal(s.accountOfKey(key + 'x'), undefined);
  s.close();
  assert.ok(!readFileSync(join(dir, 'rft.db')).includes(Buffer.from(key)), 'the key itself is not in the database');
});

test('an unwritable data directory is a clear error at open', { skip: process.getuid?.() === 0 ? 'running as root: permissions do not apply' : false }, () => {
  const dir = tmp();
  chmodSync(dir, 0o500);
  assert.throws(() => new JobStore(join(dir, 'data')), /cannot open the data directory .*data/);
  chmodSync(dir, 0o700);
});
