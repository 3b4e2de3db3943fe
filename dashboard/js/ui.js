// Tiny DOM helpers: h(tag, attrs, ...children), formatting, and the error box every page uses.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmt(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(digits);
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function stateBadge(state) {
  return h('span', { class: `state ${state}` }, String(state || '').replace('JOB_STATE_', ''));
}

export function progressBar(p) {
  const pct = Math.max(0, Math.min(100, p?.percent ?? 0));
  return h('span', {}, h('span', { class: 'bar' }, h('i', { style: { width: `${pct}%` } })), `${p?.step ?? 0}/${p?.totalSteps ?? '?'}`);
}

/** An error as a message plus, for a refused body, every problem with its path or line. */
export function errorBox(e) {
  const details = e?.details || [];
  return h('div', { class: 'error', role: 'alert' },
    h('div', {}, e?.message || String(e)),
    details.length ? h('ul', { class: 'issues' }, details.map((d) => h('li', {}, d.path ? h('code', {}, d.path) : null, d.path ? ': ' : '', d.message))) : null);
}

/** A short id from a resource name (`accounts/a/reinforcementFineTuningJobs/x` → `x`). */
export function shortName(name) {
  return String(name || '').split('/').pop();
}

/** `accounts/a/reinforcementFineTuningJobs/x` → `#/job/reinforcementFineTuningJobs/x`. */
export function jobHref(name) {
  const parts = String(name).split('/');
  return `#/job/${parts[2]}/${encodeURIComponent(parts[3])}`;
}
