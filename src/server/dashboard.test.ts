/**
 * The dashboard in a real browser: `rft server` runs as its own process on 127.0.0.1 with a temp
 * data dir and a tiny model, and headless Chromium (playwright-core, the Debian `chromium`
 * binary) drives the UI as a user would: upload a dataset and read its validation report,
 * create and preview an evaluator, launch a job through the form, watch it reach COMPLETED,
 * open a rollout, deploy, chat in the playground, compare two runs, and enter an API key on a
 * server that wants one. Each value the page shows is checked against the REST API or an
 * independent computation. Screenshots go to a temp dir (RFT_SCREENSHOTS=DIR keeps them, e.g.
 * docs/ for the README). Without a Chromium binary the browser tests are skipped, saying why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { call, CLI, rftRows, sftRows, startServerProcess, tinyModel, tmp, VARIED_EVALUATOR, type ServerProcess } from '../jobs/test-helpers.js';

// the page's own globals, inside page.waitForFunction callbacks (the project compiles without the DOM lib)
declare const document: any;

/** A Chromium binary: RFT_CHROMIUM, else the first of the usual names on PATH. */
function findChromium(): string | undefined {
  if (process.env.RFT_CHROMIUM) return existsSync(process.env.RFT_CHROMIUM) ? process.env.RFT_CHROMIUM : undefined;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    const p = r.stdout.trim();
    if (r.status === 0 && p && existsSync(p)) return p;
  }
  return undefined;
}

const chromium = findChromium();
const skip = chromium ? false : 'no Chromium found (install the Debian package `chromium`, or set RFT_CHROMIUM=/path/to/chrome): the dashboard browser tests are skipped';
if (skip) process.stderr.write(`dashboard.test: SKIPPED — ${skip}\n`);

const dir = tmp('rft-dashboard-');
const shots = process.env.RFT_SCREENSHOTS ?? join(dir, 'screenshots');
// screenshots for the README (RFT_SCREENSHOTS set) train longer so that the curves show a shape
const STEPS = process.env.RFT_SCREENSHOTS ? 16 : 3;
mkdirSync(shots, { recursive: true });
let srv: ServerProcess;
let browser: import('playwright-core').Browser | undefined;
let modelDir: string;

before(async () => {
  modelDir = tinyModel(dir);
  srv = await startServerProcess(join(dir, 'data'));
  if (chromium) {
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  }
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

test('the dashboard is served from the package: / redirects, index, modules and uPlot from node_modules, nothing outside its folder', async () => {
  const root = await fetch(`${srv.url}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/dashboard/');
  const index = await fetch(`${srv.url}/dashboard/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type')!, /text\/html/);
  const html = await index.text();
  assert.doesNotMatch(html, /https?:\/\//, 'no CDN or other remote asset');
  for (const src of [...html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]!)) {
    const r = await fetch(srv.url + src);
    assert.equal(r.status, 200, src);
    assert.ok((await r.arrayBuffer()).byteLength > 0, src);
  }
  const uplot = await (await fetch(`${srv.url}/dashboard/vendor/uPlot.iife.min.js`)).text();
  assert.match(uplot, /uPlot/);
  const main = await fetch(`${srv.url}/dashboard/js/main.js`);
  assert.match(main.headers.get('content-type')!, /javascript/);
  // an encoded ../ cannot leave the dashboard folder
  assert.equal((await fetch(`${srv.url}/dashboard/%2e%2e%2f%2e%2e%2fpackage.json`)).status, 404);
  assert.equal((await fetch(`${srv.url}/dashboard/vendor/package.json`)).status, 404);
  assert.equal((await fetch(`${srv.url}/dashboard/`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${srv.url}/dashboard/js/nope.js`)).status, 404);
});

/** A full-page screenshot from the top (so the sticky header sits where it belongs). */
async function shot(page: import('playwright-core').Page, file: string): Promise<void> {
  await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
  await page.screenshot({ path: join(shots, file), fullPage: true });
}

/** Waits until the job's header shows a terminal state; returns it. */
async function terminalState(page: import('playwright-core').Page): Promise<string> {
  await page.waitForFunction(() => /COMPLETED|FAILED|CANCELLED|EARLY_STOPPED/.test(document.getElementById('job-head')?.dataset.state ?? ''), undefined, { timeout: 120_000 });
  return (await page.getAttribute('#job-head', 'data-state'))!;
}

test('create a job through the form, watch it complete with live curves, open a rollout, deploy, chat in the playground, compare runs', { skip, timeout: 300_000 }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1360, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${srv.url}/`);
  await page.fill('#account', 'acme');
  await page.press('#account', 'Enter');
  await page.waitForSelector('#jobs >> text=No jobs yet');

  await page.click('text=New job');
  // a malformed upload is refused with each bad line
  const badFile = join(dir, 'bad.jsonl');
  writeFileSync(badFile, `${rftRows(1)}{"messages": 3}\nnot json\n`);
  await page.setInputFiles('#dataset-file', badFile);
  await page.fill('#dataset-id', 'broken');
  await page.click('#upload');
  await page.waitForSelector('#dataset-report .issues li');
  const issues = await page.locator('#dataset-report .issues li').allTextContents();
  assert.ok(issues.some((t) => /line 2/.test(t)) && issues.some((t) => /line 3/.test(t)), `every bad line is shown: ${issues.join(' | ')}`);

  const good = join(dir, 'add.jsonl');
  writeFileSync(good, rftRows(10));
  await page.setInputFiles('#dataset-file', good);
  await page.fill('#dataset-id', 'add');
  await page.click('#upload');
  await page.waitForSelector('#dataset-report .ok');
  assert.match(await page.textContent('#dataset-report') as string, /accounts\/acme\/datasets\/add: 10 of 10 rows valid/);
  await page.waitForSelector('#dataset-rows pre');
  assert.match(await page.textContent('#dataset-rows') as string, /first 3 of 10 rows/);

  // a bad evaluator spec is refused with its path, and nothing is created
  await page.click('text=Create an evaluator');
  await page.fill('#evaluator-id', 'broken');
  await page.fill('#evaluator-spec', '{"type": "no-such-evaluator"}');
  await page.click('#create-evaluator');
  await page.waitForSelector('#evaluator-report .error');
  assert.match(await page.textContent('#evaluator-report') as string, /no-such-evaluator/);
  assert.equal((await call(srv.url, 'GET', '/v1/accounts/acme/evaluators')).body.evaluators.length, 0);

  // an evaluator module, created and previewed: score = (length mod 4) / 3, computed here independently
  await page.fill('#evaluator-id', 'varied');
  await page.selectOption('#evaluator-kind', 'js');
  // slow enough (per rollout) that the job page sees the steps arrive one by one
  await page.fill('#evaluator-spec', VARIED_EVALUATOR(150));
  await page.click('#create-evaluator');
  await page.waitForSelector('#evaluator-report .ok');
  assert.equal(await page.inputValue('#evaluator'), 'accounts/acme/evaluators/varied');
  const responses = ['abc', 'abcd', 'ab'];
  await page.fill('#preview-responses', responses.join('\n'));
  await page.click('#preview');
  await page.waitForSelector('#preview-result table');
  const scores = await page.locator('#preview-result tbody tr td:nth-child(3)').allTextContents();
  assert.deepEqual(scores.map(Number), responses.map((r) => (r.length % 4) / 3).map((s) => Number(s.toFixed(3))));
  // a built-in previews by its name: row 1's answer is 1, row 2's is 3
  await page.selectOption('#evaluator', 'exact');
  await page.fill('#preview-responses', '<answer>1</answer>\n<answer>4</answer>');
  await page.click('#preview');
  await page.waitForSelector('#preview-result table');
  const exact = (await page.locator('#preview-result tbody tr td:nth-child(3)').allTextContents()).map(Number);
  assert.equal(exact[0], 1);
  assert.ok(exact[1]! < 1, `a wrong answer scores below 1 (${exact[1]})`);
  await page.selectOption('#evaluator', 'accounts/acme/evaluators/varied');

  // a spec with a problem is refused with its path, and nothing is created
  await page.fill('#steps', String(STEPS));
  await page.click('#launch');
  await page.waitForSelector('#launch-result .issues');
  assert.match(await page.textContent('#launch-result') as string, /trainingConfig\.baseModel/);

  await page.fill('#job-id', 'ui1');
  await page.fill('#base-model', modelDir);
  await page.fill('#batch-size', '2');
  await page.fill('#learning-rate', '0.05');
  await page.fill('#lora-rank', '2');
  await page.fill('#checkpoint-every', '1');
  await page.fill('#max-output-tokens', '6');
  await page.fill('#candidates', '3');
  await page.check('#eval-carveout');
  await page.fill('#extra-config', '{"evalSamples": 2, "evalEvery": 1}');
  await shot(page, 'new-job.png');
  await page.click('#launch');
  await page.waitForURL(/#\/job\/reinforcementFineTuningJobs\/ui1/);
  const name = 'accounts/acme/reinforcementFineTuningJobs/ui1';
  // record every point count the reward chart shows, to see it grow while the job runs
  await page.evaluate(() => {
    const w = globalThis as any;
    w.seenPoints = [];
    w.seenTimer = setInterval(() => {
      const n = document.querySelector('#curves [data-chart="reward"]')?.dataset.points;
      if (n !== undefined && w.seenPoints.at(-1) !== n) w.seenPoints.push(n);
    }, 10);
  });
  assert.equal(await terminalState(page), 'JOB_STATE_COMPLETED');
  await page.waitForSelector(`[data-chart="reward"][data-points="${STEPS}"]`);
  const seen: string[] = await page.evaluate(() => (globalThis as any).seenPoints);
  assert.ok(seen.map(Number).some((n) => n > 0 && n < STEPS), `the curves grew over SSE while the job ran (point counts seen: ${seen.join(', ')})`);

  // the live curves hold every step the API has
  const metrics = (await call(srv.url, 'GET', `/v1/${name}/metrics`)).body.metrics;
  assert.equal(metrics.length, STEPS);
  for (const title of ['KL', 'entropy', 'clip fractions', 'completion length', 'zero-variance / invalid / truncated fractions', 'time split (s per step)'])
    assert.equal(await page.getAttribute(`#curves [data-chart="${title}"]`, 'data-points'), String(STEPS), title);
  assert.ok(await page.locator('#curves [data-chart="reward"] .u-legend').textContent().then((t) => /reward\/parity/.test(t!)), 'each reward component has a curve');
  const evals = (await call(srv.url, 'GET', `/v1/${name}/evaluations`)).body.evaluations;
  assert.ok(evals.length >= 2);
  await page.waitForSelector(`#heldout [data-points="${evals.length}"]`);
  await shot(page, 'job.png');

  // rollouts of the last step, best first; the detail view shows what the API stored
  await page.click('[data-tab="rollouts"]');
  await page.selectOption('#rollout-order', 'score desc');
  await page.waitForFunction(() => document.querySelectorAll('#rollouts tbody tr.click').length === 6);
  const api = (await call(srv.url, 'GET', `/v1/${name}/rollouts?step=${STEPS}&orderBy=score%20desc`)).body.rollouts;
  assert.equal(api.length, 6, '2 prompts × 3 candidates');
  await page.click('#rollouts tbody tr.click >> nth=0');
  await page.waitForSelector('#conversation .msg.assistant');
  assert.equal(Number(await page.textContent('#detail-score')), Number(api[0].score.toFixed(3)));
  assert.equal(await page.textContent('#detail-reason'), api[0].reason);
  const assistant = api[0].messages.at(-1).content as string;
  assert.deepEqual(await page.locator('#conversation .msg.assistant .content').allTextContents(), assistant ? [assistant] : []);
  assert.match(await page.textContent('#conversation .msg.user') as string, /Add \d+ and \d+\./);

  await page.click('[data-tab="logs"]');
  const logLines = (await call(srv.url, 'GET', `/v1/${name}/logs`)).body.logs;
  assert.ok(logLines.length > 0);
  await page.waitForFunction((n: number) => document.querySelectorAll('#logs div').length === n, logLines.length);
  assert.equal(await page.textContent('#logs div >> nth=-1'), `${logLines.at(-1).time.slice(11, 19)} ${logLines.at(-1).line}`);
  await page.click('[data-tab="checkpoints"]');
  await page.waitForSelector('#checkpoints >> text=PEFT_ADAPTER');
  // the adapter downloads through fetch (so a key would go along): the same bytes as the API's tar
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#checkpoints tr:has-text("PEFT_ADAPTER") button')]);
  const tar = Buffer.from(await (await fetch(`${srv.url}/v1/${name}/checkpoints/final:download`)).arrayBuffer());
  assert.ok(tar.length > 1024);
  assert.deepEqual(readFileSync((await dl.path())!), tar);
  assert.equal(dl.suggestedFilename(), 'ui1-final.tar');

  // deploy, then chat: the reply must be what the OpenAI API itself answers (greedy)
  await page.click('#deploy');
  await page.waitForSelector('#deployment');
  assert.match(await page.textContent('#deployment') as string, /accounts\/acme\/models\/ui1/);
  assert.equal(await page.isDisabled('#deploy'), true, 'Deploy is off while the job is deployed');
  await page.click('#open-playground');
  await page.waitForSelector('#model');
  assert.equal(await page.inputValue('#model'), 'accounts/acme/models/ui1');
  await page.fill('#max-tokens', '8');
  await page.fill('#prompt', 'Add 2 and 3.');
  await page.press('#prompt', 'Control+Enter');
  await page.waitForFunction(() => document.getElementById('chat')?.dataset.turns === '1');
  const shown = (await page.locator('#chat .msg.assistant .content').allTextContents()).join('');
  const openai = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const ref = await openai.chat.completions.create({ model: 'accounts/acme/models/ui1', messages: [{ role: 'user', content: 'Add 2 and 3.' }], max_tokens: 8, temperature: 0 });
  assert.equal(shown, ref.choices[0]!.message.content ?? '');
  assert.equal(await page.getAttribute('#chat', 'data-finish'), ref.choices[0]!.finish_reason);
  await shot(page, 'playground.png');

  // a second run with another learning rate, through the API; compare shows both and the diff
  const spec = (await call(srv.url, 'GET', `/v1/${name}`)).body;
  const second = await call(srv.url, 'POST', '/v1/accounts/acme/reinforcementFineTuningJobs?reinforcementFineTuningJobId=ui2', {
    dataset: spec.dataset, evaluator: spec.evaluator, evalAutoCarveout: true, trainingConfig: { ...spec.trainingConfig, learningRate: 0.01, steps: 2 }, inferenceParameters: spec.inferenceParameters, lossConfig: spec.lossConfig,
  });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  await page.goto(`${srv.url}/dashboard/#/job/reinforcementFineTuningJobs/ui2`);
  assert.equal(await terminalState(page), 'JOB_STATE_COMPLETED');
  await page.click('text=Jobs');
  await page.waitForSelector('#jobs tr[data-job$="/ui2"] >> text=COMPLETED');
  const listed = await page.locator('#jobs tbody tr').count();
  assert.equal(listed, 2);
  const rewardCell = await page.textContent('#jobs tr[data-job$="/ui1"] td:nth-child(6)');
  assert.equal(Number(rewardCell), Number(metrics.at(-1).reward_mean.toFixed(3)), 'the list shows the last step\'s reward');
  await shot(page, 'jobs.png');
  await page.check('#jobs tr[data-job$="/ui1"] input[type=checkbox]');
  await page.check('#jobs tr[data-job$="/ui2"] input[type=checkbox]');
  await page.click('text=Compare selected');
  await page.waitForSelector('#config-diff');
  const diff = await page.locator('#config-diff tbody tr').evaluateAll((rows: any[]) => rows.map((r) => [...r.querySelectorAll('td')].map((td: any) => td.textContent as string)));
  const fields = diff.map((r) => r[0]);
  assert.ok(fields.includes('trainingConfig.learningRate') && fields.includes('trainingConfig.steps'), `differences: ${fields.join(', ')}`);
  assert.ok(!fields.includes('dataset'), 'identical fields are hidden');
  assert.deepEqual(diff.find((r) => r[0] === 'trainingConfig.learningRate')!.slice(1), ['0.05', '0.01']);
  const rewardChart = page.locator('#compare-curves [data-chart="reward_mean"]');
  assert.equal(await rewardChart.getAttribute('data-points'), String(STEPS), 'overlaid on the union of steps');
  assert.ok(await page.locator('#compare-heldout [data-chart="held-out pass1"]').count(), 'held-out curves are compared too');
  await shot(page, 'compare.png');

  // the job page knows its deployment; Undeploy takes the model off the OpenAI routes
  await page.goto(`${srv.url}/dashboard/#/job/reinforcementFineTuningJobs/ui1`);
  await page.waitForSelector('#deployment');
  await page.click('#deployment button:has-text("Undeploy")');
  await page.waitForSelector('#job-message:has-text("undeployed")');
  assert.deepEqual((await openai.models.list()).data, []);
  assert.equal(await page.isDisabled('#deploy'), false);
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  await page.close();
});

test('an SFT job through the form (loss curve), then an RFT job warm-started from it; pause and resume from the job page', { skip, timeout: 240_000 }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1360, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${srv.url}/dashboard/#/new`);
  await page.fill('#account', 'stages');
  await page.press('#account', 'Enter');
  await page.waitForSelector('#job-kind');
  await page.selectOption('#job-kind', 'sft');
  assert.equal(await page.isVisible('#evaluator'), false, 'an SFT job has no evaluator section');
  assert.equal(await page.isVisible('#steps'), false);
  const f = join(dir, 'sft.jsonl');
  writeFileSync(f, sftRows(8));
  await page.setInputFiles('#dataset-file', f);
  await page.fill('#dataset-id', 'sft');
  await page.selectOption('#dataset-format', 'SFT');
  await page.click('#upload');
  await page.waitForSelector('#dataset-report .ok');
  await page.fill('#job-id', 's1');
  await page.fill('#base-model', modelDir);
  await page.fill('#epochs', '2');
  await page.fill('#batch-size', '4');
  await page.fill('#learning-rate', '0.01');
  await page.fill('#lora-rank', '2');
  await page.click('#launch');
  await page.waitForURL(/#\/job\/supervisedFineTuningJobs\/s1/);
  assert.equal(await terminalState(page), 'JOB_STATE_COMPLETED');
  const sftName = 'accounts/stages/supervisedFineTuningJobs/s1';
  const sftMetrics = (await call(srv.url, 'GET', `/v1/${sftName}/metrics`)).body.metrics;
  assert.equal(sftMetrics.length, 4, '8 rows × 2 epochs / batches of 4');
  await page.waitForSelector(`#curves [data-chart="loss and grad norm"][data-points="4"]`);

  // stage 2: RFT on top of the SFT adapter, paused and resumed from its page
  await page.click('text=New job');
  await page.waitForSelector('#warm-start option[value$="/s1"]', { state: 'attached' });
  await page.selectOption('#warm-start', sftName);
  await page.setInputFiles('#dataset-file', (writeFileSync(join(dir, 'rft.jsonl'), rftRows(6)), join(dir, 'rft.jsonl')));
  await page.fill('#dataset-id', 'prompts');
  await page.click('#upload');
  await page.waitForSelector('#dataset-report .ok');
  await page.click('text=Create an evaluator');
  await page.fill('#evaluator-id', 'slow');
  await page.selectOption('#evaluator-kind', 'js');
  await page.fill('#evaluator-spec', VARIED_EVALUATOR(250));
  await page.click('#create-evaluator');
  await page.waitForSelector('#evaluator-report .ok');
  await page.fill('#job-id', 'r1');
  await page.fill('#base-model', modelDir);
  await page.fill('#steps', '6');
  await page.fill('#batch-size', '2');
  await page.fill('#lora-rank', '2');
  await page.fill('#checkpoint-every', '1');
  await page.fill('#max-output-tokens', '6');
  await page.fill('#candidates', '3');
  await page.fill('#early-stop', '0');
  await page.click('#launch');
  await page.waitForURL(/#\/job\/reinforcementFineTuningJobs\/r1/);
  const name = 'accounts/stages/reinforcementFineTuningJobs/r1';
  assert.equal((await call(srv.url, 'GET', `/v1/${name}`)).body.trainingConfig.warmStartFrom, sftName);
  await page.waitForSelector('#pause', { timeout: 60_000 });
  await page.waitForFunction(() => Number(document.querySelector('#curves [data-chart="reward"]')?.dataset.points ?? 0) >= 1, undefined, { timeout: 60_000 });
  await page.click('#pause');
  await page.waitForFunction(() => document.getElementById('job-head')?.dataset.state === 'JOB_STATE_PAUSED', undefined, { timeout: 60_000 });
  const pausedAt = (await call(srv.url, 'GET', `/v1/${name}`)).body.jobProgress.step;
  assert.ok(pausedAt >= 1 && pausedAt < 6, `paused mid-run (step ${pausedAt})`);
  await page.click('#resume');
  assert.equal(await terminalState(page), 'JOB_STATE_COMPLETED');
  // the curves followed the job again after the resume
  await page.waitForSelector('#curves [data-chart="reward"][data-points="6"]');
  const steps = (await call(srv.url, 'GET', `/v1/${name}/metrics`)).body.metrics.map((m: any) => m.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6], 'every step once, across the pause');
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test('a server that requires API keys: the dashboard asks for one, refuses a wrong one, and acts for the key\'s account', { skip, timeout: 120_000 }, async () => {
  const data = join(dir, 'keyed');
  const made = spawnSync(process.execPath, [CLI, 'server', 'keys', 'create', '--account', 'team', '--data', data, '--json'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const { key } = JSON.parse(made.stdout);
  const keyed = await startServerProcess(data);
  try {
    const page = await browser!.newPage();
    await page.goto(`${keyed.url}/`);
    await page.waitForSelector('#auth:not([hidden])');
    await page.fill('#auth-key', 'wrong-key');
    await page.click('#auth-form button');
    await page.waitForSelector('#auth-error:has-text("incorrect API key")');
    await page.fill('#auth-key', key);
    await page.click('#auth-form button');
    await page.waitForSelector('#auth', { state: 'hidden' });
    assert.equal(await page.inputValue('#account'), 'team');
    await page.waitForSelector('#jobs >> text=No jobs yet');
    // the key went along as Bearer: a dataset created in the UI belongs to the key's account
    await page.click('text=New job');
    const f = join(dir, 'keyed.jsonl');
    writeFileSync(f, rftRows(3));
    await page.setInputFiles('#dataset-file', f);
    await page.fill('#dataset-id', 'k1');
    await page.click('#upload');
    await page.waitForSelector('#dataset-report .ok');
    const listedWithKey = await call(keyed.url, 'GET', '/v1/accounts/team/datasets', undefined, { authorization: `Bearer ${key}` });
    assert.deepEqual(listedWithKey.body.datasets.map((d: any) => d.name), ['accounts/team/datasets/k1']);
    assert.equal((await call(keyed.url, 'GET', '/v1/accounts/team/datasets')).status, 401);
    // the live streams (fetch-based SSE) carry the key too
    const auth = { authorization: `Bearer ${key}` };
    const job = await call(keyed.url, 'POST', '/v1/accounts/team/reinforcementFineTuningJobs?reinforcementFineTuningJobId=k', {
      dataset: 'k1', evaluator: 'exact', trainingConfig: { baseModel: modelDir, steps: 2, batchSize: 2, loraRank: 2 }, inferenceParameters: { maxOutputTokens: 4, responseCandidatesCount: 2 },
    }, auth);
    assert.equal(job.status, 200, JSON.stringify(job.body));
    await page.goto(`${keyed.url}/dashboard/#/job/reinforcementFineTuningJobs/k`);
    assert.equal(await terminalState(page), 'JOB_STATE_COMPLETED');
    await page.waitForSelector('#curves [data-chart="reward"][data-points="2"]');
    await page.close();
  } finally {
    await keyed.stop();
  }
});

/** A client-form agent: asks the model, calls a (pretend) tool, and asks again with its result. */
const TOOL_AGENT = `
export default async function run({ row, client, model }) {
  const first = await client.chat.completions.create({ model, messages: row.messages, max_tokens: 4 });
  const call = { id: 'call_1', type: 'function', function: { name: 'calculator', arguments: JSON.stringify({ expression: row.messages[0].content }) } };
  const messages = [...row.messages, { role: 'assistant', content: first.choices[0].message.content ?? '', tool_calls: [call] }, { role: 'tool', tool_call_id: 'call_1', content: 'result: 42' }];
  await client.chat.completions.create({ model, messages, max_tokens: 4 });
}
`;

test('an agent job: the rollout detail shows the whole conversation with the tool call and its result, as the API stored it', { skip, timeout: 120_000 }, async () => {
  const agent = join(dir, 'tool-agent.mjs');
  writeFileSync(agent, TOOL_AGENT);
  const A = '/v1/accounts/agents';
  assert.equal((await call(srv.url, 'POST', `${A}/datasets`, { datasetId: 'd' })).status, 200);
  assert.equal((await call(srv.url, 'POST', `${A}/datasets/d:upload`, rftRows(4))).status, 200);
  assert.equal((await call(srv.url, 'POST', `${A}/evaluators`, { evaluatorId: 'v', evaluator: { module: { code: VARIED_EVALUATOR(0), language: 'js' } } })).status, 200);
  const job = await call(srv.url, 'POST', `${A}/reinforcementFineTuningJobs?reinforcementFineTuningJobId=tools`, {
    dataset: 'd', evaluator: 'v', agent, trainingConfig: { baseModel: modelDir, steps: 1, batchSize: 2, loraRank: 2 }, inferenceParameters: { maxOutputTokens: 4, responseCandidatesCount: 2 },
  });
  assert.equal(job.status, 200, JSON.stringify(job.body));
  const page = await browser!.newPage({ viewport: { width: 1360, height: 900 } });
  await page.goto(`${srv.url}/dashboard/`);
  await page.fill('#account', 'agents');
  await page.press('#account', 'Enter');
  await page.goto(`${srv.url}/dashboard/#/job/reinforcementFineTuningJobs/tools`);
  assert.equal(await terminalState(page), 'JOB_STATE_COMPLETED');
  await page.click('[data-tab="rollouts"]');
  await page.selectOption('#rollout-step', '');
  await page.waitForFunction(() => document.querySelectorAll('#rollouts tbody tr.click').length === 4);
  await page.click('#rollouts tbody tr.click >> nth=0');
  await page.waitForSelector('#conversation .tool-call');
  const stored = (await call(srv.url, 'GET', `/v1/${job.body.name}/rollouts?pageSize=1`)).body.rollouts[0];
  assert.deepEqual(await page.locator('#conversation .msg').evaluateAll((els: any[]) => els.map((e) => e.dataset.role)), stored.messages.map((m: any) => m.role));
  assert.deepEqual(stored.messages.map((m: any) => m.role), ['user', 'assistant', 'tool', 'assistant']);
  const args = JSON.stringify({ expression: stored.messages[0].content }, null, 2);
  assert.equal(await page.textContent('#conversation .tool-call'), `tool call calculator (call_1)${args}`);
  assert.match(await page.textContent('#conversation .msg.tool') as string, /result of call_1.*result: 42/s);
  const assistants = stored.messages.filter((m: any) => m.role === 'assistant').map((m: any) => m.content);
  assert.deepEqual(await page.locator('#conversation .msg.assistant .content').allTextContents(), assistants.filter((c: string) => c));
  await shot(page, 'rollout.png');
  await page.close();
});

test('a conversation with tool calls renders as text: hostile model output is never HTML', { skip, timeout: 30_000 }, async () => {
  const page = await browser!.newPage();
  await page.goto(`${srv.url}/dashboard/`);
  const out = await page.evaluate(async () => {
    const { renderMessages } = await import('/dashboard/js/conversation.js' as string);
    const box = document.createElement('div');
    box.append(...renderMessages([
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: '<img src=x onerror="window.pwned=1">', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: '18 C, sunny' }] },
    ]));
    document.body.append(box);
    await new Promise((r) => setTimeout(r, 50));
    return {
      roles: [...box.querySelectorAll('.msg')].map((m: any) => m.dataset.role),
      images: box.querySelectorAll('img').length,
      pwned: (globalThis as any).pwned ?? 0,
      assistant: box.querySelector('.msg.assistant .content')?.textContent,
      call: box.querySelector('.tool-call')?.textContent,
      tool: box.querySelector('.msg.tool')?.textContent,
    };
  });
  assert.deepEqual(out.roles, ['user', 'assistant', 'tool']);
  assert.equal(out.images, 0);
  assert.equal(out.pwned, 0);
  assert.equal(out.assistant, '<img src=x onerror="window.pwned=1">');
  assert.match(out.call!, /get_weather \(call_1\)\{\n  "city": "Paris"\n\}/);
  assert.match(out.tool!, /result of call_1.*18 C, sunny/s);
  await page.close();
});
