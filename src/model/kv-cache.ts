/**
 * Key/value cache for batched decoding. Sequences are left-padded to a common length, so one
 * cache slot index t is the same step for every row; `pad[b]` is row b's number of padding slots
 * (attention skips keys before it, positions count from it).
 *
 * Per layer: k, v (B, capacity, Hkv, D), post-RoPE keys.
 */
export class KVCache {
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  /** Slots filled so far (the same for every row). */
  length = 0;

  constructor(
    readonly batch: number,
    readonly capacity: number,
    readonly layers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    /** (B) left padding of each row. */
    readonly pad: Int32Array,
  ) {
    if (pad.length !== batch) throw new Error(`KVCache: pad has ${pad.length} entries for a batch of ${batch}`);
    const n = batch * capacity * kvHeads * headDim;
    this.k = Array.from({ length: layers }, () => new Float32Array(n));
    this.v = Array.from({ length: layers }, () => new Float32Array(n));
  }

  /** Bytes held by the cache. */
  get bytes(): number {
    return 2 * this.layers * this.batch * this.capacity * this.kvHeads * this.headDim * 4;
  }

  /**
   * Copies new keys/values (B, T, Hkv, D) of `layer` into slots [length, length + T).
   * `length` itself advances once per forward (see advance()), after every layer wrote.
   */
  write(layer: number, k: Float32Array, v: Float32Array, T: number): void {
    if (this.length + T > this.capacity) throw new Error(`KVCache: ${this.length} + ${T} tokens exceed the capacity of ${this.capacity}`);
    const row = this.kvHeads * this.headDim;
    const K = this.k[layer]!;
    const V = this.v[layer]!;
    for (let b = 0; b < this.batch; b++) {
      const dst = (b * this.capacity + this.length) * row;
      K.set(k.subarray(b * T * row, (b + 1) * T * row), dst);
      V.set(v.subarray(b * T * row, (b + 1) * T * row), dst);
    }
  }

  advance(T: number): void {
    this.length += T;
  }

  /**
   * Keeps only the rows in `keep` (indices into the current batch), returning a smaller cache
   * that continues where this one is; finished sequences stop costing compute.
   */
  select(keep: readonly number[]): KVCache {
    const c = new KVCache(keep.length, this.capacity, this.layers, this.kvHeads, this.headDim, Int32Array.from(keep, (b) => this.pad[b]!));
    const slab = this.capacity * this.kvHeads * this.headDim;
    const used = this.length * this.kvHeads * this.headDim;
    for (let l = 0; l < this.layers; l++) {
      keep.forEach((b, i) => {
        c.k[l]!.set(this.k[l]!.subarray(b * slab, b * slab + used), i * slab);
        c.v[l]!.set(this.v[l]!.subarray(b * slab, b * slab + used), i * slab);
      });
    }
    c.length = this.length;
    return c;
  }
}
