// The create-job form: a dataset (upload one and read its validation report, or pick one), an
// evaluator (pick one, or create one from a built-in name, a spec or a module, and preview it on
// the dataset's rows with responses you type), the main job fields, and launch. Everything goes
// through the same REST calls as the CLI; a refused spec shows every problem with its path.
import { acct, api, auth, listAll } from './api.js';
import { clear, errorBox, fmt, h, jobHref, shortName } from './ui.js';

function field(label, input) {
  return h('label', {}, label, input);
}

function num(id, value, attrs = {}) {
  return h('input', { id, name: id, type: 'number', step: 'any', value: value ?? '', ...attrs });
}

export async function createPage(main) {
  const [datasets, evaluators, builtins] = await Promise.all([listAll(acct('/datasets'), 'datasets'), listAll(acct('/evaluators'), 'evaluators'), api('GET', '/v1/builtinEvaluators').then((r) => r.evaluators)]);

  // ---- dataset
  const dsSelect = h('select', { id: 'dataset' });
  const fillDatasets = (selected) => {
    clear(dsSelect, h('option', { value: '' }, '— pick or upload a dataset —'), datasets.map((d) => h('option', { value: d.name, selected: d.name === selected }, `${shortName(d.name)} (${d.exampleCount ?? '?'} rows, ${d.format ?? 'RFT'})`)));
  };
  fillDatasets();
  const file = h('input', { id: 'dataset-file', type: 'file', accept: '.jsonl,.json,.txt' });
  const dsId = h('input', { id: 'dataset-id', placeholder: 'dataset id (default: the file name)', size: 28 });
  const dsFormat = h('select', { id: 'dataset-format' }, h('option', { value: 'RFT' }, 'RFT (prompt rows)'), h('option', { value: 'SFT' }, 'SFT (rows ending with the answer)'));
  const report = h('div', { id: 'dataset-report' });
  const rowsPreview = h('div', { id: 'dataset-rows' });
  const upload = async () => {
    clear(report, h('span', { class: 'muted' }, 'uploading…'));
    const f = file.files?.[0];
    if (!f) return clear(report, h('span', { class: 'error' }, 'choose a JSONL file first'));
    const id = dsId.value.trim() || f.name.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9-]+/g, '-').toLowerCase();
    try {
      let d = datasets.find((x) => shortName(x.name) === id);
      if (!d) d = await api('POST', acct('/datasets'), { datasetId: id, dataset: { format: dsFormat.value } });
      const r = await api('POST', `/v1/${d.name}:upload`, f);
      const i = datasets.findIndex((x) => x.name === r.dataset.name);
      if (i >= 0) datasets[i] = r.dataset;
      else datasets.push(r.dataset);
      fillDatasets(r.dataset.name);
      clear(report, h('div', { class: 'ok' }, `✓ ${r.dataset.name}: ${r.validation.validRows} of ${r.validation.rows} rows valid`));
      await showRows();
    } catch (e) {
      clear(report, h('div', {}, h('strong', {}, 'The upload was refused. '), errorBox(e)));
    }
  };
  const showRows = async () => {
    clear(rowsPreview);
    if (!dsSelect.value) return;
    try {
      const r = await api('GET', `/v1/${dsSelect.value}/rows?pageSize=3`);
      clear(rowsPreview, h('div', { class: 'muted' }, `first ${r.rows.length} of ${r.totalSize} rows`), r.rows.map((row) => h('pre', {}, JSON.stringify(row))));
    } catch (e) {
      rowsPreview.append(errorBox(e));
    }
  };
  dsSelect.addEventListener('change', showRows);

  // ---- evaluator
  const evSelect = h('select', { id: 'evaluator' });
  const fillEvaluators = (selected) => {
    clear(evSelect,
      h('option', { value: '' }, '— pick an evaluator —'),
      h('optgroup', { label: 'evaluator resources' }, evaluators.map((e) => h('option', { value: e.name, selected: e.name === selected }, `${shortName(e.name)} v${e.version} (${e.source})`))),
      h('optgroup', { label: 'built-in' }, builtins.map((b) => h('option', { value: b.name, selected: b.name === selected, title: b.description }, `${b.name} — ${b.description}`))));
  };
  fillEvaluators();
  const evId = h('input', { id: 'evaluator-id', placeholder: 'new evaluator id', size: 20 });
  const evSpec = h('textarea', { id: 'evaluator-spec', rows: 4, placeholder: '{"type": "exact"}  — a built-in name, a spec object, or (with "module") the JS/TS code of an evaluator module' });
  const evKind = h('select', { id: 'evaluator-kind' }, h('option', { value: 'spec' }, 'spec (built-in name or JSON)'), h('option', { value: 'js' }, 'module (JavaScript)'), h('option', { value: 'ts' }, 'module (TypeScript)'));
  const evMsg = h('div', { id: 'evaluator-report' });
  const createEvaluator = async () => {
    clear(evMsg);
    const text = evSpec.value.trim();
    let evaluator;
    if (evKind.value === 'spec') {
      let spec = text;
      try {
        spec = JSON.parse(text);
      } catch {
        // a built-in name
      }
      evaluator = { spec };
    } else evaluator = { module: { code: evSpec.value, language: evKind.value } };
    try {
      const e = await api('POST', acct('/evaluators'), { ...(evId.value.trim() ? { evaluatorId: evId.value.trim() } : {}), evaluator });
      evaluators.push(e);
      fillEvaluators(e.name);
      clear(evMsg, h('div', { class: 'ok' }, `✓ created ${e.name} (version ${e.version})`));
    } catch (e) {
      clear(evMsg, errorBox(e));
    }
  };
  const responses = h('textarea', { id: 'preview-responses', rows: 3, placeholder: 'one response per line: line i answers row i of the dataset' });
  const previewOut = h('div', { id: 'preview-result' });
  evSelect.addEventListener('change', () => clear(previewOut));
  const preview = async () => {
    clear(previewOut);
    if (!evSelect.value) return clear(previewOut, h('span', { class: 'error' }, 'pick an evaluator first'));
    if (!dsSelect.value) return clear(previewOut, h('span', { class: 'error' }, 'pick or upload a dataset first'));
    const lines = responses.value.split('\n').filter((l) => l.length);
    try {
      // a built-in is previewed by its name under the account's evaluators
      const ev = evSelect.value.startsWith('accounts/') ? evSelect.value : `accounts/${auth.account}/evaluators/${evSelect.value}`;
      const r = await api('POST', `/v1/${ev}:preview`, { dataset: dsSelect.value, responses: lines });
      const s = r.summary;
      previewOut.append(
        h('div', {}, `mean score ${fmt(s.mean_score)} · valid ${s.valid}/${s.responses} · perfect ${s.perfect}`),
        h('table', {}, h('thead', {}, h('tr', {}, ['row', 'response', 'score', 'valid', 'reason', 'metrics'].map((c) => h('th', {}, c)))),
          h('tbody', {}, r.results.map((x) => h('tr', {}, h('td', {}, x.row), h('td', {}, h('code', {}, x.response)), h('td', { class: 'num' }, fmt(x.score)), h('td', {}, x.valid ? 'yes' : 'no'), h('td', {}, x.reason ?? ''),
            h('td', {}, Object.entries(x.metrics ?? {}).map(([k, m]) => h('div', {}, `${k}: ${fmt(m.score)}`))))))));
    } catch (e) {
      previewOut.append(errorBox(e));
    }
  };

  // ---- main fields (Fireworks' names; anything else as JSON under trainingConfig)
  const jobId = h('input', { id: 'job-id', placeholder: 'optional', size: 20 });
  const displayName = h('input', { id: 'display-name', placeholder: 'optional', size: 24 });
  const baseModel = h('input', { id: 'base-model', placeholder: '/path/to/model (a model folder on the server)', size: 48 });
  const f = {
    steps: num('steps', 20, { step: 1, min: 1 }),
    epochs: num('epochs', '', { step: 1, min: 1 }),
    batchSize: num('batch-size', 4, { step: 1, min: 1 }),
    learningRate: num('learning-rate', 0.0001),
    loraRank: num('lora-rank', 8, { step: 1, min: 1 }),
    checkpointEvery: num('checkpoint-every', 10, { step: 1, min: 1 }),
    maxOutputTokens: num('max-output-tokens', 64, { step: 1, min: 1 }),
    responseCandidatesCount: num('candidates', 4, { step: 1, min: 2 }),
    temperature: num('temperature', 1),
    klBeta: num('kl-beta', ''),
    earlyStop: num('early-stop', '', { step: 1, min: 0, placeholder: '5 (0: off)' }),
  };
  const kind = h('select', { id: 'job-kind' }, h('option', { value: 'rft' }, 'RFT (reinforcement: evaluator rewards)'), h('option', { value: 'sft' }, 'SFT (supervised: imitate the answers)'));
  const warmStart = h('select', { id: 'warm-start' });
  const fillWarmStart = (jobs) => clear(warmStart, h('option', { value: '' }, '— none —'), jobs.map((j) => h('option', { value: j.name }, `${shortName(j.name)} (${j.name.includes('supervised') ? 'SFT' : 'RFT'})`)));
  const method = h('select', { id: 'loss-method' }, ['GRPO', 'DAPO', 'DR_GRPO', 'BNPO', 'GSPO', 'GSPO_TOKEN'].map((m) => h('option', { value: m }, m)));
  const carve = h('input', { id: 'eval-carveout', type: 'checkbox' });
  const extra = h('textarea', { id: 'extra-config', rows: 3, placeholder: '{"policyUpdates": 2}  — any other `rft train` option by its camelCase name (merged into trainingConfig)' });
  const launchOut = h('div', { id: 'launch-result' });

  // only the RFT fields are refused by an SFT job's spec (and the other way round): hide them
  const rftOnly = [];
  const sync = () => {
    for (const el of rftOnly) el.hidden = kind.value === 'sft';
    title.textContent = kind.value === 'sft' ? 'New supervised fine-tuning job' : 'New reinforcement fine-tuning job';
  };
  kind.addEventListener('change', sync);
  const title = h('h1', {}, '');
  const sftSpec = (n, more, clean) => clean({
    displayName: displayName.value.trim() || undefined,
    dataset: dsSelect.value || undefined,
    evalAutoCarveout: carve.checked || undefined,
    baseModel: baseModel.value.trim() || undefined,
    warmStartFrom: warmStart.value || undefined,
    epochs: n(f.epochs), batchSize: n(f.batchSize), learningRate: n(f.learningRate), loraRank: n(f.loraRank),
    ...more,
  });
  const spec = () => {
    const n = (el) => (el.value === '' ? undefined : Number(el.value));
    let more = {};
    if (extra.value.trim()) {
      try {
        more = JSON.parse(extra.value);
      } catch (e) {
        throw Object.assign(new Error(`extra trainingConfig options: not JSON (${e.message})`), { details: [] });
      }
    }
    const clean = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    if (kind.value === 'sft') return sftSpec(n, more, clean);
    return clean({
      displayName: displayName.value.trim() || undefined,
      dataset: dsSelect.value || undefined,
      evaluator: evSelect.value || undefined,
      evalAutoCarveout: carve.checked || undefined,
      trainingConfig: clean({ baseModel: baseModel.value.trim() || undefined, warmStartFrom: warmStart.value || undefined, steps: n(f.steps), epochs: n(f.epochs), batchSize: n(f.batchSize), learningRate: n(f.learningRate), loraRank: n(f.loraRank), checkpointEvery: n(f.checkpointEvery), ...more }),
      inferenceParameters: clean({ maxOutputTokens: n(f.maxOutputTokens), responseCandidatesCount: n(f.responseCandidatesCount), temperature: n(f.temperature) }),
      lossConfig: clean({ method: method.value, klBeta: n(f.klBeta) }),
      earlyStopZeroVarianceSteps: n(f.earlyStop),
    });
  };
  const launch = async () => {
    clear(launchOut);
    try {
      const id = jobId.value.trim();
      const collection = kind.value === 'sft' ? 'supervisedFineTuningJobs' : 'reinforcementFineTuningJobs';
      const idParam = kind.value === 'sft' ? 'supervisedFineTuningJobId' : 'reinforcementFineTuningJobId';
      const job = await api('POST', `${acct(`/${collection}`)}${id ? `?${idParam}=${encodeURIComponent(id)}` : ''}`, spec());
      location.hash = jobHref(job.name);
    } catch (e) {
      clear(launchOut, h('strong', {}, 'The job was refused.'), errorBox(e));
    }
  };

  main.append(
    title,
    h('div', { class: 'row' }, 'kind', kind),
    h('section', { class: 'panel' }, h('h2', {}, '1. Dataset'),
      h('div', { class: 'row' }, dsSelect),
      h('div', { class: 'row' }, 'or upload JSONL:', file, dsId, dsFormat, h('button', { type: 'button', id: 'upload', onclick: upload }, 'Upload and validate')),
      report, rowsPreview),
    rft(h('section', { class: 'panel' }, h('h2', {}, '2. Evaluator'),
      h('div', { class: 'row' }, evSelect),
      h('h3', {}, 'Preview on the dataset'),
      responses,
      h('div', { class: 'row' }, h('button', { type: 'button', id: 'preview', onclick: preview }, 'Preview')),
      previewOut,
      h('details', {}, h('summary', {}, 'Create an evaluator'),
        h('div', { class: 'row' }, evId, evKind, h('button', { type: 'button', id: 'create-evaluator', onclick: createEvaluator }, 'Create evaluator')),
        evSpec, evMsg))),
    h('section', { class: 'panel' }, h('h2', {}, '3. Training'),
      h('div', { class: 'fields' },
        field('job id', jobId), field('display name', displayName), field('baseModel', baseModel), field('warmStartFrom (a finished job)', warmStart),
        rft(field('steps', f.steps)), field('epochs', f.epochs), field('batchSize', f.batchSize), field('learningRate', f.learningRate), field('loraRank', f.loraRank), rft(field('checkpointEvery', f.checkpointEvery)),
        rft(field('maxOutputTokens', f.maxOutputTokens)), rft(field('responseCandidatesCount', f.responseCandidatesCount)), rft(field('temperature', f.temperature)),
        rft(field('lossConfig.method', method)), rft(field('lossConfig.klBeta', f.klBeta)), rft(field('earlyStopZeroVarianceSteps', f.earlyStop)), field('evalAutoCarveout (hold out 10%)', carve)),
      h('h3', {}, 'Other options (JSON: any `rft train` / `rft sft` option by its camelCase name; RFT: merged into trainingConfig)'), extra),
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', id: 'launch', onclick: launch }, 'Launch job')),
    launchOut,
  );
  sync();
  listAll(acct('/supervisedFineTuningJobs'), 'supervisedFineTuningJobs')
    .then(async (sft) => fillWarmStart([...sft, ...(await listAll(acct('/reinforcementFineTuningJobs'), 'reinforcementFineTuningJobs'))].filter((j) => ['JOB_STATE_COMPLETED', 'JOB_STATE_EARLY_STOPPED'].includes(j.state))))
    .catch(() => fillWarmStart([]));

  function rft(el) {
    rftOnly.push(el);
    return el;
  }
}
