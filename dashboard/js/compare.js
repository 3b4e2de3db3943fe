// Compare runs: pick jobs, see their curves overlaid (one chart per metric, one line per job) and
// the differences between their configurations.
import { acct, allMetrics, api, listAll } from './api.js';
import { alignRuns, HELDOUT_KEYS, lineChart, metricPanels } from './charts.js';
import { clear, errorBox, h, jobHref, shortName } from './ui.js';

/** Flattens a JSON object to dotted paths → values (arrays as JSON). */
export function flatten(o, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(o ?? {})) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, p, out);
    else out[p] = JSON.stringify(v);
  }
  return out;
}

const NOT_CONFIG = new Set(['name', 'state', 'status', 'createTime', 'updateTime', 'jobProgress', 'attempts', 'output']);

export async function comparePage(main, _m, params) {
  const chosen = (params.get('jobs') || '').split(',').filter(Boolean);
  const all = (await Promise.all(['reinforcementFineTuningJobs', 'supervisedFineTuningJobs'].map((c) => listAll(acct(`/${c}`), c)))).flat();
  const picker = h('div', { class: 'panel' }, h('div', { class: 'muted' }, 'Pick the runs to compare:'),
    h('div', { class: 'row' }, all.map((j) => h('label', {}, h('input', { type: 'checkbox', value: j.name, checked: chosen.includes(j.name), onchange: (ev) => {
      const next = ev.target.checked ? [...chosen, j.name] : chosen.filter((n) => n !== j.name);
      location.hash = `#/compare?jobs=${next.map(encodeURIComponent).join(',')}`;
    } }), ` ${shortName(j.name)} `))));
  main.append(h('h1', {}, 'Compare runs'), picker);
  if (chosen.length === 0) return;
  const out = h('div');
  main.append(out);
  try {
    const jobs = await Promise.all(chosen.map((n) => api('GET', `/v1/${n}`)));
    const runs = await Promise.all(chosen.map((n) => allMetrics(n)));
    const labels = jobs.map((j) => shortName(j.name));
    const grid = h('div', { class: 'grid', id: 'compare-curves' });
    out.append(h('h2', {}, 'Curves'), grid);
    const moreGrid = h('div', { class: 'grid' });
    for (const p of metricPanels(runs.flat()))
      for (const key of p.keys) {
        const { xs, cols } = alignRuns(runs, key);
        if (cols.every((c) => c.every((v) => v === null))) continue;
        lineChart(p.more ? moreGrid : grid, key, labels).set(xs, cols);
      }
    out.append(h('details', {}, h('summary', {}, 'More metrics'), moreGrid));
    const evals = await Promise.all(chosen.map((n) => api('GET', `/v1/${n}/evaluations`).then((r) => r.evaluations || [])));
    if (evals.some((e) => e.length)) {
      const held = h('div', { class: 'grid', id: 'compare-heldout' });
      out.append(h('h2', {}, 'Held-out evaluation'), held);
      for (const key of HELDOUT_KEYS) {
        const { xs, cols } = alignRuns(evals, key);
        if (!cols.every((c) => c.every((v) => v === null))) lineChart(held, `held-out ${key}`, labels).set(xs, cols);
      }
    }
    const flat = jobs.map((j) => flatten(Object.fromEntries(Object.entries(j).filter(([k]) => !NOT_CONFIG.has(k)))));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
    const differs = (k) => new Set(flat.map((f) => f[k])).size > 1;
    const showAll = h('input', { type: 'checkbox', id: 'diff-all' });
    const table = h('table', { class: 'diff', id: 'config-diff' });
    const render = () => clear(table,
      h('thead', {}, h('tr', {}, h('th', {}, 'field'), labels.map((l, i) => h('th', {}, h('a', { href: jobHref(jobs[i].name) }, l))))),
      h('tbody', {}, keys.filter((k) => showAll.checked || differs(k)).map((k) => h('tr', { 'data-field': k }, h('td', {}, h('code', {}, k)), flat.map((f) => h('td', { class: differs(k) ? 'changed' : '' }, f[k] ?? '—'))))));
    showAll.addEventListener('change', render);
    render();
    out.append(h('h2', {}, 'Configuration'), h('label', {}, showAll, ' show identical fields too'), table);
  } catch (e) {
    out.append(errorBox(e));
  }
}
