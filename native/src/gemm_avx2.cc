// AVX2 + FMA GEMM: a 6 × 16 register tile (12 ymm accumulators; per k step two 8-wide loads of
// packed B and six broadcasts of packed A), the classic Haswell shape. Compiled with -mavx2 -mfma.
#include <immintrin.h>

#include "gemm_isa.h"

namespace rft {
namespace {

#include "gemm_driver.h"
#include "gemm_transpose_avx.h"

struct Avx2 {
  static constexpr int MR = 6, NR = 16, KC = 256, NC = 512;

  // c (MR × NR, row stride ldc) = alpha · ap·bp + beta · c; beta == 0 does not read c.
  static void kernel(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c,
                     int64_t ldc, float alpha, float beta) {
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    // C is updated after the k loop; start fetching its rows now so the update does not stall.
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 15), _MM_HINT_T0);
    }
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; p++) {
      const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
      for (int r = 0; r < MR; r++) {
        const __m256 a = _mm256_broadcast_ss(ap + r);
        c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
        c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
      }
      ap += MR;
      bp += NR;
    }
    const __m256 va = _mm256_set1_ps(alpha);
    if (beta == 0.0f) {
#pragma GCC unroll 6
      for (int r = 0; r < MR; r++) {
        _mm256_storeu_ps(c + r * ldc, _mm256_mul_ps(va, c0[r]));
        _mm256_storeu_ps(c + r * ldc + 8, _mm256_mul_ps(va, c1[r]));
      }
    } else {
      const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
      for (int r = 0; r < MR; r++) {
        float* cr = c + r * ldc;
        _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, c0[r], _mm256_mul_ps(vb, _mm256_loadu_ps(cr))));
        _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(va, c1[r], _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8))));
      }
    }
  }

  static void transpose_panel(const float* src, int64_t ld, int w, int64_t kc, int W, float* dst) {
    transpose_panel_avx(src, ld, w, kc, W, dst);
  }
};

void run(const GemmProblem& p, float* work) { gemm_serial<Avx2>(p, work); }

// 12 independent ymm FMA chains (latency 4 × 2 per cycle needs ≥ 8).
double fma_loop(int64_t iters, float* sink) {
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-6f);
  __m256 x0 = _mm256_set1_ps(0.1f), x1 = _mm256_set1_ps(0.2f), x2 = _mm256_set1_ps(0.3f), x3 = _mm256_set1_ps(0.4f);
  __m256 x4 = _mm256_set1_ps(0.5f), x5 = _mm256_set1_ps(0.6f), x6 = _mm256_set1_ps(0.7f), x7 = _mm256_set1_ps(0.8f);
  __m256 x8 = _mm256_set1_ps(0.9f), x9 = _mm256_set1_ps(1.0f), x10 = _mm256_set1_ps(1.1f), x11 = _mm256_set1_ps(1.2f);
  for (int64_t i = 0; i < iters; i++) {
    x0 = _mm256_fmadd_ps(x0, m, a); x1 = _mm256_fmadd_ps(x1, m, a); x2 = _mm256_fmadd_ps(x2, m, a);
    x3 = _mm256_fmadd_ps(x3, m, a); x4 = _mm256_fmadd_ps(x4, m, a); x5 = _mm256_fmadd_ps(x5, m, a);
    x6 = _mm256_fmadd_ps(x6, m, a); x7 = _mm256_fmadd_ps(x7, m, a); x8 = _mm256_fmadd_ps(x8, m, a);
    x9 = _mm256_fmadd_ps(x9, m, a); x10 = _mm256_fmadd_ps(x10, m, a); x11 = _mm256_fmadd_ps(x11, m, a);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)),
                           _mm256_add_ps(_mm256_add_ps(x4, x5), _mm256_add_ps(x6, x7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(x8, x9), _mm256_add_ps(x10, x11)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  for (float v : lanes) *sink += v;
  return static_cast<double>(iters) * 12 * 8 * 2;
}

}  // namespace

const GemmIsa kGemmAvx2 = {"avx2", Avx2::MR, Avx2::NR, Avx2::KC, Avx2::NC,
                           gemm_workspace_floats<Avx2>(), run, fma_loop};

}  // namespace rft
