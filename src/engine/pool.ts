/**
 * Buffer reuse. Every op output, saved-for-backward buffer and intermediate gradient comes from
 * one size-bucketed pool of Float32Array storage; `scope(fn)` returns what was taken inside it
 * when fn ends (except what fn returns or keep()s), so a training loop written as
 * `for (...) scope(() => { forward; backward; step })` reuses the same buffers every iteration
 * instead of allocating and leaving the rest to the garbage collector.
 *
 * Buckets: a request of n floats is served from a buffer of sizeClass(n) floats (4 classes per
 * power of two, so at most 25% waste); the caller sees a view of exactly n elements.
 */

export interface PoolStats {
  /** ArrayBuffers ever created by the pool (stops growing once a loop is in steady state). */
  allocations: number;
  /** Requests served from a free buffer. */
  reuses: number;
  /** Buffers given back. */
  releases: number;
  /** Bytes of all ArrayBuffers the pool has created and not trimmed. */
  bytesAllocated: number;
  /** Bytes currently sitting in free lists. */
  bytesFree: number;
}

const MIN_CLASS = 16;

/** Round n up to one of 4 classes per power of two. */
export function sizeClass(n: number): number {
  if (n <= MIN_CLASS) return MIN_CLASS;
  const p = 2 ** Math.floor(Math.log2(n));
  const step = p / 4;
  return Math.ceil(n / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly s: PoolStats = { allocations: 0, reuses: 0, releases: 0, bytesAllocated: 0, bytesFree: 0 };

  /** A Float32Array of exactly n elements with unspecified contents (zeroed when zero=true). */
  acquire(n: number, zero = false): Float32Array {
    const cls = sizeClass(n);
    const list = this.free.get(cls);
    let ab = list?.pop();
    if (ab) {
      this.s.reuses++;
      this.s.bytesFree -= ab.byteLength;
      const v = new Float32Array(ab, 0, n);
      if (zero) v.fill(0);
      return v;
    }
    ab = new ArrayBuffer(cls * 4);
    this.s.allocations++;
    this.s.bytesAllocated += ab.byteLength;
    return new Float32Array(ab, 0, n); // a new ArrayBuffer is already zero
  }

  /** Give back a buffer that came from acquire(); the caller must not use it afterwards. */
  release(v: Float32Array): void {
    const ab = v.buffer as ArrayBuffer;
    const cls = ab.byteLength / 4;
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(ab);
    this.s.releases++;
    this.s.bytesFree += ab.byteLength;
  }

  stats(): PoolStats {
    return { ...this.s };
  }

  /** Drop every free buffer (to give memory back after a phase with different shapes). */
  trim(): void {
    this.s.bytesAllocated -= this.s.bytesFree;
    this.s.bytesFree = 0;
    this.free.clear();
  }
}

/** The process-wide pool the engine allocates from. */
export const pool = new BufferPool();

/** What one scope() has handed out: buffers to give back, tensors to invalidate. */
export class Scope {
  readonly buffers = new Set<Float32Array>();
  /** Storage of Float32Arrays returned from the scope (views of pooled buffers), kept like tensors. */
  readonly keptStorage = new Set<ArrayBufferLike>();
  readonly disposables: { dispose(): void; unlink(): void; storage: Float32Array | null; kept: boolean }[] = [];
}

const scopes: Scope[] = [];

export function currentScope(): Scope | undefined {
  return scopes[scopes.length - 1];
}

let float64Mode = false;

/**
 * Run fn with every engine buffer allocated as a Float64Array (typed as Float32Array), unpooled.
 * Only gradcheck uses this: with the reference kernels (which compute in the precision of their
 * arguments) it gives float64 forward and backward passes for finite differences.
 */
export function withFloat64<T>(fn: () => T): T {
  const prev = float64Mode;
  float64Mode = true;
  try {
    return fn();
  } finally {
    float64Mode = prev;
  }
}

/** A new, unpooled, zeroed buffer (leaf gradients, which outlive scopes). */
export function newFloats(n: number): Float32Array {
  return float64Mode ? (new Float64Array(n) as unknown as Float32Array) : new Float32Array(n);
}

/**
 * A pooled buffer of n floats owned by the current scope (given back when it ends). Outside any
 * scope the buffer is simply left to the garbage collector.
 */
export function alloc(n: number, zero = false): Float32Array {
  if (float64Mode) return new Float64Array(n) as unknown as Float32Array;
  const v = pool.acquire(n, zero);
  currentScope()?.buffers.add(v);
  return v;
}

/** Give back a buffer from alloc() before its scope ends (no-op for buffers it does not own). */
export function freeNow(v: Float32Array): void {
  const s = currentScope();
  if (s && s.buffers.delete(v)) pool.release(v);
}

export function pushScope(): Scope {
  const s = new Scope();
  scopes.push(s);
  return s;
}

/**
 * End scope s: every tensor registered in it is invalidated and every buffer given back, except
 * kept ones, which move to the enclosing scope (or, at top level, to the garbage collector).
 */
export function popScope(s: Scope): void {
  if (scopes[scopes.length - 1] !== s) throw new Error('scope: scopes ended out of order (is scope() used with an async function?)');
  scopes.pop();
  const parent = currentScope();
  const keptStorage = s.keptStorage;
  for (const d of s.disposables) {
    if (d.kept) {
      d.kept = false;
      d.unlink();
      if (d.storage) keptStorage.add(d.storage.buffer);
      parent?.disposables.push(d);
    } else {
      d.dispose();
    }
  }
  for (const b of s.buffers) {
    if (keptStorage.has(b.buffer)) parent?.buffers.add(b);
    else pool.release(b);
  }
}
