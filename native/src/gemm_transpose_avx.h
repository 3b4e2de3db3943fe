// 8 × 8 in-register transposes for GEMM packing. Include it inside the anonymous namespace of an
// ISA file compiled with -mavx2 or wider, after <immintrin.h> and gemm_driver.h.

// dst (kc × W) ← transpose of src (w × kc, row stride ld), zero-padded to W columns.
// Full groups of 8 rows go through 8 × 8 register transposes; the rest is scalar.
inline void transpose_panel_avx(const float* src, int64_t ld, int w, int64_t kc, int W, float* dst) {
  const int w8 = w & ~7;
  const int64_t kc8 = kc & ~int64_t{7};
  for (int r0 = 0; r0 < w8; r0 += 8) {
    const float* s = src + r0 * ld;
    for (int64_t p = 0; p < kc8; p += 8) {
      __m256 r0v = _mm256_loadu_ps(s + 0 * ld + p), r1v = _mm256_loadu_ps(s + 1 * ld + p);
      __m256 r2v = _mm256_loadu_ps(s + 2 * ld + p), r3v = _mm256_loadu_ps(s + 3 * ld + p);
      __m256 r4v = _mm256_loadu_ps(s + 4 * ld + p), r5v = _mm256_loadu_ps(s + 5 * ld + p);
      __m256 r6v = _mm256_loadu_ps(s + 6 * ld + p), r7v = _mm256_loadu_ps(s + 7 * ld + p);
      __m256 t0 = _mm256_unpacklo_ps(r0v, r1v), t1 = _mm256_unpackhi_ps(r0v, r1v);
      __m256 t2 = _mm256_unpacklo_ps(r2v, r3v), t3 = _mm256_unpackhi_ps(r2v, r3v);
      __m256 t4 = _mm256_unpacklo_ps(r4v, r5v), t5 = _mm256_unpackhi_ps(r4v, r5v);
      __m256 t6 = _mm256_unpacklo_ps(r6v, r7v), t7 = _mm256_unpackhi_ps(r6v, r7v);
      __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* d = dst + p * W + r0;
      _mm256_storeu_ps(d + 0 * W, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + 1 * W, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * W, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * W, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * W, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * W, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * W, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * W, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (int64_t p = kc8; p < kc; p++)
      for (int r = r0; r < r0 + 8; r++) dst[p * W + r] = src[r * ld + p];
  }
  for (int64_t p = 0; p < kc; p++) {
    float* d = dst + p * W;
    for (int r = w8; r < w; r++) d[r] = src[r * ld + p];
    for (int r = w; r < W; r++) d[r] = 0.0f;
  }
}
