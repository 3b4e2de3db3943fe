import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadClients } from '../../bench/jobs.js';
import { call, rftRows, startServerProcess, tinyModel, tmp, VARIED_EVALUATOR } from '../jobs/test-helpers.js';

test('30 concurrent API clients (list, get, metrics, rollouts, SSE) while a job trains: no errors, every stream sees every step', async () => {
  const dir = tmp('rft-jobs-load-');
  const modelDir = tinyModel(dir);
  const s = await startServerProcess(join(dir, 'data'));
  try {
    const A = '/v1/accounts/load';
    await call(s.url, 'POST', `${A}/datasets`, { datasetId: 'd' });
    await call(s.url, 'POST', `${A}/datasets/d:upload`, rftRows(8));
    await call(s.url, 'POST', `${A}/evaluators`, { evaluatorId: 'v', evaluator: { module: { code: VARIED_EVALUATOR(20), language: 'js' } } });
    const job = (await call(s.url, 'POST', `${A}/reinforcementFineTuningJobs`, {
      dataset: 'd', evaluator: 'v', earlyStopZeroVarianceSteps: 0,
      trainingConfig: { baseModel: modelDir, steps: 4, batchSize: 2, loraRank: 2 }, inferenceParameters: { maxOutputTokens: 6, responseCandidatesCount: 3 },
    })).body.name;
    let done = false;
    const poll = (async () => {
      for (;;) {
        const j = (await call(s.url, 'GET', `/v1/${job}`)).body;
        if (j.state === 'JOB_STATE_COMPLETED' || j.state === 'JOB_STATE_FAILED') return j;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const report = loadClients(s.url, 'load', job, { clients: 30, sse: 6, intervalMs: 20, done: () => done });
    const final = await poll;
    done = true;
    const r = await report;
    assert.equal(final.state, 'JOB_STATE_COMPLETED', final.status.message);
    assert.equal(r.errors, 0, r.errorSamples.join('\n'));
    assert.ok(r.requests > 30);
    assert.equal(r.sseMinSteps, 4, 'every SSE client saw the metrics of all 4 steps');
  } finally {
    await s.stop();
  }
});
