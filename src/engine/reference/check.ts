/**
 * Argument checks shared by the reference kernels. The reference is also the fallback engine,
 * so a bad call must fail with a message naming the op and the shapes instead of reading past
 * a typed array's end (which yields undefined → NaN, a silent wrong answer).
 * Buffers may be longer than needed (pooled buffers); they may never be shorter.
 */

/** Float32Array in the public contract; Float64Array for float64 finite-difference checks. */
export type Floats = Float32Array | Float64Array;

export class KernelArgumentError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'KernelArgumentError';
  }
}

export function need(cond: boolean, op: string, message: string): asserts cond {
  if (!cond) throw new KernelArgumentError(op, message);
}

/** Dimensions must be non-negative integers. */
export function dims(op: string, d: Record<string, number>): void {
  for (const [k, v] of Object.entries(d)) {
    need(Number.isInteger(v) && v >= 0, op, `${k} must be a non-negative integer, got ${v}`);
  }
}

export function floats(op: string, name: string, a: unknown, len: number, shape: string): void {
  need(a instanceof Float32Array || a instanceof Float64Array, op, `${name} must be a Float32Array ${shape}, got ${describe(a)}`);
  need((a as Floats).length >= len, op, `${name} has ${(a as Floats).length} elements, needs ${len} for shape ${shape}`);
}

export function ints(op: string, name: string, a: unknown, len: number, shape: string): void {
  need(a instanceof Int32Array, op, `${name} must be an Int32Array ${shape}, got ${describe(a)}`);
  need((a as Int32Array).length >= len, op, `${name} has ${(a as Int32Array).length} elements, needs ${len} for shape ${shape}`);
}

/** Every ids[i] (i < n) in [0, bound); `allowNegative` lets negative values through (ignored targets). */
export function idsInRange(op: string, name: string, ids: Int32Array, n: number, bound: number, allowNegative = false): void {
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (id >= bound || (id < 0 && !allowNegative)) {
      throw new KernelArgumentError(op, `${name}[${i}] = ${id} is out of range [0, ${bound})`);
    }
  }
}

function describe(a: unknown): string {
  if (a === null) return 'null';
  if (typeof a !== 'object') return typeof a;
  return (a as object).constructor?.name ?? 'object';
}
