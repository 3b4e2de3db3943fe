/** Minimal SVG line charts for run reports: no dependency, readable in any browser or viewer. */

export interface Series {
  name: string;
  points: [number, number][];
  color?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function lineChart(title: string, xLabel: string, series: Series[], opts: { yMin?: number; yMax?: number; width?: number; height?: number } = {}): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 320;
  const m = { l: 56, r: 16, t: 32, b: 44 };
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let x0 = xs.length ? Math.min(...xs) : 0;
  let x1 = xs.length ? Math.max(...xs) : 1;
  let y0 = opts.yMin ?? (ys.length ? Math.min(...ys) : 0);
  let y1 = opts.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
  ];
  for (const t of niceTicks(y0, y1, 5)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  }
  for (const t of niceTicks(x0, x1, 8)) {
    parts.push(`<text x="${px(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#999"/>`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts.length <= 40 ? pts : []) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    parts.push(`<rect x="${m.l + 10}" y="${m.t + 8 + i * 16}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${m.l + 26}" y="${m.t + 17 + i * 16}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Centred moving average (window w), to show a trend through noisy per-step rewards. */
export function movingAverage(points: [number, number][], w: number): [number, number][] {
  return points.map(([x], i) => {
    const lo = Math.max(0, i - Math.floor(w / 2));
    const hi = Math.min(points.length, lo + w);
    const ys = points.slice(lo, hi).map((p) => p[1]).filter(Number.isFinite);
    return [x, ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length)];
  });
}
