// Step curves with uPlot (loaded as a global from /dashboard/vendor/uPlot.iife.min.js).
// A chart is a list of series over a shared x (the step); values may be null (a gap).

const PALETTE = ['#2a62d9', '#d9472a', '#1e8e3e', '#b7791f', '#8e44ad', '#16a085', '#c0392b', '#2c3e50', '#e67e22', '#7f8c8d'];

export function color(i) {
  return PALETTE[i % PALETTE.length];
}

/**
 * A chart titled `title` in a new element appended to `parent`; `labels` name the series.
 * Returns { set(xs, columns), el } where columns[i] holds series i's value at each x.
 */
export function lineChart(parent, title, labels, { height = 190, yRange } = {}) {
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.chart = title;
  const h3 = document.createElement('h3');
  h3.textContent = title;
  const plotEl = document.createElement('div');
  box.append(h3, plotEl);
  parent.append(box);
  let plot;
  let last = { xs: [], cols: labels.map(() => []) };
  const width = () => Math.max(280, (box.clientWidth || 420) - 16);
  const make = () => {
    const opts = {
      width: width(),
      height,
      scales: { x: { time: false }, y: { range: yRange ?? flatSafe } },
      // steps are integers: no tick at 1.5
      axes: [{ label: 'step', size: 34, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }, { size: 56 }],
      series: [{ label: 'step' }, ...labels.map((l, i) => ({ label: l, stroke: color(i), width: 1.6, spanGaps: true, points: { size: 4 } }))],
      legend: { live: true },
    };
    plot = new uPlot(opts, [last.xs, ...last.cols], plotEl);
  };
  const api = {
    el: box,
    set(xs, cols) {
      last = { xs, cols };
      if (!plot) make();
      else plot.setData([xs, ...cols]);
      box.dataset.points = String(xs.length);
    },
    resize() {
      if (plot) plot.setSize({ width: width(), height });
    },
  };
  return api;
}

/** uPlot's y range, except that a constant series (an all-zero KL) gets a narrow band around its value, not 0..100. */
function flatSafe(_u, min, max) {
  if (min === null || max === null) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    return [min - pad, max + pad];
  }
  const pad = (max - min) * 0.08;
  return [min - pad, max + pad];
}

/** The value of `key` in each row (NaN and missing → null). */
export function column(rows, key) {
  return rows.map((r) => (typeof r[key] === 'number' && Number.isFinite(r[key]) ? r[key] : null));
}

/**
 * Aligns several runs' rows on the union of their steps: returns xs and, for each run, a
 * column of `key` with null where that run has no step.
 */
export function alignRuns(runs, key) {
  const steps = [...new Set(runs.flatMap((rows) => rows.map((r) => r.step)))].sort((a, b) => a - b);
  const cols = runs.map((rows) => {
    const by = new Map(rows.map((r) => [r.step, r]));
    return steps.map((s) => {
      const v = by.get(s)?.[key];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
  });
  return { xs: steps, cols };
}

/**
 * The panels of a job page: each a title and the metric keys it overlays; `more` marks the
 * secondary ones (shown folded). `reward/*` keys, and any metric no panel names, are found in
 * the data, so every recorded number has a curve.
 */
export function metricPanels(rows) {
  const components = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => k.startsWith('reward/'))))].sort();
  const panels = [
    { title: 'reward', keys: ['reward_mean', 'reward_std', ...components] },
    { title: 'KL', keys: ['kl'] },
    { title: 'entropy', keys: ['entropy'] },
    { title: 'clip fractions', keys: ['clip_low', 'clip_high'] },
    { title: 'completion length', keys: ['completion_len_mean', 'completion_len_max'] },
    { title: 'zero-variance / invalid / truncated fractions', keys: ['zero_variance_fraction', 'invalid_fraction', 'truncated_fraction'] },
    { title: 'time split (s per step)', keys: ['time_sample_s', 'time_eval_s', 'time_train_s'] },
    { title: 'loss and grad norm', keys: ['loss', 'grad_norm'] },
    { title: 'learning rate', keys: ['lr'] },
    { title: 'throughput (tokens/s)', keys: ['sample_tokens_per_s', 'train_tokens_per_s', 'tokens_per_s'], more: true },
    { title: 'tokens and sequences per step', keys: ['sampled_tokens', 'inserted_tokens', 'trained_sequences'], more: true },
    { title: 'agent turns and tool calls', keys: ['turns_mean', 'turns_max', 'tool_calls_mean', 'tool_calls_max'], more: true },
    { title: 'tool errors, timeouts, rollout errors', keys: ['tool_error_fraction', 'timeout_fraction', 'error_fraction', 'tool_errors'], more: true },
  ];
  const known = new Set(['step', ...panels.flatMap((p) => p.keys)]);
  const others = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !known.has(k) && rows.some((r) => typeof r[k] === 'number')).sort();
  return [...panels, ...others.map((k) => ({ title: k, keys: [k], more: true }))]
    .map((p) => ({ ...p, keys: p.keys.filter((k) => rows.length === 0 || rows.some((r) => k in r)) })).filter((p) => p.keys.length);
}

/** Held-out evaluation curves: greedy and sampled pass@1, pass@k, mean reward. */
export const HELDOUT_KEYS = ['pass1', 'pass1_sampled', 'pass_at_k', 'mean_reward', 'mean_reward_sampled'];
