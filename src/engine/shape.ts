/** Shape helpers and the error every op throws on bad shapes (naming the op and the shapes). */

export type Shape = readonly number[];

export class ShapeError extends Error {
  constructor(op: string, detail: string) {
    super(`${op}: ${detail}`);
    this.name = 'ShapeError';
  }
}

export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid shape ${fmt(shape)} (dimensions must be non-negative integers)`);
  }
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Normalise a possibly negative axis for a tensor of rank `rank`. */
export function normAxis(op: string, axis: number, rank: number, shape: Shape): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) throw new ShapeError(op, `axis ${axis} is out of range for shape ${fmt(shape)}`);
  return a;
}

/** NumPy broadcasting of any number of shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else throw new ShapeError(op, `shapes ${shapes.map(fmt).join(' and ')} cannot be broadcast together`);
    }
  }
  return out;
}

const indexCache = new Map<string, Int32Array>();
const INDEX_CACHE_LIMIT = 64;

/**
 * For each element of an output of shape `out`, the index of the element of a broadcast input of
 * shape `inp` it reads; null when the shapes are equal (identity). Cached: it only depends on shapes.
 */
export function broadcastIndex(out: Shape, inp: Shape): Int32Array | null {
  if (sameShape(out, inp)) return null;
  const key = `${out.join(',')}|${inp.join(',')}`;
  const hit = indexCache.get(key);
  if (hit) return hit;
  const n = numel(out);
  const idx = new Int32Array(n);
  const rank = out.length;
  // Strides of the input aligned to the output's rank, 0 on broadcast dimensions.
  const strides = new Array<number>(rank).fill(0);
  let st = 1;
  for (let i = inp.length - 1; i >= 0; i--) {
    const o = rank - inp.length + i;
    strides[o] = inp[i] === 1 ? 0 : st;
    st *= inp[i];
  }
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let e = 0; e < n; e++) {
    idx[e] = off;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      off += strides[d];
      if (counter[d] < out[d]) break;
      off -= strides[d] * counter[d];
      counter[d] = 0;
    }
  }
  if (indexCache.size >= INDEX_CACHE_LIMIT) indexCache.delete(indexCache.keys().next().value as string);
  indexCache.set(key, idx);
  return idx;
}
