/** Reference RMSNorm. x, y, dy, dx (rows, dim); w, dw (dim); rstd (rows). */
import { type Floats, dims, floats } from './check.js';

function checkRms(op: string, rows: number, dim: number, arrays: [string, unknown, number][]): void {
  dims(op, { rows, dim });
  const shapes: Record<number, string> = { [rows * dim]: `(${rows}, ${dim})`, [dim]: `(${dim})`, [rows]: `(${rows})` };
  for (const [name, a, len] of arrays) floats(op, name, a, len, shapes[len] ?? String(len));
}

export function rmsnormForward(x: Floats, w: Floats, y: Floats, rstd: Floats, rows: number, dim: number, eps: number): void {
  checkRms('rmsnormForward', rows, dim, [['x', x, rows * dim], ['w', w, dim], ['y', y, rows * dim], ['rstd', rstd, rows]]);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
    const s = 1 / Math.sqrt(ss / dim + eps);
    rstd[r] = s;
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * s * w[i];
  }
}

/**
 * With x̂ = x·s (s = rstd) and g = dy ⊙ w: dx = s · (g − x̂ · mean(g ⊙ x̂)); dw += Σ_rows dy ⊙ x̂.
 * Rows are accumulated into dw in order, so the result is deterministic.
 */
export function rmsnormBackward(dy: Floats, x: Floats, w: Floats, rstd: Floats, dx: Floats, dw: Floats | null, rows: number, dim: number): void {
  const arrays: [string, unknown, number][] = [['dy', dy, rows * dim], ['x', x, rows * dim], ['w', w, dim], ['rstd', rstd, rows], ['dx', dx, rows * dim]];
  if (dw !== null) arrays.push(['dw', dw, dim]);
  checkRms('rmsnormBackward', rows, dim, arrays);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const s = rstd[r];
    let dot = 0;
    for (let i = 0; i < dim; i++) dot += dy[o + i] * w[i] * x[o + i] * s;
    const c = dot / dim;
    for (let i = 0; i < dim; i++) {
      const xh = x[o + i] * s;
      const g = dy[o + i] * w[i];
      if (dw !== null) dw[i] += dy[o + i] * xh;
      dx[o + i] = s * (g - xh * c);
    }
  }
}
