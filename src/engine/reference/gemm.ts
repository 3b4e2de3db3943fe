import { KernelArgumentError, dims, floats, need } from './check.js';

/**
 * Reference single-precision GEMM: the plain triple loop, accumulated in float64 so that it is
 * a trustworthy oracle for the native kernels. See Kernels.sgemm for the argument contract.
 */
export function sgemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number,
  c: Float32Array, ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i] : a[i * lda + p];
        const bv = transB ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
      }
      const ci = i * ldc + j;
      c[ci] = beta === 0 ? alpha * s : alpha * s + beta * c[ci];
    }
  }
}

export function sgemmBatched(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, lda: number, strideA: number, b: Float32Array, ldb: number, strideB: number,
  beta: number, c: Float32Array, ldc: number, strideC: number, batch: number,
): void {
  for (let i = 0; i < batch; i++) {
    sgemm(transA, transB, m, n, k, alpha,
      a.subarray(i * strideA), lda, b.subarray(i * strideB), ldb, beta, c.subarray(i * strideC), ldc);
  }
}

/** The 65536 values of each 16-bit format, widened exactly. */
const TABLES = (() => {
  const bf16 = new Float32Array(65536);
  new Uint32Array(bf16.buffer).forEach((_, i, u) => (u[i] = i << 16));
  const f16 = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    f16[h] = e === 0 ? sign * m * 2 ** -24 : e === 0x1f ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return { bf16, f16 };
})();

/** The F32 value of each 16-bit element of `bits` (exact). */
export function widen16(dtype: 'bf16' | 'f16', bits: Uint16Array): Float32Array {
  const t = TABLES[dtype];
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}

/** See Kernels.sgemmW16: W widened exactly, products summed in float64. */
export function sgemmW16(
  dtype: 'bf16' | 'f16', transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, lda: number, b: Uint16Array, ldb: number, beta: number,
  c: Float32Array, ldc: number,
): void {
  const op = 'sgemmW16';
  if (dtype !== 'bf16' && dtype !== 'f16') throw new KernelArgumentError(op, `dtype must be "bf16" or "f16", got ${JSON.stringify(dtype)}`);
  dims(op, { m, n, k });
  const [br, bc] = transB ? [n, k] : [k, n];
  need(lda >= Math.max(1, k) && ldb >= Math.max(1, bc) && ldc >= Math.max(1, n), op, `leading dimensions lda=${lda}, ldb=${ldb}, ldc=${ldc} are less than the widths ${k}, ${bc}, ${n}`);
  const span = (r: number, cols: number, ld: number) => (r === 0 || cols === 0 ? 0 : (r - 1) * ld + cols);
  floats(op, 'a', a, span(m, k, lda), `(${m}, ${k})`);
  need(b instanceof Uint16Array, op, `b must be a Uint16Array of ${dtype} bits, got ${(b as object)?.constructor?.name ?? typeof b}`);
  need(b.length >= span(br, bc, ldb), op, `b has ${b.length} elements, needs ${span(br, bc, ldb)} for (${br}, ${bc}) with ldb=${ldb}`);
  floats(op, 'c', c, span(m, n, ldc), `(${m}, ${n})`);
  const t = TABLES[dtype];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * lda + p]! * t[b[transB ? j * ldb + p : p * ldb + j]!]!;
      const ci = i * ldc + j;
      c[ci] = beta === 0 ? alpha * s : alpha * s + beta * c[ci]!;
    }
  }
}
