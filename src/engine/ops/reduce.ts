/** Sums and means, over everything or along one axis (float64 accumulation). */
import { Tensor, empty } from '../tensor.js';
import { addGrad, record } from '../tape.js';
import { normAxis } from '../shape.js';

export interface ReduceOptions {
  /** Keep the reduced axis as size 1 (default false). */
  keepDims?: boolean;
}

/**
 * Sum of all elements (shape []) or along `axis` (that dimension removed unless keepDims).
 * x (outer, n, inner) viewed around the axis → out (outer, inner).
 */
export function sum(x: Tensor, axis?: number, opts?: ReduceOptions): Tensor {
  return reduce('sum', x, axis, opts, 1);
}

/** Mean of all elements or along `axis`. */
export function mean(x: Tensor, axis?: number, opts?: ReduceOptions): Tensor {
  const n = axis === undefined ? x.size : x.shape[normAxis('mean', axis, x.ndim, x.shape)];
  return reduce('mean', x, axis, opts, n === 0 ? NaN : 1 / n);
}

function reduce(op: string, x: Tensor, axis: number | undefined, opts: ReduceOptions | undefined, factor: number): Tensor {
  let outer: number;
  let n: number;
  let inner: number;
  let shape: number[];
  if (axis === undefined) {
    outer = 1;
    n = x.size;
    inner = 1;
    shape = opts?.keepDims ? x.shape.map(() => 1) : [];
  } else {
    const ax = normAxis(op, axis, x.ndim, x.shape);
    outer = x.shape.slice(0, ax).reduce((p, d) => p * d, 1);
    n = x.shape[ax];
    inner = x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
    shape = [...x.shape];
    if (opts?.keepDims) shape[ax] = 1;
    else shape.splice(ax, 1);
  }
  const out = empty(shape);
  const xd = x.data;
  const od = out.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let s = 0;
      const base = o * n * inner + i;
      for (let j = 0; j < n; j++) s += xd[base + j * inner];
      od[o * inner + i] = s * factor;
    }
  }
  return record(op, out, [x], (g) => {
    addGrad(x, (buf, fresh) => {
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const gv = g[o * inner + i] * factor;
          const base = o * n * inner + i;
          if (fresh) for (let j = 0; j < n; j++) buf[base + j * inner] = gv;
          else for (let j = 0; j < n; j++) buf[base + j * inner] += gv;
        }
      }
    });
  });
}
