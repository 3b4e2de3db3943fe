/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by
 * playwright-core creates a job through the form, watches it reach COMPLETED, opens a rollout,
 * deploys, chats in the playground, compares two runs, and saves screenshots
 * (RFT_SCREENSHOTS=DIR keeps them, e.g. docs/dashboard). Skipped, saying so, without a browser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, rftRows, startServerProcess, tinyModel, tmp, VARIED_EVALUATOR } from '../jobs/test-helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROMIUM_PATH].find((p) => p && existsSync(p));

test('dashboard: create a job through the form, watch it complete, open a rollout, deploy, chat, compare runs', { skip: CHROMIUM ? false : 'no Chromium found (apt-get install chromium, or set CHROMIUM_PATH): the browser tests were skipped', timeout: 180_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const dir = tmp('rft-dashboard-');
  const shots = process.env.RFT_SCREENSHOTS ?? join(dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  const modelDir = tinyModel(dir);
  writeFileSync(join(dir, 'train.jsonl'), rftRows(8));
  const s = await startServerProcess(join(dir, 'data'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const A = '/v1/accounts/default';
    assert.equal((await call(s.url, 'POST', `${A}/evaluators`, { evaluatorId: 'varied', evaluator: { module: { code: VARIED_EVALUATOR(0), language: 'js' } } })).status, 200);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${s.url}/`);
    assert.match(page.url(), /\/dashboard\/$/, '/ redirects to the dashboard');
    await page.goto(`${s.url}/dashboard/#/new`);
    await page.setInputFiles('#file', join(dir, 'train.jsonl'));
    await page.click('#upload');
    await page.waitForSelector('#report.good');
    assert.match(await page.textContent('#report') ?? '', /8 rows, all valid/);
    await page.selectOption('#evaluator', 'accounts/default/evaluators/varied');
    await page.fill('#responses', 'one\ntwo words');
    await page.click('#preview-btn');
    await page.waitForSelector('#preview table');
    await page.fill('#jobId', 'dash');
    await page.fill('#baseModel', modelDir);
    for (const [id, v] of [['steps', '3'], ['batchSize', '2'], ['responseCandidatesCount', '3'], ['maxOutputTokens', '6'], ['loraRank', '2'], ['checkpointEvery', '1'], ['learningRate', '0.05']])
      await page.fill(`#${id}`, v);
    await page.screenshot({ path: join(shots, 'new-job.png'), fullPage: true });
    await page.click('#launch');
    await page.waitForURL(/#\/job\/accounts\/default\/reinforcementFineTuningJobs\/dash$/);
    await page.waitForFunction("document.querySelector('#job-state')?.textContent === 'COMPLETED'", undefined, { timeout: 90_000 });
    await page.waitForSelector('#rollout-table tr.rollout');
    await page.click('#rollout-table tr.rollout');
    await page.waitForSelector('#detail .msg.assistant');
    assert.match(await page.textContent('#detail') ?? '', /score/);
    assert.ok(await page.isVisible('[data-chart="reward"] canvas'), 'the reward curve is drawn');
    await page.screenshot({ path: join(shots, 'job.png'), fullPage: true });

    await page.click('#deploy');
    await page.waitForSelector('#deployed-model');
    assert.equal(await page.textContent('#deployed-model'), 'accounts/default/models/dash');
    await page.fill('#chat-input', 'Add 1 and 2.');
    await page.click('#chat-send');
    await page.waitForSelector('#chat .reply');
    await page.screenshot({ path: join(shots, 'playground.png'), fullPage: true });

    // a second run to compare with
    const second = await call(s.url, 'POST', `${A}/reinforcementFineTuningJobs?reinforcementFineTuningJobId=dash2`, {
      dataset: (await call(s.url, 'GET', `${A}/datasets`)).body.datasets[0].name, evaluator: 'varied', earlyStopZeroVarianceSteps: 0,
      trainingConfig: { baseModel: modelDir, steps: 2, batchSize: 2, loraRank: 2, learningRate: 0.1 }, inferenceParameters: { maxOutputTokens: 6, responseCandidatesCount: 3 },
    });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    await page.goto(`${s.url}/dashboard/#/`);
    await page.waitForFunction("document.querySelectorAll('#jobs tbody tr[data-name]').length === 2");
    await page.waitForFunction("[...document.querySelectorAll('#jobs .state')].every((e) => e.textContent === 'COMPLETED')", undefined, { timeout: 60_000 });
    await page.screenshot({ path: join(shots, 'jobs.png'), fullPage: true });
    await page.goto(`${s.url}/dashboard/#/compare/accounts/default/reinforcementFineTuningJobs/dash|accounts/default/reinforcementFineTuningJobs/dash2`);
    await page.waitForSelector('#config-diff td.changed');
    const changed = await page.$$eval('#config-diff tr', (rows) => rows.filter((r) => r.querySelector('td.changed')).map((r) => r.querySelector('td')!.textContent));
    assert.ok(changed.includes('trainingConfig.steps') && changed.includes('trainingConfig.learningRate'), `changed fields: ${changed}`);
    await page.screenshot({ path: join(shots, 'compare.png'), fullPage: true });
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await browser.close();
    await s.stop();
  }
});
