// The job list: RFT and SFT jobs with state, progress, latest reward and creation time, refreshed
// every few seconds; tick rows to compare them.
import { acct, api, listAll } from './api.js';
import { clear, errorBox, fmt, h, jobHref, progressBar, shortName, stateBadge, when } from './ui.js';

const KINDS = [
  ['reinforcementFineTuningJobs', 'RFT'],
  ['supervisedFineTuningJobs', 'SFT'],
];

/** The latest step's metrics of a job (one small request). */
async function lastMetrics(job) {
  const step = job.jobProgress?.step ?? 0;
  if (step < 1) return undefined;
  const r = await api('GET', `/v1/${job.name}/metrics?afterStep=${step - 1}&pageSize=1`);
  return r.metrics?.[0];
}

export async function jobsPage(main) {
  const picked = new Set();
  const compareBtn = h('button', { type: 'button', disabled: true, onclick: () => (location.hash = `#/compare?jobs=${[...picked].map(encodeURIComponent).join(',')}`) }, 'Compare selected');
  const body = h('tbody');
  const status = h('div');
  main.append(
    h('div', { class: 'row' }, h('h1', {}, 'Fine-tuning jobs'), h('span', { class: 'spacer' }), compareBtn, h('a', { href: '#/new' }, h('button', { class: 'primary', type: 'button' }, 'New job'))),
    status,
    h('table', { id: 'jobs' },
      h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'job'), h('th', {}, 'kind'), h('th', {}, 'state'), h('th', {}, 'progress'), h('th', { class: 'num' }, 'reward'), h('th', {}, 'created'))),
      body),
  );
  const rewards = new Map();
  let timer;
  const refresh = async () => {
    try {
      const lists = await Promise.all(KINDS.map(([c]) => listAll(`${acct(`/${c}`)}?orderBy=${encodeURIComponent('createTime desc')}`, c)));
      const jobs = lists.flatMap((l, i) => l.map((j) => ({ ...j, kind: KINDS[i][1] }))).sort((a, b) => String(b.createTime).localeCompare(String(a.createTime)));
      await Promise.all(jobs.map(async (j) => {
        const key = `${j.name}@${j.jobProgress?.step}`;
        if (!rewards.has(key)) rewards.set(key, await lastMetrics(j).catch(() => undefined));
        j.last = rewards.get(key);
      }));
      clear(status);
      clear(body, jobs.length ? jobs.map((j) => h('tr', { class: 'click', 'data-job': j.name, onclick: (ev) => { if (ev.target.type !== 'checkbox') location.hash = jobHref(j.name); } },
        h('td', {}, h('input', { type: 'checkbox', checked: picked.has(j.name), onchange: (ev) => { ev.target.checked ? picked.add(j.name) : picked.delete(j.name); compareBtn.disabled = picked.size < 2; } })),
        h('td', {}, h('a', { href: jobHref(j.name) }, shortName(j.name)), j.displayName && j.displayName !== shortName(j.name) ? h('div', { class: 'muted' }, j.displayName) : null),
        h('td', {}, j.kind),
        h('td', { class: 'job-state' }, stateBadge(j.state), j.status?.message && j.state === 'JOB_STATE_FAILED' ? h('div', { class: 'muted' }, j.status.message.slice(0, 120)) : null),
        h('td', {}, progressBar(j.jobProgress)),
        h('td', { class: 'num' }, fmt(j.last?.reward_mean)),
        h('td', {}, when(j.createTime)),
      )) : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No jobs yet. ', h('a', { href: '#/new' }, 'Create one.'))));
    } catch (e) {
      clear(status, errorBox(e));
    }
    timer = setTimeout(refresh, 3000);
  };
  await refresh();
  return () => clearTimeout(timer);
}
