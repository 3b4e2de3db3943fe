/** Layout ops: reshape (shares data), permute/transpose, slice and concat (copies). */
import { Tensor, empty } from '../tensor.js';
import { addGrad, record } from '../tape.js';
import { type Shape, ShapeError, cachedIndex, fmt, normAxis, numel } from '../shape.js';

/** Same data under a new shape (one dimension may be -1). No copy. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free !== s.lastIndexOf(-1)) throw new ShapeError('reshape', `only one -1 allowed in ${fmt(shape)}`);
  if (free >= 0) {
    const known = s.reduce((p, d, i) => (i === free ? p : p * d), 1);
    if (known === 0 || x.size % known !== 0) throw new ShapeError('reshape', `cannot reshape ${fmt(x.shape)} to ${fmt(shape)}`);
    s[free] = x.size / known;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || numel(s) !== x.size) {
    throw new ShapeError('reshape', `cannot reshape ${fmt(x.shape)} (${x.size} elements) to ${fmt(shape)}`);
  }
  const out = new Tensor(x.data, s, false, x.storage);
  const n = x.size;
  return record('reshape', out, [x], (g) => {
    addGrad(x, (buf, fresh) => {
      if (fresh) buf.set(g);
      else for (let i = 0; i < n; i++) buf[i] += g[i];
    });
  });
}

/** Alias of reshape (the data is never copied). */
export const view = reshape;

/** out[i_perm[0], i_perm[1], ...] = x[i_0, i_1, ...]: out.shape[k] = x.shape[dims[k]]. Copies. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const r = x.ndim;
  const d = dims.map((a) => normAxis('permute', a, r, x.shape));
  if (d.length !== r || new Set(d).size !== r) throw new ShapeError('permute', `dims ${fmt(dims)} are not a permutation of the axes of ${fmt(x.shape)}`);
  const outShape = d.map((a) => x.shape[a]);
  const out = empty(outShape);
  const src = cachedIndex(`p${x.shape.join(',')}|${d.join(',')}`, () => permuteIndex(x.shape, d));
  const xd = x.data;
  const od = out.data;
  const n = od.length;
  for (let i = 0; i < n; i++) od[i] = xd[src[i]];
  return record('permute', out, [x], (g) => {
    addGrad(x, (buf, fresh) => {
      if (fresh) for (let i = 0; i < n; i++) buf[src[i]] = g[i];
      else for (let i = 0; i < n; i++) buf[src[i]] += g[i];
    });
  });
}

/** Swap two axes (a copy). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const r = x.ndim;
  const dims = [...Array(r).keys()];
  const i = normAxis('transpose', a, r, x.shape);
  const j = normAxis('transpose', b, r, x.shape);
  [dims[i], dims[j]] = [dims[j], dims[i]];
  return permute(x, dims);
}

/** For each element of the permuted output, its index in x. */
function permuteIndex(shape: Shape, dims: number[]): Int32Array {
  const r = shape.length;
  const inStrides = new Array<number>(r);
  let st = 1;
  for (let k = r - 1; k >= 0; k--) {
    inStrides[k] = st;
    st *= shape[k];
  }
  const outShape = dims.map((a) => shape[a]);
  const strides = dims.map((a) => inStrides[a]);
  const n = numel(shape);
  const idx = new Int32Array(n);
  const counter = new Array<number>(r).fill(0);
  let off = 0;
  for (let e = 0; e < n; e++) {
    idx[e] = off;
    for (let k = r - 1; k >= 0; k--) {
      counter[k]++;
      off += strides[k];
      if (counter[k] < outShape[k]) break;
      off -= strides[k] * counter[k];
      counter[k] = 0;
    }
  }
  return idx;
}

/** x viewed as (outer, len, inner) around axis. */
function around(x: Shape, ax: number): [number, number, number] {
  return [numel(x.slice(0, ax)), x[ax], numel(x.slice(ax + 1))];
}

/** Elements start..end-1 (end exclusive, negatives count from the end) along axis. Copies. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const ax = normAxis('slice', axis, x.ndim, x.shape);
  const len = x.shape[ax];
  const s = start < 0 ? start + len : start;
  const e = end === undefined ? len : end < 0 ? end + len : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > len || s > e) {
    throw new ShapeError('slice', `range [${start}, ${end ?? len}) is out of bounds for axis ${axis} of ${fmt(x.shape)}`);
  }
  const [outer, , inner] = around(x.shape, ax);
  const shape = [...x.shape];
  shape[ax] = e - s;
  const out = empty(shape);
  const chunk = (e - s) * inner;
  const xd = x.data;
  const od = out.data;
  for (let o = 0; o < outer; o++) od.set(xd.subarray((o * len + s) * inner, (o * len + s) * inner + chunk), o * chunk);
  return record('slice', out, [x], (g) => {
    addGrad(x, (buf, fresh) => {
      if (fresh) buf.fill(0);
      for (let o = 0; o < outer; o++) {
        const base = (o * len + s) * inner;
        for (let i = 0; i < chunk; i++) buf[base + i] += g[o * chunk + i];
      }
    });
  });
}

/** Join tensors along axis; all other dimensions must match. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
  const first = xs[0];
  const ax = normAxis('concat', axis, first.ndim, first.shape);
  for (const t of xs) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError('concat', `shapes ${xs.map((q) => fmt(q.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  const total = xs.reduce((p, t) => p + t.shape[ax], 0);
  const shape = [...first.shape];
  shape[ax] = total;
  const out = empty(shape);
  const [outer, , inner] = around(first.shape, ax);
  const od = out.data;
  let off = 0;
  const offsets: number[] = [];
  for (const t of xs) {
    offsets.push(off);
    const chunk = t.shape[ax] * inner;
    const td = t.data;
    for (let o = 0; o < outer; o++) od.set(td.subarray(o * chunk, (o + 1) * chunk), o * total * inner + off * inner);
    off += t.shape[ax];
  }
  return record('concat', out, xs, (g) => {
    xs.forEach((t, k) => {
      const chunk = t.shape[ax] * inner;
      const o0 = offsets[k] * inner;
      addGrad(t, (buf, fresh) => {
        for (let o = 0; o < outer; o++) {
          const src = o * total * inner + o0;
          if (fresh) buf.set(g.subarray(src, src + chunk), o * chunk);
          else for (let i = 0; i < chunk; i++) buf[o * chunk + i] += g[src + i];
        }
      });
    });
  });
}
