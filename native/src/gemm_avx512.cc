// AVX-512 GEMM: an 8 × 32 register tile (16 zmm accumulators; per k step two 16-wide loads of
// packed B and eight broadcasts of packed A). Compiled with -mavx512f (see binding.gyp).
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

struct V512 {
  using T = __m512;
  static constexpr int W = 16;
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T zero() { return _mm512_setzero_ps(); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static float reduce(T v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
  }
  // out[0..3] = horizontal sums of a, b, c, d: one transpose-and-add tree for the four (a fixed order).
  static void reduce4(T a, T b, T c, T d, float* out) {
    auto half = [](T v) { return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))); };
    const __m256 x = _mm256_hadd_ps(_mm256_hadd_ps(half(a), half(b)), _mm256_hadd_ps(half(c), half(d)));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1)));
  }
};

struct Avx512 {
  static constexpr int MR = 8, NR = 32, KC = 256, NC = 384;

  // c (MR × NR, row stride ldc) = alpha · ap·bp + beta · c; beta == 0 does not read c.
  static void kernel(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c,
                     int64_t ldc, float alpha, float beta, Prefetcher* pa, Prefetcher* pb) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    // C is updated after the k loop; start fetching its rows now so the update does not stall.
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 31), _MM_HINT_T0);
    }
    auto step = [&](const float* a, const float* b) {
      _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR + 16), _MM_HINT_T0);
      const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        const __m512 x = _mm512_set1_ps(a[r]);
        c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
        c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
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
    const __m512 va = _mm512_set1_ps(alpha);
    if (beta == 0.0f) {
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        _mm512_storeu_ps(c + r * ldc, _mm512_mul_ps(va, c0[r]));
        _mm512_storeu_ps(c + r * ldc + 16, _mm512_mul_ps(va, c1[r]));
      }
    } else {
      const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        float* cr = c + r * ldc;
        _mm512_storeu_ps(cr, _mm512_fmadd_ps(va, c0[r], _mm512_mul_ps(vb, _mm512_loadu_ps(cr))));
        _mm512_storeu_ps(cr + 16, _mm512_fmadd_ps(va, c1[r], _mm512_mul_ps(vb, _mm512_loadu_ps(cr + 16))));
      }
    }
  }

  static void transpose_panel(const float* src, int64_t ld, int w, int64_t kc, int W, float* dst) {
    transpose_panel_avx(src, ld, w, kc, W, dst);
  }
};

struct Cvt512 {
  template <W16 D>
  static __m512 load(const uint16_t* p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if (D == W16::kBf16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
  }
  static void row(const uint16_t* s, float* d, int64_t n, W16 t) { cvt_row_vec<V512, Cvt512>(s, d, n, t); }
};

void run(const GemmProblem& p, float* work) { gemm_serial<Avx512>(p, work); }
void small_m(const GemmProblem& p, float* work) { gemm_small_m<V512>(p, work); }

// 12 independent zmm FMA chains (latency 4 × up to 2 per cycle needs ≥ 8).
double fma_loop(int64_t iters, float* sink) {
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-6f);
  __m512 x0 = _mm512_set1_ps(0.1f), x1 = _mm512_set1_ps(0.2f), x2 = _mm512_set1_ps(0.3f), x3 = _mm512_set1_ps(0.4f);
  __m512 x4 = _mm512_set1_ps(0.5f), x5 = _mm512_set1_ps(0.6f), x6 = _mm512_set1_ps(0.7f), x7 = _mm512_set1_ps(0.8f);
  __m512 x8 = _mm512_set1_ps(0.9f), x9 = _mm512_set1_ps(1.0f), x10 = _mm512_set1_ps(1.1f), x11 = _mm512_set1_ps(1.2f);
  for (int64_t i = 0; i < iters; i++) {
    x0 = _mm512_fmadd_ps(x0, m, a); x1 = _mm512_fmadd_ps(x1, m, a); x2 = _mm512_fmadd_ps(x2, m, a);
    x3 = _mm512_fmadd_ps(x3, m, a); x4 = _mm512_fmadd_ps(x4, m, a); x5 = _mm512_fmadd_ps(x5, m, a);
    x6 = _mm512_fmadd_ps(x6, m, a); x7 = _mm512_fmadd_ps(x7, m, a); x8 = _mm512_fmadd_ps(x8, m, a);
    x9 = _mm512_fmadd_ps(x9, m, a); x10 = _mm512_fmadd_ps(x10, m, a); x11 = _mm512_fmadd_ps(x11, m, a);
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(x0, x1), _mm512_add_ps(x2, x3)),
                           _mm512_add_ps(_mm512_add_ps(x4, x5), _mm512_add_ps(x6, x7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(x8, x9), _mm512_add_ps(x10, x11)));
  *sink += _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * 12 * 16 * 2;
}

}  // namespace

// Also the f16 path of "avx512bf16" (gemm_avx512bf16.cc).
void w16_avx512_run(const Gemm16Problem& p, float* work) { gemm16_serial<Avx512, Cvt512>(p, work); }
void w16_avx512_small(const Gemm16Problem& p, float* work) { gemm16_small_bt<V512, Cvt512>(p, work); }

static_assert(gemm16_workspace_floats<Avx512>() <= kW16Avx512Floats, "see kW16Avx512Floats");
const W16Isa kW16Avx512 = {"avx512", Avx512::MR, Avx512::NR, kW16Avx512Floats, w16_avx512_run, w16_avx512_small};

const GemmIsa kGemmAvx512 = {"avx512", Avx512::MR, Avx512::NR, Avx512::KC, Avx512::NC,
                             gemm_workspace_floats<Avx512>(), run, small_m, fma_loop};

}  // namespace rft
