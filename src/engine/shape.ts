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
 * Index maps depend only on shapes, and a training loop repeats the same shapes, so they are
 * built once and cached (a bounded map, oldest entry evicted first).
 */
export function cachedIndex(key: string, build: () => Int32Array): Int32Array {
  const hit = indexCache.get(key);
  if (hit) return hit;
  const idx = build();
  if (indexCache.size >= INDEX_CACHE_LIMIT) indexCache.delete(indexCache.keys().next().value as string);
  indexCache.set(key, idx);
  return idx;
}

/**
 * How an input broadcast to shape `out` is read: output element i reads input element
 * bidx(plan, i). kind 0: identity (same shape); 1: tile, i % m (the input is the output's trailing
 * dimensions, m = its size; a scalar is m = 1); 2: repeat, ⌊i / m⌋ (the input is the output's
 * leading dimensions followed by 1s, e.g. a (rows, 1) column); 3: any other pattern, through an
 * index map (cached when small).
 */
export interface Broadcast {
  readonly kind: 0 | 1 | 2 | 3;
  readonly m: number;
  readonly idx: Int32Array | null;
}

const IDENTITY: Broadcast = { kind: 0, m: 0, idx: null };

export function broadcastPlan(out: Shape, inp: Shape): Broadcast {
  if (sameShape(out, inp)) return IDENTITY;
  const rank = out.length;
  const al = [...new Array<number>(rank - inp.length).fill(1), ...inp];
  // Tile: leading 1s, then the output's own trailing dimensions.
  let j = 0;
  while (j < rank && al[j] === 1 && out[j] !== 1) j++;
  let tail = true;
  for (let d = j; d < rank; d++) if (al[d] !== out[d]) tail = false;
  if (tail) return { kind: 1, m: numel(out.slice(j)), idx: null };
  // Repeat: the output's own leading dimensions, then 1s.
  let e = rank;
  while (e > 0 && al[e - 1] === 1 && out[e - 1] !== 1) e--;
  let head = true;
  for (let d = 0; d < e; d++) if (al[d] !== out[d]) head = false;
  if (head) return { kind: 2, m: numel(out.slice(e)), idx: null };
  const n = numel(out);
  const build = () => buildBroadcastIndex(out, inp);
  return { kind: 3, m: 0, idx: n <= 1 << 16 ? cachedIndex(`b${out.join(',')}|${inp.join(',')}`, build) : build() };
}

/** The input element that output element i reads under plan p (see Broadcast). */
export function bidx(p: Broadcast, i: number): number {
  return p.kind === 0 ? i : p.kind === 1 ? i % p.m : p.kind === 2 ? Math.floor(i / p.m) : p.idx![i];
}

function buildBroadcastIndex(out: Shape, inp: Shape): Int32Array {
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
  return idx;
}

/** An Int32Array of exactly n entries (ids, positions, targets); anything else is a clear error. */
export function checkInt32(op: string, name: string, a: unknown, n?: number): asserts a is Int32Array {
  if (!(a instanceof Int32Array)) {
    const got = a === null ? 'null' : Array.isArray(a) ? 'an Array' : typeof a === 'object' ? (a as object).constructor?.name ?? 'an object' : typeof a;
    throw new ShapeError(op, `${name} must be an Int32Array, got ${got} (convert with int32(...))`);
  }
  if (n !== undefined && a.length !== n) throw new ShapeError(op, `${name} has ${a.length} entries, expected ${n}`);
}
