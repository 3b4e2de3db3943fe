/**
 * Tensor: a row-major Float32Array with a shape, an optional gradient, and (for op outputs) the
 * tape node that made it. Tensors are always contiguous; reshape() shares data, every other
 * layout change copies.
 */
import { alloc, currentScope, newFloats } from './pool.js';
import { type Shape, ShapeError, checkShape, fmt, numel } from './shape.js';
import type { Rng } from './rng.js';

/** One recorded op: its inputs and how to send an output gradient back to them. */
export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** g has the output's shape; the rule adds each input's contribution through tape.ts helpers. */
  readonly backward: (g: Float32Array) => void;
}

export class Tensor {
  #data: Float32Array | null;
  readonly shape: readonly number[];
  readonly size: number;
  /** Leaf: collect a gradient in .grad. Op output: some input needs a gradient. */
  requiresGrad: boolean;
  /** The accumulated gradient of a leaf that requires it (same shape as data); null until backward. */
  grad: Float32Array | null = null;
  /** Optional name used in error messages (e.g. the HF tensor name). */
  name: string | undefined;
  /** @internal The op that produced this tensor (null for leaves and in noGrad). */
  node: Node | null = null;
  /** @internal The pooled buffer this tensor's data lives in, when it came from the pool. */
  storage: Float32Array | null;
  /** @internal Survive the end of the scope that owns it. */
  kept = false;
  /** @internal .grad holds zeros that the next contribution may overwrite. */
  gradFresh = false;

  /** Prefer the creation functions (tensor, zeros, ...); this wraps data without copying. */
  constructor(data: Float32Array, shape: Shape, requiresGrad = false, storage: Float32Array | null = null) {
    checkShape('tensor', shape);
    if (!((data as unknown) instanceof Float32Array || (data as unknown) instanceof Float64Array)) {
      throw new ShapeError('tensor', `data must be a Float32Array, got ${(data as object)?.constructor?.name ?? typeof data} (use tensor(values, shape) to convert)`);
    }
    const n = numel(shape);
    if (data.length !== n) throw new ShapeError('tensor', `data has ${data.length} elements but shape ${fmt(shape)} needs ${n}`);
    this.#data = data;
    this.shape = Object.freeze([...shape]);
    this.size = n;
    this.requiresGrad = requiresGrad;
    this.storage = storage;
    currentScope()?.disposables.push(this);
  }

  /** The values. Throws once the scope that owned this tensor has ended. */
  get data(): Float32Array {
    const d = this.#data;
    if (d === null) {
      throw new Error(`tensor ${this.describe()} was released when its scope ended; return it from scope() or keep() it to use it afterwards`);
    }
    return d;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** True once released by the end of its scope. */
  get disposed(): boolean {
    return this.#data === null;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError('item', `tensor has shape ${fmt(this.shape)}, not one element`);
    return this.data[0];
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Same data, cut from the tape: gradients do not flow through the result. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, false, this.storage);
  }

  /** Keep this tensor (and its data) alive past the end of the scope that owns it. It is detached from the tape then. */
  keep(): this {
    this.kept = true;
    return this;
  }

  /** Zero the gradient, keeping its buffer (no allocation in a training loop). */
  zeroGrad(): void {
    if (this.grad) {
      this.grad.fill(0);
      this.gradFresh = true;
    }
  }

  describe(): string {
    return `${this.name ? `"${this.name}" ` : ''}${fmt(this.shape)}`;
  }

  toString(): string {
    const head = Array.from(this.#data?.subarray(0, 8) ?? []).map((v) => v.toPrecision(4));
    return `Tensor(${this.describe()}${this.requiresGrad ? ', requiresGrad' : ''}, [${head.join(', ')}${this.size > 8 ? ', …' : ''}])`;
  }

  /** @internal Called when the owning scope ends. */
  dispose(): void {
    this.#data = null;
    this.node = null;
    this.grad = null;
  }

  /** @internal Detach from the tape when kept past its scope (the saved buffers are gone). */
  unlink(): void {
    if (this.node) {
      this.node = null;
      this.requiresGrad = false;
    }
  }
}

export interface TensorOptions {
  requiresGrad?: boolean;
  name?: string;
}

function make(data: Float32Array, shape: Shape, opts: TensorOptions | undefined, storage: Float32Array | null): Tensor {
  const t = new Tensor(data, shape, opts?.requiresGrad ?? false, storage);
  if (opts?.name) t.name = opts.name;
  return t;
}

/**
 * A tensor over `data` (a Float32Array is used as is, without a copy; numbers are copied).
 * shape defaults to [data.length].
 * @example const w = tensor(new Float32Array(6), [2, 3], { requiresGrad: true });
 */
export function tensor(data: Float32Array | ArrayLike<number>, shape?: Shape, opts?: TensorOptions): Tensor {
  let d: Float32Array;
  if (data instanceof Float32Array) d = data;
  else {
    d = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number') throw new Error(`tensor: element ${i} is ${typeof v}, not a number`);
      d[i] = v;
    }
  }
  return make(d, shape ?? [d.length], opts, null);
}

/** A scalar (shape []). */
export function scalar(v: number, opts?: TensorOptions): Tensor {
  const d = newFloats(1);
  d[0] = v;
  return make(d, [], opts, null);
}

/** An uninitialised pooled tensor (op outputs). */
export function empty(shape: Shape, opts?: TensorOptions): Tensor {
  checkShape('empty', shape);
  const d = alloc(numel(shape));
  return make(d, shape, opts, d);
}

export function full(shape: Shape, value: number, opts?: TensorOptions): Tensor {
  const t = empty(shape, opts);
  t.data.fill(value);
  return t;
}

export function zeros(shape: Shape, opts?: TensorOptions): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts?: TensorOptions): Tensor {
  return full(shape, 1, opts);
}

/** Normal(mean, std) samples from rng. */
export function randn(shape: Shape, rng: Rng, opts?: TensorOptions & { mean?: number; std?: number }): Tensor {
  const t = empty(shape, opts);
  const d = t.data;
  const mean = opts?.mean ?? 0;
  const std = opts?.std ?? 1;
  for (let i = 0; i < d.length; i++) d[i] = mean + std * rng.normal();
  return t;
}

/** Uniform samples in [low, high) from rng. */
export function uniform(shape: Shape, rng: Rng, opts?: TensorOptions & { low?: number; high?: number }): Tensor {
  const t = empty(shape, opts);
  const d = t.data;
  const low = opts?.low ?? 0;
  const high = opts?.high ?? 1;
  for (let i = 0; i < d.length; i++) d[i] = low + (high - low) * rng.uniform();
  return t;
}

/**
 * Token ids / positions: a checked Int32Array (ids are not Tensors; ops that take ids take an
 * Int32Array and, where needed, its shape).
 */
export function int32(data: ArrayLike<number>): Int32Array {
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new Error(`int32: element ${i} (${v}) is not a 32-bit integer`);
    out[i] = v;
  }
  return out;
}
