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
