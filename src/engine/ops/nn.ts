/** Transformer building blocks on the fused kernels: rmsnorm, rope, swiglu, softmax, embedding, dropout. */
import { Tensor, empty } from '../tensor.js';
import { Tensor16 } from '../tensor16.js';
import { addGrad, addGradAccumulate, addGradOverwrite, overwriteTargets, record } from '../tape.js';
import { alloc } from '../pool.js';
import { kernels } from '../backend.js';
import { ShapeError, checkInt32, fmt, sameShape } from '../shape.js';
import type { Rng } from '../rng.js';

function lastDim(op: string, x: Tensor): [rows: number, dim: number] {
  if (x.ndim < 1) throw new ShapeError(op, `input must have at least one dimension, got ${fmt(x.shape)}`);
  const dim = x.shape[x.ndim - 1];
  return [dim === 0 ? 0 : x.size / dim, dim];
}

/** y = x / rms(x) · w over the last dimension. x (..., dim), w (dim). */
export function rmsnorm(x: Tensor, w: Tensor, eps = 1e-6): Tensor {
  const [rows, dim] = lastDim('rmsnorm', x);
  if (w.ndim !== 1 || w.shape[0] !== dim) throw new ShapeError('rmsnorm', `weight ${fmt(w.shape)} does not match input ${fmt(x.shape)} (expected [${dim}])`);
  const out = empty(x.shape);
  const rstd = alloc(rows); // (rows) 1/rms, saved for the backward
  const K = kernels();
  K.rmsnormForward(x.data, w.data, out.data, rstd, rows, dim, eps);
  return record('rmsnorm', out, [x, w], (g) => {
    // The kernel always writes dx; dw is accumulated (null when w is frozen).
    const { bufs, commit } = overwriteTargets([x]);
    let dw: Float32Array | null = null;
    addGradAccumulate(w, (acc) => (dw = acc));
    K.rmsnormBackward(g, x.data, w.data, rstd, bufs[0], dw, rows, dim);
    commit();
  });
}

/** cos/sin tables (maxPos, headDim/2) for rope(): angle = pos · theta^(−2i/headDim). */
export function ropeTable(maxPos: number, headDim: number, theta = 10000): { cos: Float32Array; sin: Float32Array } {
  if (headDim % 2 !== 0) throw new ShapeError('ropeTable', `head size ${headDim} must be even`);
  const half = headDim / 2;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let i = 0; i < half; i++) {
    const inv = theta ** (-(2 * i) / headDim);
    for (let p = 0; p < maxPos; p++) {
      cos[p * half + i] = Math.cos(p * inv);
      sin[p * half + i] = Math.sin(p * inv);
    }
  }
  return { cos, sin };
}

/**
 * Rotary embedding (Hugging Face rotate_half layout). x (..., heads, headDim) where the leading
 * dimensions flatten to rows; positions (rows); table from ropeTable().
 */
export function rope(x: Tensor, positions: Int32Array, table: { cos: Float32Array; sin: Float32Array }): Tensor {
  if (x.ndim < 2) throw new ShapeError('rope', `input must be (..., heads, headDim), got ${fmt(x.shape)}`);
  const headDim = x.shape[x.ndim - 1];
  const heads = x.shape[x.ndim - 2];
  if (headDim % 2 !== 0) throw new ShapeError('rope', `head size ${headDim} must be even (input ${fmt(x.shape)})`);
  const rows = x.size / (heads * headDim);
  checkInt32('rope', 'positions', positions);
  if (positions.length !== rows) throw new ShapeError('rope', `${positions.length} positions for ${rows} rows of input ${fmt(x.shape)}`);
  const half = headDim / 2;
  const maxPos = table.cos.length / half;
  if (table.sin.length !== table.cos.length || !Number.isInteger(maxPos)) {
    throw new ShapeError('rope', `cos/sin tables of ${table.cos.length}/${table.sin.length} values do not fit head size ${headDim}`);
  }
  for (let i = 0; i < rows; i++) {
    if (!(positions[i] >= 0 && positions[i] < maxPos)) throw new ShapeError('rope', `position ${positions[i]} (row ${i}) is outside the table's ${maxPos} positions`);
  }
  const out = empty(x.shape);
  const K = kernels();
  K.rope(x.data, out.data, positions, table.cos, table.sin, rows, heads, headDim, false);
  return record('rope', out, [x], (g) => {
    addGradOverwrite(x, (dx) => K.rope(g, dx, positions, table.cos, table.sin, rows, heads, headDim, true));
  });
}

/** silu(gate) · up elementwise (the SwiGLU MLP's middle). */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  if (!sameShape(gate.shape, up.shape)) throw new ShapeError('swiglu', `gate ${fmt(gate.shape)} and up ${fmt(up.shape)} differ`);
  const n = gate.size;
  const out = empty(gate.shape);
  const K = kernels();
  K.swigluForward(gate.data, up.data, out.data, n);
  return record('swiglu', out, [gate, up], (g) => {
    const { bufs, commit } = overwriteTargets([gate, up]);
    K.swigluBackward(gate.data, up.data, g, bufs[0], bufs[1], n);
    commit();
  });
}

/** Softmax over the last dimension. */
export function softmax(x: Tensor): Tensor {
  const [rows, cols] = lastDim('softmax', x);
  const out = empty(x.shape);
  const K = kernels();
  K.softmaxForward(x.data, out.data, rows, cols);
  return record('softmax', out, [x], (g) => {
    addGradOverwrite(x, (dx) => K.softmaxBackward(out.data, g, dx, rows, cols));
  });
}

/** Log-softmax over the last dimension. */
export function logSoftmax(x: Tensor): Tensor {
  const [rows, cols] = lastDim('logSoftmax', x);
  const out = empty(x.shape);
  const K = kernels();
  K.logSoftmaxForward(x.data, out.data, rows, cols);
  return record('logSoftmax', out, [x], (g) => {
    addGradOverwrite(x, (dx) => K.logSoftmaxBackward(out.data, g, dx, rows, cols));
  });
}

/**
 * Rows of table picked by ids. table (vocab, dim); ids (n) with shape idsShape (default [n])
 * → out (...idsShape, dim). Out-of-range ids are an error.
 */
export function embedding(table: Tensor | Tensor16, ids: Int32Array, idsShape?: readonly number[]): Tensor {
  if (table.ndim !== 2) throw new ShapeError('embedding', `table must be (vocab, dim), got ${fmt(table.shape)}`);
  const [vocab, dim] = table.shape;
  checkInt32('embedding', 'ids', ids);
  const shape = idsShape ?? [ids.length];
  if (shape.reduce((p, d) => p * d, 1) !== ids.length) throw new ShapeError('embedding', `ids shape ${fmt(shape)} does not hold ${ids.length} ids`);
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < vocab)) throw new ShapeError('embedding', `id ${ids[i]} at position ${i} is outside the table's vocabulary of ${vocab} (table ${fmt(table.shape)})`);
  }
  const n = ids.length;
  const out = empty([...shape, dim]);
  if (table instanceof Tensor16) {
    table.gatherRows(ids, out.data, dim); // frozen: no gradient to record
    return out;
  }
  const K = kernels();
  K.embeddingForward(table.data, ids, out.data, n, dim);
  return record('embedding', out, [table], (g) => {
    addGradAccumulate(table, (acc) => K.embeddingBackward(g, ids, acc, n, dim));
  });
}

/**
 * Inverted dropout: zero each element with probability p, scale the rest by 1/(1−p).
 * p = 0 returns x itself. The mask is drawn from rng (reproducible).
 */
export function dropout(x: Tensor, p: number, rng: Rng): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const n = x.size;
  const mask = alloc(n); // (n) 0 or 1/(1−p)
  const keepScale = 1 / (1 - p);
  for (let i = 0; i < n; i++) mask[i] = rng.uniform() < p ? 0 : keepScale;
  const out = empty(x.shape);
  const xd = x.data;
  const od = out.data;
  for (let i = 0; i < n; i++) od[i] = xd[i] * mask[i];
  return record('dropout', out, [x], (g) => {
    addGrad(x, (buf, fresh) => {
      if (fresh) for (let i = 0; i < n; i++) buf[i] = g[i] * mask[i];
      else for (let i = 0; i < n; i++) buf[i] += g[i] * mask[i];
    });
  });
}
