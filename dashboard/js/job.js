// A job's page: header (state, progress, pause / resume / cancel / deploy) and tabs — live curves
// over SSE, held-out evaluations, rollouts per step with a detail view, logs, checkpoints, config.
import { api, auth, download, stream } from './api.js';
import { column, HELDOUT_KEYS, lineChart, metricPanels } from './charts.js';
import { renderMessages } from './conversation.js';
import { clear, errorBox, fmt, h, progressBar, shortName, stateBadge, when } from './ui.js';

const TABS = ['curves', 'rollouts', 'logs', 'checkpoints', 'config'];
const DONE = ['JOB_STATE_COMPLETED', 'JOB_STATE_EARLY_STOPPED'];

export async function jobPage(main, [collection, id, tab = 'curves']) {
  const account = auth.account;
  const name = `accounts/${account}/${collection}/${id}`;
  let job = await api('GET', `/v1/${name}`);
  const stops = [];
  let deployed; // this job's deployment, if any: Deploy is off while it exists
  const head = h('div', { id: 'job-head' });
  const msg = h('div', { id: 'job-message' });
  const renderHead = () => {
    const canPause = job.state === 'JOB_STATE_RUNNING' && collection === 'reinforcementFineTuningJobs';
    const canResume = ['JOB_STATE_PAUSED', 'JOB_STATE_FAILED'].includes(job.state);
    const canCancel = ['JOB_STATE_PENDING', 'JOB_STATE_VALIDATING', 'JOB_STATE_RUNNING', 'JOB_STATE_PAUSED'].includes(job.state);
    const act = (verb) => async () => {
      clear(msg);
      try {
        job = await api('POST', `/v1/${name}:${verb}`);
        renderHead();
        // the tab's streams ended when the job stopped: render the page again to follow it anew
        if (verb === 'resume') window.dispatchEvent(new HashChangeEvent('hashchange'));
      } catch (e) {
        clear(msg, errorBox(e));
      }
    };
    clear(head,
      h('div', { class: 'row' }, h('h1', {}, shortName(name)), stateBadge(job.state), progressBar(job.jobProgress), h('span', { class: 'muted' }, `${collection === 'supervisedFineTuningJobs' ? 'SFT' : 'RFT'} · created ${when(job.createTime)}`),
        h('span', { class: 'spacer' }),
        canPause ? h('button', { type: 'button', id: 'pause', onclick: act('pause') }, 'Pause') : null,
        canResume ? h('button', { type: 'button', id: 'resume', onclick: act('resume') }, 'Resume') : null,
        canCancel ? h('button', { type: 'button', id: 'cancel', onclick: act('cancel') }, 'Cancel') : null,
        DONE.includes(job.state) ? h('button', { type: 'button', class: 'primary', id: 'deploy', onclick: deploy, disabled: !!deployed, title: deployed ? `deployed as ${deployed.model}` : null }, 'Deploy') : null),
      job.displayName && job.displayName !== shortName(name) ? h('div', { class: 'muted' }, job.displayName) : null,
      job.status?.message ? h('div', { class: job.state === 'JOB_STATE_FAILED' ? 'error' : 'muted', id: 'status-message' }, job.status.message) : null);
    head.dataset.state = job.state;
  };
  const deploy = async () => {
    clear(msg);
    try {
      const d = await api('POST', '/v1/' + name + ':deploy', {});
      showDeployment(d);
    } catch (e) {
      // already deployed: show the existing deployment
      const mine = await api('GET', `/v1/accounts/${account}/deployments`).then((r) => r.deployments.filter((d) => d.job === name)).catch(() => []);
      if (mine.length) showDeployment(mine[0]);
      else clear(msg, errorBox(e));
    }
  };
  const showDeployment = (d) => {
    deployed = d;
    renderHead();
    clear(msg, h('div', { class: 'panel', id: 'deployment' }, h('span', { class: 'ok' }, '✓ deployed '), h('code', {}, d.model), ' as ', h('code', {}, d.name), ' · ',
      h('a', { href: `#/playground?model=${encodeURIComponent(d.model)}`, id: 'open-playground' }, 'chat with it in the playground'), ' · ',
      h('button', { type: 'button', onclick: undeploy(d) }, 'Undeploy')));
  };
  const undeploy = (d) => async () => {
    try {
      await api('DELETE', `/v1/${d.name}`);
      deployed = undefined;
      renderHead();
      clear(msg, h('span', { class: 'muted' }, `undeployed ${d.model}`));
    } catch (e) {
      clear(msg, errorBox(e));
    }
  };
  renderHead();
  const deployments = await api('GET', `/v1/accounts/${account}/deployments`).then((r) => r.deployments.filter((d) => d.job === name)).catch(() => []);
  if (deployments.length) showDeployment(deployments[0]);

  const base = `#/job/${collection}/${encodeURIComponent(id)}`;
  const body = h('div', { id: 'tab-body' });
  main.append(head, msg, h('nav', { class: 'tabs' }, TABS.map((t) => h('a', { href: `${base}/${t}`, class: t === tab ? 'on' : '', 'data-tab': t }, t))), body);

  // the job's own state stream keeps the header current on every tab (the page renders anew after a resume)
  const st = stream(`/v1/${name}/metrics:stream?afterStep=${Number.MAX_SAFE_INTEGER}`, (ev, data) => {
    if (ev === 'state') job = data;
    else if (ev === 'progress') job = { ...job, jobProgress: data };
    else return;
    renderHead();
  });
  st.done.catch(() => undefined);
  stops.push(() => st.close());

  const pages = { curves, rollouts, logs, checkpoints, config };
  const stop = await (pages[tab] ?? curves)(body, name, () => job);
  if (stop) stops.push(stop);
  return () => stops.forEach((s) => s());
}

async function curves(body, name, getJob) {
  const held = h('div', { class: 'grid', id: 'heldout' });
  const grid = h('div', { class: 'grid', id: 'curves' });
  const moreGrid = h('div', { class: 'grid' });
  const more = h('details', { id: 'more-curves' }, h('summary', {}, 'More metrics (throughput, tokens, agent turns and tool calls, …)'), moreGrid);
  const note = h('div', { class: 'muted' });
  body.append(note, h('h2', {}, 'Training'), grid, h('h2', {}, 'Held-out evaluation'), held, more);
  more.addEventListener('toggle', () => {
    for (const { c } of charts.values()) c.resize();
  });
  let rows = [];
  let charts = new Map();
  let layout = '';
  let pending = false;
  const draw = () => {
    pending = false;
    const panels = metricPanels(rows);
    const key = JSON.stringify(panels);
    if (key !== layout) {
      layout = key;
      clear(grid);
      clear(moreGrid);
      charts = new Map(panels.map((p) => [p.title, { p, c: lineChart(p.more ? moreGrid : grid, p.title, p.keys) }]));
    }
    const xs = rows.map((r) => r.step);
    for (const { p, c } of charts.values()) c.set(xs, p.keys.map((k) => column(rows, k)));
    note.textContent = rows.length ? `${rows.length} steps` : 'no steps yet';
  };
  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };
  let heldChart;
  const loadHeld = async () => {
    const r = await api('GET', `/v1/${name}/evaluations`);
    const ev = r.evaluations || [];
    if (!ev.length) return clear(held, h('div', { class: 'muted' }, 'no held-out evaluation (set evaluationDataset or evalAutoCarveout)'));
    if (!heldChart) {
      clear(held);
      const k = ev[0].k;
      heldChart = lineChart(held, 'held-out pass rates and mean reward', HELDOUT_KEYS.map((x) => (x === 'pass_at_k' ? `pass@${k}` : x === 'pass1' ? 'greedy pass@1' : x === 'pass1_sampled' ? 'sampled pass@1' : x === 'mean_reward' ? 'greedy mean reward' : 'sampled mean reward')));
    }
    heldChart.set(ev.map((e) => e.step), HELDOUT_KEYS.map((k) => column(ev, k)));
  };
  await loadHeld().catch((e) => clear(held, errorBox(e)));
  // held-out evaluations land between steps (evalEvery): look again at most once a second
  let heldTimer;
  const heldSoon = () => {
    heldTimer ??= setTimeout(() => {
      heldTimer = undefined;
      loadHeld().catch(() => undefined);
    }, 1000);
  };
  const s = stream(`/v1/${name}/metrics:stream`, (ev, data) => {
    if (ev === 'metrics') {
      rows.push(data);
      schedule();
      heldSoon();
    } else if (ev === 'state' || ev === 'end') loadHeld().catch(() => undefined);
  });
  s.done.then(() => (note.textContent = `${rows.length} steps · the job is ${String(getJob().state).replace('JOB_STATE_', '').toLowerCase()}`)).catch((e) => body.prepend(errorBox(e)));
  draw();
  return () => {
    s.close();
    clearTimeout(heldTimer);
  };
}

async function rollouts(body, name, getJob) {
  const stepSel = h('select', { id: 'rollout-step' });
  const order = h('select', { id: 'rollout-order' }, h('option', { value: 'step' }, 'in order'), h('option', { value: 'score desc' }, 'score, best first'), h('option', { value: 'score' }, 'score, worst first'));
  const valid = h('select', { id: 'rollout-valid' }, h('option', { value: '' }, 'valid and invalid'), h('option', { value: 'true' }, 'valid only'), h('option', { value: 'false' }, 'invalid only'));
  const tbody = h('tbody');
  const more = h('div');
  const detail = h('div', { id: 'rollout-detail' });
  const steps = getJob().jobProgress?.step ?? 0;
  clear(stepSel, h('option', { value: '' }, 'all steps'), Array.from({ length: steps }, (_, i) => h('option', { value: i + 1, selected: i + 1 === steps }, `step ${i + 1}`)));
  body.append(h('div', { class: 'row' }, stepSel, order, valid), h('div', { style: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) minmax(0, 1fr)', gap: '14px' } },
    h('div', {}, h('table', { id: 'rollouts' }, h('thead', {}, h('tr', {}, ['step', 'group', '#', 'score', 'valid', 'reason', 'finish'].map((c) => h('th', {}, c)))), tbody), more), detail));
  const show = (r, tr) => {
    tbody.querySelectorAll('tr.sel').forEach((x) => x.classList.remove('sel'));
    tr.classList.add('sel');
    clear(detail, h('div', { class: 'panel' },
      h('h2', {}, `step ${r.step} · group ${r.group} · rollout ${r.index}`),
      h('div', {}, 'score ', h('strong', { id: 'detail-score' }, fmt(r.score)), ' · ', r.valid ? h('span', { class: 'ok' }, 'valid') : h('span', { class: 'error' }, 'invalid (not trained on)'), r.finishReason ? ` · finish: ${r.finishReason}` : ''),
      r.reason ? h('div', {}, h('span', { class: 'muted' }, 'reason: '), h('span', { id: 'detail-reason' }, r.reason)) : null,
      r.metrics && Object.keys(r.metrics).length ? h('table', { style: { width: 'auto', margin: '8px 0' } }, h('tbody', {}, Object.entries(r.metrics).map(([k, m]) => h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, fmt(m?.score ?? m)), h('td', { class: 'muted' }, m?.reason ?? ''))))) : null,
      h('h3', {}, 'Conversation'),
      h('div', { id: 'conversation' }, renderMessages(r.messages))));
  };
  let token = '';
  const load = async (append) => {
    const q = new URLSearchParams({ pageSize: '50', orderBy: order.value });
    if (stepSel.value) q.set('step', stepSel.value);
    if (valid.value) q.set('valid', valid.value);
    if (append && token) q.set('pageToken', token);
    try {
      const r = await api('GET', `/v1/${name}/rollouts?${q}`);
      token = r.nextPageToken;
      if (!append) clear(tbody);
      for (const ro of r.rollouts) {
        const tr = h('tr', { class: 'click', 'data-score': ro.score ?? '' }, h('td', {}, ro.step), h('td', {}, ro.group), h('td', {}, ro.index), h('td', { class: 'num' }, fmt(ro.score)), h('td', {}, ro.valid ? 'yes' : 'no'), h('td', {}, String(ro.reason ?? '').slice(0, 80)), h('td', {}, ro.finishReason ?? ''));
        tr.addEventListener('click', () => show(ro, tr));
        tbody.append(tr);
      }
      if (!tbody.children.length) tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'no rollouts')));
      clear(more, token ? h('button', { type: 'button', onclick: () => load(true) }, `more (${r.totalSize - tbody.children.length} left)`) : h('span', { class: 'muted' }, `${r.totalSize} rollouts`));
    } catch (e) {
      clear(more, errorBox(e));
    }
  };
  for (const el of [stepSel, order, valid]) el.addEventListener('change', () => load(false));
  await load(false);
}

async function logs(body, name) {
  const pre = h('pre', { class: 'logs', id: 'logs' });
  const state = h('div', { class: 'muted' }, 'following…');
  body.append(state, pre);
  const s = stream(`/v1/${name}/logs?follow=true`, (ev, data) => {
    if (ev !== 'log') return;
    const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(h('div', { class: data.stream }, `${data.time?.slice(11, 19) ?? ''} ${data.line}`));
    if (stick) pre.scrollTop = pre.scrollHeight;
  });
  s.done.then(() => (state.textContent = 'the job is not running; these are all its logs')).catch((e) => clear(state, errorBox(e)));
  return () => s.close();
}

async function checkpoints(body, name) {
  const r = await api('GET', `/v1/${name}/checkpoints`);
  const out = h('div');
  body.append(h('table', { id: 'checkpoints' }, h('thead', {}, h('tr', {}, h('th', {}, 'checkpoint'), h('th', {}, 'step'), h('th', {}, 'kind'), h('th', {}, ''))),
    h('tbody', {}, r.checkpoints.length ? r.checkpoints.map((c) => h('tr', {}, h('td', {}, h('code', {}, shortName(c.name))), h('td', {}, c.step ?? ''), h('td', {}, c.kind),
      h('td', {}, h('button', { type: 'button', onclick: () => download(`/v1/${c.name}:download`, `${shortName(name)}-${shortName(c.name)}.tar`).catch((e) => clear(out, errorBox(e))) }, 'download (tar)')))) : h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'no checkpoints yet')))), out);
}

async function config(body, name, getJob) {
  const { state: _s, status: _st, jobProgress: _p, updateTime: _u, ...spec } = getJob();
  body.append(h('pre', { id: 'config' }, JSON.stringify(spec, null, 2)));
  void name;
}
