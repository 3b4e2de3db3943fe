/**
 * Reference rotary embedding, Hugging Face "rotate_half" layout: in each head vector of size D the
 * pair (i, i + D/2) is rotated by angle θ(pos, i), with cos/sin tables (maxPos, D/2).
 * x, y (rows, heads, D); positions (rows). inverse=true rotates by −θ (the backward pass).
 */
import { type Floats, dims, floats, ints, need, idsInRange } from './check.js';

export function rope(x: Floats, y: Floats, positions: Int32Array, cos: Floats, sin: Floats, rows: number, heads: number, headDim: number, inverse: boolean): void {
  const op = 'rope';
  dims(op, { rows, heads, headDim });
  need(headDim % 2 === 0, op, `headDim must be even, got ${headDim}`);
  const half = headDim / 2;
  const shape = `(${rows}, ${heads}, ${headDim})`;
  floats(op, 'x', x, rows * heads * headDim, shape);
  floats(op, 'y', y, rows * heads * headDim, shape);
  ints(op, 'positions', positions, rows, `(${rows})`);
  floats(op, 'cos', cos, 0, '(maxPos, D/2)');
  floats(op, 'sin', sin, 0, '(maxPos, D/2)');
  const maxPos = half === 0 ? 0 : Math.floor(Math.min(cos.length, sin.length) / half);
  if (half > 0) idsInRange(op, 'positions', positions, rows, maxPos);
  const sign = inverse ? -1 : 1;
  for (let r = 0; r < rows; r++) {
    const t = positions[r] * half;
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i];
        const s = sign * sin[t + i];
        const a = x[o + i];
        const b = x[o + i + half];
        y[o + i] = a * c - b * s;
        y[o + i + half] = b * c + a * s;
      }
    }
  }
}
