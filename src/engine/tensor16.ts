/**
 * Tensor16: a frozen matrix kept as 16-bit floats (bf16 or f16 bits, row-major) — the base weights
 * of a checkpoint stored in bf16/f16, used as is by the products (Kernels.sgemmW16) instead of
 * being widened to F32 (half the memory, half the bytes streamed per decoded token). It never
 * takes a gradient: gradients flow through it to its input (dx = dy·W), never into it.
 * toFloat32() widens exactly (for saving, merging, export).
 */
import { widen16 } from './reference/gemm.js';
import { ShapeError, checkShape, fmt, numel, type Shape } from './shape.js';

export type Dtype16 = 'bf16' | 'f16';

export class Tensor16 {
  readonly shape: readonly number[];
  readonly size: number;
  /** Always false: a Tensor16 is frozen. */
  readonly requiresGrad = false;
  name: string | undefined;

  constructor(readonly dtype: Dtype16, readonly bits: Uint16Array, shape: Shape, name?: string) {
    checkShape('tensor16', shape);
    if (dtype !== 'bf16' && dtype !== 'f16') throw new ShapeError('tensor16', `dtype must be "bf16" or "f16", got ${JSON.stringify(dtype)}`);
    if (!(bits instanceof Uint16Array)) throw new ShapeError('tensor16', `bits must be a Uint16Array, got ${(bits as object)?.constructor?.name ?? typeof bits}`);
    const n = numel(shape);
    if (bits.length !== n) throw new ShapeError('tensor16', `bits has ${bits.length} elements but shape ${fmt(shape)} needs ${n}`);
    this.shape = Object.freeze([...shape]);
    this.size = n;
    this.name = name;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The values widened to F32 (exact; a new array). */
  toFloat32(): Float32Array {
    return widen16(this.dtype, this.bits);
  }

  /** Rows ids[i] of a (rows, dim) matrix widened into out (n, dim): an embedding lookup. */
  gatherRows(ids: Int32Array, out: Float32Array, dim: number): void {
    if (this.dtype === 'bf16') {
      const o = new Uint32Array(out.buffer, out.byteOffset, ids.length * dim);
      const b = this.bits;
      for (let i = 0; i < ids.length; i++) {
        const src = ids[i]! * dim;
        const dst = i * dim;
        for (let d = 0; d < dim; d++) o[dst + d] = b[src + d]! << 16;
      }
      return;
    }
    for (let i = 0; i < ids.length; i++) out.set(widen16('f16', this.bits.subarray(ids[i]! * dim, (ids[i]! + 1) * dim)), i * dim);
  }

  describe(): string {
    return `${this.name ? `"${this.name}" ` : ''}${fmt(this.shape)} ${this.dtype}`;
  }
}
