// The rft dashboard: a client of the jobs REST API (the same one the CLI and curl use), one page,
// plain JS, hash routes: #/ (jobs), #/new (create a job), #/job/NAME (curves, rollouts, logs,
// checkpoints, deploy, playground), #/compare/NAME|NAME (overlaid curves, config diff).
'use strict';

const RFT = 'reinforcementFineTuningJobs';
const SFT = 'supervisedFineTuningJobs';
const COLORS = ['#2f6fde', '#e0592a', '#1f8a4c', '#9a6bd8', '#c8372d', '#d19a00', '#0f9bb0', '#7a7a7a'];
const RUNNING = ['JOB_STATE_PENDING', 'JOB_STATE_VALIDATING', 'JOB_STATE_RUNNING'];

const $ = (sel, el = document) => el.querySelector(sel);
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const fmt = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 3 : 2)) : String(v));

// ---------- settings and API ----------
const acct = $('#account');
const keyInput = $('#apikey');
acct.value = localStorage.getItem('rft.account') || 'default';
keyInput.value = localStorage.getItem('rft.key') || '';
acct.addEventListener('change', () => { localStorage.setItem('rft.account', acct.value.trim()); render(); });
keyInput.addEventListener('change', () => { localStorage.setItem('rft.key', keyInput.value.trim()); render(); });
const account = () => acct.value.trim() || 'default';
const A = () => `/v1/accounts/${account()}`;

function headers(extra = {}) {
  const k = keyInput.value.trim();
  return k ? { authorization: `Bearer ${k}`, ...extra } : extra;
}

class ApiFailure extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.details = error?.details ?? [];
  }
}

async function api(method, path, body, raw) {
  const init = { method, headers: headers(raw ? {} : body !== undefined ? { 'content-type': 'application/json' } : {}) };
  if (raw) init.body = raw;
  else if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) throw new ApiFailure(res.status, data?.error);
  return data;
}

/** SSE over fetch (EventSource cannot send an API key); stops when `signal` aborts or the server ends the stream. */
async function streamEvents(path, onEvent, signal) {
  const res = await fetch(path, { headers: headers(), signal });
  if (!res.ok) throw new ApiFailure(res.status, (await res.json().catch(() => ({}))).error);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (ev && data !== undefined) onEvent(ev, JSON.parse(data));
    }
  }
}

let toastTimer;
function toast(err) {
  const t = $('#toast');
  t.textContent = err instanceof ApiFailure && err.details.length && !err.message.includes('\n') ? `${err.message}\n${err.details.map((d) => `${d.path}: ${d.message}`).join('\n')}` : String(err.message ?? err);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 8000);
}

// ---------- router ----------
let teardown = [];
function onLeave(fn) { teardown.push(fn); }
async function render() {
  for (const fn of teardown) try { fn(); } catch { /* ignore */ }
  teardown = [];
  const view = $('#view');
  view.replaceChildren();
  const hash = decodeURIComponent(location.hash.slice(1) || '/');
  try {
    if (hash === '/' || hash === '') await jobsView(view);
    else if (hash === '/new') await newJobView(view);
    else if (hash.startsWith('/job/')) await jobView(view, hash.slice(5));
    else if (hash.startsWith('/compare/')) await compareView(view, hash.slice(9).split('|'));
    else view.append(h('p', {}, 'Not found. ', h('a', { href: '#/' }, 'Jobs')));
  } catch (e) {
    toast(e);
    view.append(h('p', { class: 'muted' }, `Could not load: ${e.message}`));
  }
}
window.addEventListener('hashchange', render);

// ---------- jobs list ----------
async function jobsView(view) {
  const selected = new Set();
  const compareBtn = h('button', { id: 'compare', disabled: true, onclick: () => (location.hash = `#/compare/${[...selected].join('|')}`) }, 'Compare selected');
  const body = h('tbody');
  view.append(h('h1', {}, 'Jobs'), h('div', { class: 'toolbar' }, h('a', { href: '#/new' }, h('button', { class: 'primary' }, 'New job')), compareBtn),
    h('table', { id: 'jobs' }, h('thead', {}, h('tr', {}, h('th'), h('th', {}, 'Name'), h('th', {}, 'Kind'), h('th', {}, 'State'), h('th', {}, 'Progress'), h('th', {}, 'Reward'), h('th', {}, 'Created'))), body));
  const load = async () => {
    const [r, s] = await Promise.all([api('GET', `${A()}/${RFT}?pageSize=100`), api('GET', `${A()}/${SFT}?pageSize=100`)]);
    const jobs = [...r[RFT].map((j) => ({ ...j, kind: 'RFT' })), ...s[SFT].map((j) => ({ ...j, kind: 'SFT' }))].sort((a, b) => b.createTime.localeCompare(a.createTime));
    const last = await Promise.all(jobs.map((j) => (j.jobProgress.step ? api('GET', `/v1/${j.name}/metrics?afterStep=${j.jobProgress.step - 1}&pageSize=1`).then((m) => m.metrics[0]) : null)));
    body.replaceChildren(...jobs.map((j, i) => {
      const box = h('input', { type: 'checkbox', onclick: (e) => { e.stopPropagation(); box.checked ? selected.add(j.name) : selected.delete(j.name); compareBtn.disabled = selected.size < 2; } });
      box.checked = selected.has(j.name);
      const m = last[i];
      return h('tr', { class: 'clickable', 'data-name': j.name, onclick: () => (location.hash = `#/job/${j.name}`) },
        h('td', {}, box), h('td', {}, j.displayName || j.name.split('/').pop(), h('div', { class: 'muted' }, j.name)), h('td', {}, j.kind),
        h('td', {}, h('span', { class: `state ${j.state}` }, j.state.replace('JOB_STATE_', ''))),
        h('td', {}, `${j.jobProgress.step}/${j.jobProgress.totalSteps || '?'}`), h('td', {}, m ? fmt(m.reward_mean ?? m.loss) : '–'), h('td', {}, new Date(j.createTime).toLocaleString()));
    }));
    if (!jobs.length) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No jobs yet.')));
  };
  await load();
  const timer = setInterval(() => load().catch(() => undefined), 3000);
  onLeave(() => clearInterval(timer));
}

// ---------- new job ----------
async function newJobView(view) {
  const [datasets, evaluators, builtins] = await Promise.all([api('GET', `${A()}/datasets?pageSize=1000`), api('GET', `${A()}/evaluators?pageSize=1000`), api('GET', '/v1/builtinEvaluators')]);
  const dsSelect = h('select', { id: 'dataset' }, h('option', { value: '' }, '(upload a file)'), ...datasets.datasets.filter((d) => d.state === 'READY').map((d) => h('option', { value: d.name }, `${d.name} (${d.format}, ${d.exampleCount} rows)`)));
  const file = h('input', { type: 'file', id: 'file', accept: '.jsonl,application/jsonl' });
  const format = h('select', { id: 'format' }, h('option', { value: 'RFT' }, 'RFT (prompt rows)'), h('option', { value: 'SFT' }, 'SFT (rows with the answer)'));
  const report = h('div', { class: 'report', id: 'report' });
  const upload = h('button', { type: 'button', id: 'upload', onclick: async () => {
    const f = file.files[0];
    if (!f) return toast('choose a JSONL file first');
    report.className = 'report';
    report.textContent = 'uploading…';
    const id = `${f.name.replace(/\.[^.]*$/, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'data'}-${Date.now().toString(36)}`;
    try {
      const d = await api('POST', `${A()}/datasets`, { datasetId: id, dataset: { format: format.value, displayName: f.name } });
      try {
        const r = await api('POST', `/v1/${d.name}:upload`, undefined, f);
        report.className = 'report good';
        report.textContent = `✓ ${r.dataset.exampleCount} rows, all valid — ${r.dataset.name}`;
        dsSelect.append(h('option', { value: r.dataset.name }, `${r.dataset.name} (${r.dataset.format}, ${r.dataset.exampleCount} rows)`));
        dsSelect.value = r.dataset.name;
      } catch (e) {
        await api('DELETE', `/v1/${d.name}`).catch(() => undefined);
        report.className = 'report bad';
        report.textContent = `${e.message}\n${(e.details || []).map((x) => `${x.path}: ${x.message}`).join('\n')}`;
      }
    } catch (e) {
      toast(e);
    }
  } }, 'Upload & validate');

  const evSelect = h('select', { id: 'evaluator' },
    h('optgroup', { label: 'built-in' }, ...builtins.evaluators.map((b) => h('option', { value: b.name, title: b.description }, `${b.name} — ${b.description}`))),
    h('optgroup', { label: 'this account' }, ...evaluators.evaluators.map((e) => h('option', { value: e.name }, `${e.name} (v${e.version}, ${e.source})`))));
  evSelect.value = 'numeric';
  const responses = h('textarea', { id: 'responses', rows: 3, cols: 50, placeholder: 'one response per line; line i answers row i of the dataset' });
  const previewOut = h('div', { id: 'preview' });
  const preview = h('button', { type: 'button', id: 'preview-btn', onclick: async () => {
    if (!dsSelect.value) return toast('pick or upload a dataset first');
    const lines = responses.value.split('\n').filter((l) => l.length);
    if (!lines.length) return toast('write at least one response');
    const ev = evSelect.value.startsWith('accounts/') ? evSelect.value : `${A().slice(4)}/evaluators/${evSelect.value}`;
    try {
      const r = await api('POST', `/v1/${ev}:preview`, { dataset: dsSelect.value, responses: lines });
      previewOut.replaceChildren(h('p', { class: 'muted' }, `mean score ${fmt(r.summary.mean_score)} over ${r.summary.responses} responses (${r.summary.invalid} invalid)`),
        h('table', {}, h('tr', {}, h('th', {}, 'row'), h('th', {}, 'response'), h('th', {}, 'score'), h('th', {}, 'reason')), ...r.results.map((x) => h('tr', {}, h('td', {}, x.row), h('td', {}, x.response), h('td', {}, fmt(x.score)), h('td', {}, x.reason ?? '')))));
    } catch (e) { toast(e); }
  } }, 'Preview');

  const field = (id, value, attrs = {}) => h('input', { id, value, ...attrs });
  const f = {
    jobId: field('jobId', '', { placeholder: '(generated)' }),
    baseModel: field('baseModel', localStorage.getItem('rft.baseModel') || '', { placeholder: '/path/to/model (on the server)', size: 50 }),
    steps: field('steps', '20', { type: 'number', min: 1 }),
    learningRate: field('learningRate', '0.0001', { type: 'number', step: 'any' }),
    loraRank: field('loraRank', '8', { type: 'number', min: 1 }),
    batchSize: field('batchSize', '4', { type: 'number', min: 1 }),
    responseCandidatesCount: field('responseCandidatesCount', '8', { type: 'number', min: 2 }),
    maxOutputTokens: field('maxOutputTokens', '64', { type: 'number', min: 1 }),
    temperature: field('temperature', '1', { type: 'number', step: 'any', min: 0 }),
    checkpointEvery: field('checkpointEvery', '5', { type: 'number', min: 0 }),
    method: h('select', { id: 'method' }, ...['GRPO', 'DAPO', 'DR_GRPO', 'BNPO', 'GSPO', 'GSPO_TOKEN'].map((m) => h('option', { value: m }, m))),
  };
  const launch = h('button', { class: 'primary', id: 'launch', type: 'submit' }, 'Launch');
  const form = h('form', { class: 'grid', id: 'new-job', onsubmit: async (e) => {
    e.preventDefault();
    if (!dsSelect.value) return toast('pick or upload a dataset');
    localStorage.setItem('rft.baseModel', f.baseModel.value.trim());
    const n = (x) => Number(x.value);
    const spec = {
      dataset: dsSelect.value, evaluator: evSelect.value,
      trainingConfig: { baseModel: f.baseModel.value.trim(), steps: n(f.steps), learningRate: n(f.learningRate), loraRank: n(f.loraRank), batchSize: n(f.batchSize), checkpointEvery: n(f.checkpointEvery) },
      inferenceParameters: { responseCandidatesCount: n(f.responseCandidatesCount), maxOutputTokens: n(f.maxOutputTokens), temperature: n(f.temperature) },
      lossConfig: { method: f.method.value },
    };
    const id = f.jobId.value.trim();
    try {
      const j = await api('POST', `${A()}/${RFT}${id ? `?reinforcementFineTuningJobId=${encodeURIComponent(id)}` : ''}`, spec);
      location.hash = `#/job/${j.name}`;
    } catch (err) { toast(err); }
  } },
  h('label', {}, 'Dataset'), h('div', {}, dsSelect),
  h('label', {}, 'or upload JSONL'), h('div', {}, file, ' ', format, ' ', upload, report),
  h('label', {}, 'Evaluator'), h('div', {}, evSelect),
  h('label', {}, 'Preview the evaluator'), h('div', {}, responses, ' ', preview, previewOut),
  h('label', {}, 'Job id'), f.jobId,
  h('label', {}, 'Base model (trainingConfig.baseModel)'), f.baseModel,
  h('label', {}, 'Steps'), f.steps,
  h('label', {}, 'Learning rate'), f.learningRate,
  h('label', {}, 'LoRA rank'), f.loraRank,
  h('label', {}, 'Prompts per step (batchSize)'), f.batchSize,
  h('label', {}, 'Candidates per prompt'), f.responseCandidatesCount,
  h('label', {}, 'Max output tokens'), f.maxOutputTokens,
  h('label', {}, 'Temperature'), f.temperature,
  h('label', {}, 'Loss method'), f.method,
  h('label', {}, 'Checkpoint every'), f.checkpointEvery,
  h('span'), h('div', {}, launch, h('span', { class: 'muted' }, '  every other `rft train` option: POST the spec with curl or `rft jobs create -f`')));
  view.append(h('h1', {}, 'New reinforcement fine-tuning job'), form);
}

// ---------- charts ----------
const CHARTS = [
  { title: 'reward', keys: (m) => ['reward_mean', ...Object.keys(m).filter((k) => k.startsWith('reward/'))] },
  { title: 'held-out', evals: true, keys: () => ['pass1', 'pass1_sampled', 'pass_at_k', 'mean_reward'] },
  { title: 'KL', keys: () => ['kl'] },
  { title: 'entropy', keys: () => ['entropy'] },
  { title: 'clip fractions', keys: () => ['clip_low', 'clip_high'] },
  { title: 'completion length', keys: () => ['completion_len_mean', 'completion_len_max'] },
  { title: 'zero-variance / invalid / truncated', keys: () => ['zero_variance_fraction', 'invalid_fraction', 'truncated_fraction'] },
  { title: 'time split (s)', keys: () => ['time_sample_s', 'time_eval_s', 'time_train_s'] },
  { title: 'loss', keys: () => ['loss'] },
];

/** A uPlot chart of `keys` over steps; `update(rows)` redraws with new rows. */
function makeChart(parent, title, width = 400) {
  const box = h('div', { class: 'chart', 'data-chart': title }, h('h3', {}, title));
  parent.append(box);
  let plot = null;
  let shape = '';
  return {
    update(rows, keys, labelOf = (k) => k) {
      const present = keys.filter((k) => rows.some((r) => typeof r[k] === 'number'));
      if (!present.length) { box.hidden = true; return; }
      box.hidden = false;
      const data = [rows.map((r) => r.step), ...present.map((k) => rows.map((r) => (typeof r[k] === 'number' ? r[k] : null)))];
      const sig = present.join(',');
      if (plot && sig === shape) return plot.setData(data);
      plot?.destroy();
      shape = sig;
      plot = new uPlot({ width, height: 180, scales: { x: { time: false } }, series: [{ label: 'step' }, ...present.map((k, i) => ({ label: labelOf(k), stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))], axes: [{}, { size: 50 }] }, data, box);
    },
  };
}

async function allMetrics(name) {
  const out = [];
  let token = '';
  do {
    const r = await api('GET', `/v1/${name}/metrics?pageSize=1000${token ? `&pageToken=${token}` : ''}`);
    out.push(...r.metrics);
    token = r.nextPageToken;
  } while (token);
  return out;
}

async function downloadTar(name, cp) {
  const res = await fetch(`/v1/${name}/checkpoints/${cp}:download`, { headers: headers() });
  if (!res.ok) return toast(new ApiFailure(res.status, (await res.json()).error));
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: `${name.split('/').pop()}-${cp}.tar` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------- job page ----------
async function jobView(view, name) {
  let job = await api('GET', `/v1/${name}`);
  const head = h('div');
  const charts = h('div', { class: 'charts', id: 'charts' });
  const rolloutsBox = h('div', { id: 'rollouts' });
  const logs = h('pre', { class: 'logs', id: 'logs' });
  const cpsBox = h('div', { id: 'checkpoints' });
  const play = h('div', { id: 'playground' });
  view.append(head, h('h2', {}, 'Curves'), charts, h('h2', {}, 'Rollouts'), rolloutsBox, h('h2', {}, 'Checkpoints'), cpsBox, h('h2', {}, 'Playground'), play, h('h2', {}, 'Logs'), logs);
  const chartObjs = CHARTS.map((c) => ({ ...c, chart: makeChart(charts, c.title) }));
  let metrics = await allMetrics(name);
  let evals = (await api('GET', `/v1/${name}/evaluations`)).evaluations;
  const draw = () => {
    for (const c of chartObjs) {
      const rows = c.evals ? evals : metrics;
      c.chart.update(rows, c.keys(rows.at(-1) || {}));
    }
  };

  const act = (verb) => async () => { try { job = await api('POST', `/v1/${name}:${verb}`, {}); drawHead(); } catch (e) { toast(e); } };
  let deployed = false;
  const drawHead = () => {
    const p = job.jobProgress;
    const done = job.state === 'JOB_STATE_COMPLETED' || job.state === 'JOB_STATE_EARLY_STOPPED';
    head.replaceChildren(
      h('h1', {}, job.displayName || name.split('/').pop(), ' ', h('span', { class: `state ${job.state}`, id: 'job-state' }, job.state.replace('JOB_STATE_', ''))),
      h('div', { class: 'muted' }, `${name} · step ${p.step}/${p.totalSteps || '?'} · ${job.status.message}`),
      h('div', { class: 'toolbar' },
        h('button', { id: 'pause', disabled: !RUNNING.includes(job.state) || name.includes(SFT), onclick: act('pause') }, 'Pause'),
        h('button', { id: 'resume', disabled: !['JOB_STATE_PAUSED', 'JOB_STATE_FAILED'].includes(job.state), onclick: act('resume') }, 'Resume'),
        h('button', { id: 'cancel', disabled: !RUNNING.includes(job.state) && job.state !== 'JOB_STATE_PAUSED', onclick: act('cancel') }, 'Cancel'),
        h('button', { id: 'deploy', class: 'primary', disabled: !done || deployed, onclick: async () => { try { await api('POST', `${A()}/deployments`, { job: name }); await drawPlayground(); } catch (e) { toast(e); } } }, 'Deploy'),
        h('button', { id: 'download', disabled: !done, onclick: () => downloadTar(name, 'final') }, 'Download adapter'),
        h('a', { href: '#/' }, 'all jobs')),
      h('details', {}, h('summary', {}, 'spec'), h('pre', { class: 'report' }, JSON.stringify({ dataset: job.dataset, evaluator: job.evaluator, evaluatorVersion: job.evaluatorVersion, trainingConfig: job.trainingConfig, inferenceParameters: job.inferenceParameters, lossConfig: job.lossConfig }, null, 2))));
  };

  // rollouts: a step picker, a table sorted by score, a detail view of the whole conversation
  let followLatest = true; // the table shows the newest step until the user picks one
  const stepSel = h('select', { id: 'rollout-step', onchange: () => { followLatest = false; loadRollouts(); } });
  const table = h('table', { id: 'rollout-table' });
  const detail = h('div', { id: 'detail', hidden: true });
  rolloutsBox.append(h('div', { class: 'toolbar' }, 'step ', stepSel, h('span', { class: 'muted' }, ' sorted by score, best first; click a row for the conversation')), table, detail);
  const syncSteps = () => {
    const have = new Set([...stepSel.options].map((o) => Number(o.value)));
    for (const m of metrics) if (!have.has(m.step)) stepSel.append(h('option', { value: m.step }, `${m.step}`));
    if (followLatest && metrics.length && stepSel.dataset.shown !== String(metrics.at(-1).step)) {
      stepSel.value = String(metrics.at(-1).step);
      stepSel.dataset.shown = stepSel.value;
      loadRollouts().catch(toast);
    }
  };
  const loadRollouts = async () => {
    if (!stepSel.value) return;
    const r = await api('GET', `/v1/${name}/rollouts?step=${stepSel.value}&orderBy=score%20desc&pageSize=200`);
    table.replaceChildren(h('tr', {}, h('th', {}, 'group'), h('th', {}, '#'), h('th', {}, 'score'), h('th', {}, 'valid'), h('th', {}, 'reason'), h('th', {}, 'output')),
      ...r.rollouts.map((x) => h('tr', { class: 'clickable rollout', onclick: () => showRollout(x) }, h('td', {}, x.group), h('td', {}, x.index), h('td', {}, fmt(x.score)), h('td', {}, x.valid ? 'yes' : 'no'), h('td', {}, x.reason ?? ''),
        h('td', {}, String(x.messages.at(-1)?.content ?? '').slice(0, 80)))));
    if (!r.rollouts.length) table.append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'no rollouts recorded for this step (SFT jobs have none)')));
  };
  const showRollout = (x) => {
    detail.hidden = false;
    detail.replaceChildren(h('div', { class: 'toolbar' }, h('b', {}, `step ${x.step} · group ${x.group} · #${x.index}`), h('span', {}, `score ${fmt(x.score)}`), h('span', {}, x.valid ? 'valid' : 'invalid'), x.reason ? h('span', {}, `— ${x.reason}`) : null, h('span', { class: 'grow' }), h('button', { onclick: () => (detail.hidden = true) }, 'close')),
      ...x.messages.map((m) => h('div', { class: `msg ${m.role}` }, h('div', { class: 'role' }, m.role + (m.name ? ` (${m.name})` : '')), m.content ?? '', m.tool_calls ? h('pre', { class: 'report' }, JSON.stringify(m.tool_calls, null, 2)) : null)),
      x.metrics ? h('table', {}, h('tr', {}, h('th', {}, 'metric'), h('th', {}, 'score'), h('th', {}, 'reason')), ...Object.entries(x.metrics).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, fmt(v.score)), h('td', {}, v.reason ?? '')))) : null,
      x.finishReason ? h('div', { class: 'muted' }, `finish: ${x.finishReason}`) : null);
  };

  const drawCheckpoints = async () => {
    const cps = (await api('GET', `/v1/${name}/checkpoints`)).checkpoints;
    cpsBox.replaceChildren(cps.length ? h('table', {}, h('tr', {}, h('th', {}, 'checkpoint'), h('th', {}, 'step'), h('th', {}, 'kind'), h('th')),
      ...cps.map((c) => h('tr', {}, h('td', {}, c.name.split('/').pop()), h('td', {}, fmt(c.step)), h('td', {}, c.kind), h('td', {}, h('button', { onclick: () => downloadTar(name, c.name.split('/').pop()) }, 'download'))))) : h('p', { class: 'muted' }, 'none yet'));
  };

  const drawPlayground = async () => {
    const deps = (await api('GET', `${A()}/deployments`)).deployments.filter((d) => d.job === name);
    if (deployed !== deps.length > 0) {
      deployed = deps.length > 0;
      drawHead();
    }
    if (!deps.length) return play.replaceChildren(h('p', { class: 'muted' }, 'Deploy the job to chat with it.'));
    const model = deps[0].model;
    const convo = [];
    const out = h('div', { id: 'chat' });
    const input = h('textarea', { id: 'chat-input', rows: 2, cols: 60, placeholder: 'message' });
    const send = h('button', { id: 'chat-send', class: 'primary', onclick: async () => {
      const text = input.value.trim();
      if (!text) return;
      convo.push({ role: 'user', content: text });
      input.value = '';
      out.append(h('div', { class: 'msg user' }, h('div', { class: 'role' }, 'user'), text));
      send.disabled = true;
      try {
        const r = await api('POST', '/v1/chat/completions', { model, messages: convo, max_tokens: 64, temperature: 0 });
        const m = r.choices[0].message;
        convo.push({ role: 'assistant', content: m.content ?? '' });
        out.append(h('div', { class: 'msg assistant reply' }, h('div', { class: 'role' }, 'assistant'), m.content ?? ''));
      } catch (e) { toast(e); } finally { send.disabled = false; }
    } }, 'Send');
    play.replaceChildren(h('div', { class: 'toolbar' }, 'model ', h('code', { id: 'deployed-model' }, model), h('button', { onclick: async () => { await api('DELETE', `/v1/${deps[0].name}`).catch(toast); drawPlayground(); } }, 'Undeploy')), out, h('div', { class: 'toolbar' }, input, send));
  };

  drawHead();
  draw();
  syncSteps();
  await Promise.all([drawCheckpoints(), drawPlayground()]);

  // live: metrics and state over SSE, logs over SSE
  const ctl = new AbortController();
  onLeave(() => ctl.abort());
  const last = () => (metrics.length ? metrics.at(-1).step : 0);
  streamEvents(`/v1/${name}/metrics:stream?afterStep=${last()}`, async (ev, data) => {
    if (ev === 'metrics') {
      if (data.step > last()) metrics.push(data);
      draw();
      syncSteps();
    } else if (ev === 'state') {
      job = data;
      drawHead();
      evals = (await api('GET', `/v1/${name}/evaluations`)).evaluations;
      draw();
    } else if (ev === 'end') {
      job = await api('GET', `/v1/${name}`);
      drawHead();
      evals = (await api('GET', `/v1/${name}/evaluations`)).evaluations;
      draw();
      drawCheckpoints();
    }
  }, ctl.signal).catch((e) => e.name !== 'AbortError' && toast(e));
  streamEvents(`/v1/${name}/logs?follow=true`, (ev, data) => {
    if (ev !== 'log') return;
    logs.append(`${data.time.slice(11, 19)} ${data.stream === 'system' ? '[rft] ' : ''}${data.line}\n`);
    logs.scrollTop = logs.scrollHeight;
  }, ctl.signal).catch((e) => e.name !== 'AbortError' && toast(e));
}

// ---------- compare ----------
function flatten(o, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(o ?? {})) {
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

async function compareView(view, names) {
  const jobs = await Promise.all(names.map((n) => api('GET', `/v1/${n}`)));
  const metrics = await Promise.all(names.map(allMetrics));
  view.append(h('h1', {}, `Compare ${names.length} runs`));
  const charts = h('div', { class: 'charts', id: 'compare-charts' });
  view.append(charts);
  for (const key of ['reward_mean', 'kl', 'entropy', 'completion_len_mean', 'zero_variance_fraction', 'loss']) {
    const steps = [...new Set(metrics.flatMap((ms) => ms.map((m) => m.step)))].sort((a, b) => a - b);
    const rows = steps.map((step) => {
      const r = { step };
      metrics.forEach((ms, i) => { const m = ms.find((x) => x.step === step); if (m && typeof m[key] === 'number') r[`run${i}`] = m[key]; });
      return r;
    });
    makeChart(charts, key).update(rows, names.map((_, i) => `run${i}`), (k) => jobs[Number(k.slice(3))].name.split('/').pop());
  }
  const flat = jobs.map((j) => flatten({ dataset: j.dataset, evaluator: j.evaluator, trainingConfig: j.trainingConfig, inferenceParameters: j.inferenceParameters, lossConfig: j.lossConfig }));
  const keys = [...new Set(flat.flatMap(Object.keys))].sort();
  view.append(h('h2', {}, 'Configuration'), h('table', { class: 'diff', id: 'config-diff' }, h('tr', {}, h('th', {}, 'field'), ...jobs.map((j) => h('th', {}, j.name.split('/').pop()))),
    ...keys.map((k) => {
      const vals = flat.map((f) => JSON.stringify(f[k]));
      const changed = new Set(vals).size > 1;
      return h('tr', {}, h('td', {}, k), ...vals.map((v) => h('td', { class: changed ? 'changed' : '' }, v ?? '–')));
    })));
}

render();
