// AVX2 + FMA GEMM: a 6 × 16 register tile (12 ymm accumulators; per k step two 8-wide loads of
// packed B and six broadcasts of packed A), the classic Haswell shape. Compiled with -mavx2 -mfma.
#include <immintrin.h>

#include <cmath>

#include "gemm16.h"
#include "gemm_isa.h"

namespace rft {
namespace {

#include "gemm_driver.h"
#include "gemm_transpose_avx.h"
#include "gemm_small.h"
#include "gemm16_driver.h"
#include "gemm16_small.h"

struct V256 {
  using T = __m256;
  static constexpr int W = 8;
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T zero() { return _mm256_setzero_ps(); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static float reduce(T v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
  }
  // out[0..3] = horizontal sums of a, b, c, d: one transpose-and-add tree for the four (a fixed order).
  static void reduce4(T a, T b, T c, T d, float* out) {
    const __m256 x = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1)));
  }
};

struct Avx2 {
  static constexpr int MR = 6, NR = 16, KC = 256, NC = 512;

  // c (MR × NR, row stride ldc) = alpha · ap·bp + beta · c; beta == 0 does not read c.
  static void kernel(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c,
                     int64_t ldc, float alpha, float beta, Prefetcher* pa, Prefetcher* pb) {
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    // C is updated after the k loop; start fetching its rows now so the update does not stall.
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 15), _MM_HINT_T0);
    }
    auto step = [&](const float* a, const float* b) {
      const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
      for (int r = 0; r < MR; r++) {
        const __m256 x = _mm256_broadcast_ss(a + r);
        c0[r] = _mm256_fmadd_ps(x, b0, c0[r]);
        c1[r] = _mm256_fmadd_ps(x, b1, c1[r]);
      }
    };
    int64_t p = 0;
    for (; p + 1 < kc; p += 2) {
      step(ap, bp);
      pa->one();
      step(ap + MR, bp + NR);
      pb->one();
      ap += 2 * MR;
      bp += 2 * NR;
    }
    if (p < kc) step(ap, bp);
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

struct Cvt256 {
  template <W16 D>
  static __m256 load(const uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if (D == W16::kBf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
  }
  static void row(const uint16_t* s, float* d, int64_t n, W16 t) { cvt_row_vec<V256, Cvt256>(s, d, n, t); }
};

void run(const GemmProblem& p, float* work) { gemm_serial<Avx2>(p, work); }
void run16(const Gemm16Problem& p, float* work) { gemm16_serial<Avx2, Cvt256>(p, work); }
void small16(const Gemm16Problem& p, float* work) { gemm16_small_bt<V256, Cvt256>(p, work); }
void small_m(const GemmProblem& p, float* work) { gemm_small_m<V256>(p, work); }

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

const W16Isa kW16Avx2 = {"avx2", Avx2::MR, Avx2::NR, gemm16_workspace_floats<Avx2>(), run16, small16};

const GemmIsa kGemmAvx2 = {"avx2", Avx2::MR, Avx2::NR, Avx2::KC, Avx2::NC,
                           gemm_workspace_floats<Avx2>(), run, small_m, fma_loop};

}  // namespace rft
