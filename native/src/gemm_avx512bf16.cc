// bf16-weight GEMM on AVX512-BF16 (vdpbf16ps: per 32-bit lane, two bf16 products added to an F32
// accumulator). Products of two bf16 values are exact in F32, so what A loses going to bf16 is the
// only extra error. Two variants:
//  - "avx512bf16" (the default) splits A into hi = bf16(a) and lo = bf16(a − hi) and runs both
//    through vdpbf16ps for x·Wᵀ (B stored n × k): A is represented to 2⁻¹⁶ relative, so the result
//    is as good as the F32 product on the same weights up to that, at the F32 FMA rate with half
//    the weight bytes. Tiny differences in A (a decoded token's activations vs the same token
//    teacher-forced) stay tiny, which keeps sampled and teacher-forced log-probs within 1e-4 of
//    each other. dy·W (B stored k × n: the backward into x) rounds dy once, like the next path.
//  - "avx512bf16-round" rounds A once (2⁻⁸ relative per element, as bf16 autocast does): twice the
//    F32 FMA rate, but a one-ulp flip of a rounded activation moves log-probs by ~1e-3, so
//    sampled and teacher-forced log-probs no longer agree to 1e-4. Benchmarks and opt-in only.
// f16 weights go to the avx512 conversion path. Compiled with -mavx512bf16 (see binding.gyp); only
// called when the CPU has it.
//
// Packed path: an 8 × 32 register tile like the F32 kernel, but each k step consumes a pair of
// depths: packed B holds, per column, the dword (B[2q][j], B[2q+1][j]); packed A the dword
// (A[i][2q], A[i][2q+1]), broadcast (hi, then lo when split). KC is fixed, so results do not depend on the thread split.
// Few-rows path (decoding, B stored n × k): rows of W already hold consecutive depth pairs, so
// 32 weights at a time go straight from memory into vdpbf16ps against x rounded once to bf16.
#include <immintrin.h>

#include <cmath>
#include <algorithm>
#include <cstring>

#include "gemm16.h"

namespace rft {

void w16_avx512_run(const Gemm16Problem& p, float* work);    // gemm_avx512.cc
void w16_avx512_small(const Gemm16Problem& p, float* work);  // gemm_avx512.cc

namespace {

#include "gemm_driver.h"        // transpose_panel_scalar, imin (used by the transposes)
#include "gemm_transpose_avx.h"  // 8 × 8 register transposes

constexpr int MR = 8, NR = 32;
constexpr int64_t KC = 256, NC = 384, KC2 = KC / 2;

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh&>(v); }

// hi[0 .. ceil(n/2)) ← bf16 pairs of s[0 .. n), zero-padded to an even count; lo (when not null)
// ← the pairs of what hi leaves: bf16(s − widen(hi)), the subtraction exact in F32.
inline void pairs_of(__m512 v0, __m512 v1, __m512i* hi, __m512i* lo) {
  const __m512bh h = _mm512_cvtne2ps_pbh(v1, v0);
  *hi = reinterpret_cast<const __m512i&>(h);
  if (!lo) return;
  // widen hi: the low halves of the dwords are elements 2q, the high halves 2q+1; rebuild v0, v1 order.
  const __m512i hv = *hi;
  const __m512 w0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(hv)), 16));
  const __m512 w1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hv, 1)), 16));
  const __m512bh l = _mm512_cvtne2ps_pbh(_mm512_sub_ps(v1, w1), _mm512_sub_ps(v0, w0));
  *lo = reinterpret_cast<const __m512i&>(l);
}

inline void row_to_pairs(const float* s, int64_t n, uint32_t* hi, uint32_t* lo) {
  int64_t i = 0;
  __m512i h, l;
  for (; i + 32 <= n; i += 32) {
    pairs_of(_mm512_loadu_ps(s + i), _mm512_loadu_ps(s + i + 16), &h, lo ? &l : nullptr);
    _mm512_storeu_si512(hi + i / 2, h);
    if (lo) _mm512_storeu_si512(lo + i / 2, l);
  }
  if (i < n) {
    const int64_t left = n - i;
    const __mmask16 m0 = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1);
    const __mmask16 m1 = left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1);
    pairs_of(_mm512_maskz_loadu_ps(m0, s + i), _mm512_maskz_loadu_ps(m1, s + i + 16), &h, lo ? &l : nullptr);
    const size_t bytes = static_cast<size_t>((left + 1) / 2) * 4;
    alignas(64) uint32_t tmp[16];
    _mm512_store_si512(tmp, h);
    std::memcpy(hi + i / 2, tmp, bytes);
    if (lo) {
      _mm512_store_si512(tmp, l);
      std::memcpy(lo + i / 2, tmp, bytes);
    }
  }
}

// c (MR × NR) = alpha · ap·bp + beta · c over kc2 depth pairs; beta == 0 does not read c. Split: each
// step of ap holds MR hi dwords, then MR lo dwords.
template <bool Split>
void kernel(int64_t kc2, const uint32_t* __restrict ap, const uint32_t* __restrict bp, float* c, int64_t ldc, float alpha,
            float beta) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 31), _MM_HINT_T0);
  }
  for (int64_t q = 0; q < kc2; q++) {
    _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * NR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(bp + 8 * NR + 16), _MM_HINT_T0);
    const __m512bh b0 = as_bh(_mm512_loadu_si512(bp)), b1 = as_bh(_mm512_loadu_si512(bp + 16));
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const __m512bh x = as_bh(_mm512_set1_epi32(static_cast<int>(ap[r])));
      c0[r] = _mm512_dpbf16_ps(c0[r], x, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], x, b1);
    }
    if (Split) {
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        const __m512bh x = as_bh(_mm512_set1_epi32(static_cast<int>(ap[MR + r])));
        c0[r] = _mm512_dpbf16_ps(c0[r], x, b0);
        c1[r] = _mm512_dpbf16_ps(c1[r], x, b1);
      }
    }
    ap += Split ? 2 * MR : MR;
    bp += NR;
  }
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

// One micro-panel of B (kc2 × NR dwords) from depth pc, columns j0 .. j0+w.
void pack_b(const Gemm16Problem& p, int64_t pc, int64_t kc, int64_t j0, int w, uint32_t* dst) {
  const int64_t kc2 = (kc + 1) / 2;
  const bool odd = kc & 1;
  if (p.trans_b) {  // row j of W holds depths pc.. contiguously: the pairs are its dwords
    for (int r = 0; r < w; r++) {
      const uint16_t* s = p.b + (j0 + r) * p.ldb + pc;
      const int64_t full = kc / 2;
      for (int64_t q = 0; q < full; q++) {
        uint32_t v;
        std::memcpy(&v, s + 2 * q, 4);
        dst[q * NR + r] = v;
      }
      if (odd) dst[full * NR + r] = s[kc - 1];
    }
    for (int r = w; r < NR; r++)
      for (int64_t q = 0; q < kc2; q++) dst[q * NR + r] = 0;
    return;
  }
  for (int64_t q = 0; q < kc2; q++) {  // interleave rows 2q and 2q+1 of B
    const uint16_t* s0 = p.b + (pc + 2 * q) * p.ldb + j0;
    uint32_t* d = dst + q * NR;
    if (2 * q + 1 < kc) {
      const uint16_t* s1 = s0 + p.ldb;
      if (w == NR) {
        const __m512i lo = _mm512_loadu_si512(s0), hi = _mm512_loadu_si512(s1);
        _mm512_storeu_si512(d, _mm512_unpacklo_epi16(lo, hi));       // lanes 0-3, 8-11, … of 128-bit chunks
        _mm512_storeu_si512(d + 16, _mm512_unpackhi_epi16(lo, hi));
        // unpack works per 128-bit lane: reorder the 8 dword groups to column order.
        alignas(64) uint32_t t[32];
        std::memcpy(t, d, 128);
        for (int g = 0; g < 4; g++) {
          std::memcpy(d + 8 * g, t + 4 * g, 16);
          std::memcpy(d + 8 * g + 4, t + 16 + 4 * g, 16);
        }
      } else {
        for (int c = 0; c < w; c++) d[c] = static_cast<uint32_t>(s0[c]) | static_cast<uint32_t>(s1[c]) << 16;
        for (int c = w; c < NR; c++) d[c] = 0;
      }
    } else {
      for (int c = 0; c < w; c++) d[c] = s0[c];
      for (int c = w; c < NR; c++) d[c] = 0;
    }
  }
}

template <bool Split>
void run_bf16(const Gemm16Problem& p, float* work) {
  constexpr int S = Split ? 2 : 1;
  uint32_t* bpack = reinterpret_cast<uint32_t*>(work);  // KC2 × NC
  uint32_t* apack = bpack + KC2 * NC;                     // KC2 × S·MR
  uint32_t* arow = apack + KC2 * S * MR;                  // S × MR × KC2 (rows before interleaving)
  float* tile = reinterpret_cast<float*>(arow + S * KC2 * MR);  // MR × NR
  float* hscratch = tile + MR * NR;                               // KC2 × MR: transposed hi (split)
  float* lscratch = hscratch + KC2 * MR;                          // KC2 × MR: transposed lo (split)
  const int64_t m = p.m, n = p.n, k = p.k;
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = imin(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = imin(KC, k - pc), kc2 = (kc + 1) / 2;
      const float beta = pc == 0 ? p.beta : 1.0f;
      for (int64_t jr = 0; jr < nc; jr += NR) pack_b(p, pc, kc, jc + jr, static_cast<int>(imin(NR, nc - jr)), bpack + jr * kc2);
      for (int64_t ir = 0; ir < m; ir += MR) {
        const int mr = static_cast<int>(imin(MR, m - ir));
        uint32_t* alo = arow + MR * kc2;
        for (int r = 0; r < mr; r++) row_to_pairs(p.a + (ir + r) * p.lda + pc, kc, arow + r * kc2, Split ? alo + r * kc2 : nullptr);
        // Interleave the rows' dwords (kc2 × MR): the float 8 × 8 register transposes move the bits
        // unchanged. Split: hi and lo go to a scratch panel each, then side by side per depth pair.
        if (!Split) {
          transpose_panel_avx(reinterpret_cast<const float*>(arow), kc2, mr, kc2, MR, reinterpret_cast<float*>(apack));
        } else {
          transpose_panel_avx(reinterpret_cast<const float*>(arow), kc2, mr, kc2, MR, hscratch);
          transpose_panel_avx(reinterpret_cast<const float*>(alo), kc2, mr, kc2, MR, lscratch);
          float* d = reinterpret_cast<float*>(apack);
          for (int64_t q = 0; q < kc2; q++) {
            _mm256_storeu_ps(d + q * 2 * MR, _mm256_loadu_ps(hscratch + q * MR));
            _mm256_storeu_ps(d + q * 2 * MR + MR, _mm256_loadu_ps(lscratch + q * MR));
          }
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(imin(NR, nc - jr));
          float* c = p.c + ir * p.ldc + jc + jr;
          const uint32_t* bp = bpack + jr * kc2;
          if (mr == MR && nr == NR) {
            kernel<Split>(kc2, apack, bp, c, p.ldc, p.alpha, beta);
            continue;
          }
          if (beta != 0.0f)
            for (int r = 0; r < mr; r++)
              for (int j = 0; j < nr; j++) tile[r * NR + j] = c[r * p.ldc + j];
          kernel<Split>(kc2, apack, bp, tile, NR, p.alpha, beta);
          for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++) c[r * p.ldc + j] = tile[r * NR + j];
        }
      }
    }
  }
}

// Few rows, W stored n × k: kJ rows of W against up to kI rows of x (as bf16 hi and, split, lo rows
// in `work`, zero-padded to whole 32-element vectors), each dot product in its own accumulator.
constexpr int kJ = 4, kI = 6;
constexpr int64_t kAheadBytes = 16384;

template <bool Split, int MI>
inline void small_block(const Gemm16Problem& p, const uint16_t* x, const uint16_t* xlo, int64_t kp, const uint16_t* const* w,
                        int nj, float* c, const char* pf) {
  const int64_t k = p.k, kv = k / 32 * 32;
  __m512 acc[MI][kJ];
  for (int i = 0; i < MI; i++)
    for (int jj = 0; jj < kJ; jj++) acc[i][jj] = _mm512_setzero_ps();
  auto step = [&](int64_t q, __mmask32 mask, bool full) {
    __m512bh bv[kJ];
    for (int jj = 0; jj < kJ; jj++)
      bv[jj] = as_bh(full ? _mm512_loadu_si512(w[jj] + q) : _mm512_maskz_loadu_epi16(mask, w[jj] + q));
    for (int i = 0; i < MI; i++) {
      const __m512bh xv = as_bh(_mm512_loadu_si512(x + i * kp + q));
      for (int jj = 0; jj < kJ; jj++) acc[i][jj] = _mm512_dpbf16_ps(acc[i][jj], xv, bv[jj]);
      if (Split) {
        const __m512bh xl = as_bh(_mm512_loadu_si512(xlo + i * kp + q));
        for (int jj = 0; jj < kJ; jj++) acc[i][jj] = _mm512_dpbf16_ps(acc[i][jj], xl, bv[jj]);
      }
    }
  };
  for (int64_t q = 0; q < kv; q += 32) {
    if (pf)
      for (int l = 0; l < kJ * 64; l += 64) __builtin_prefetch(pf + q * kJ * 2 + l, 0, 2);
    step(q, 0, true);
  }
  if (kv < k) step(kv, static_cast<__mmask32>((1ull << (k - kv)) - 1), false);
  static_assert(kJ == 4, "the reduction below sums four accumulators");
  auto half = [](__m512 v) { return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))); };
  for (int i = 0; i < MI; i++) {
    // The row's four dot products reduced together: one transpose-add tree, not four horizontal sums.
    const __m256 x = _mm256_hadd_ps(_mm256_hadd_ps(half(acc[i][0]), half(acc[i][1])), _mm256_hadd_ps(half(acc[i][2]), half(acc[i][3])));
    alignas(16) float sums[4];
    _mm_store_ps(sums, _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1)));
    for (int jj = 0; jj < nj; jj++) {
      float* ci = c + i * p.ldc + jj;
      *ci = p.beta == 0.0f ? p.alpha * sums[jj] : std::fma(p.alpha, sums[jj], p.beta * *ci);
    }
  }
}

template <bool Split>
void small_bf16(const Gemm16Problem& p, float* work) {
  const int64_t m = p.m, n = p.n, k = p.k, kp = (k + 31) / 32 * 32;
  uint16_t* x = reinterpret_cast<uint16_t*>(work);
  uint16_t* xlo = x + m * kp;
  for (int64_t i = 0; i < m; i++) {
    uint32_t* row = reinterpret_cast<uint32_t*>(x + i * kp);
    uint32_t* lrow = reinterpret_cast<uint32_t*>(xlo + i * kp);
    row_to_pairs(p.a + i * p.lda, k, row, Split ? lrow : nullptr);
    for (int64_t q = (k + 1) / 2; q < kp / 2; q++) row[q] = lrow[q] = 0;
  }
  // B in L2-sized slabs, each group of x rows over the whole slab (see small_m_bt in gemm_small.h).
  const int64_t slab = std::max<int64_t>(kJ, 256 * 1024 / (2 * k) / kJ * kJ);
  for (int64_t s0 = 0; s0 < n; s0 += slab) {
    const int64_t s1 = imin(n, s0 + slab);
    for (int64_t i0 = 0; i0 < m; i0 += kI) {
      const uint16_t* xi = x + i0 * kp;
      const uint16_t* xl = xlo + i0 * kp;
      for (int64_t j0 = s0; j0 < s1; j0 += kJ) {
        const int nj = static_cast<int>(imin(kJ, s1 - j0));
        const uint16_t* w[kJ];
        for (int jj = 0; jj < kJ; jj++) w[jj] = p.b + (j0 + (jj < nj ? jj : 0)) * p.ldb;
        const char* f = i0 == 0 ? reinterpret_cast<const char*>(p.b + j0 * p.ldb) + kAheadBytes : nullptr;
        float* c = p.c + i0 * p.ldc + j0;
        switch (imin(kI, m - i0)) {
          case 1: small_block<Split, 1>(p, xi, xl, kp, w, nj, c, f); break;
          case 2: small_block<Split, 2>(p, xi, xl, kp, w, nj, c, f); break;
          case 3: small_block<Split, 3>(p, xi, xl, kp, w, nj, c, f); break;
          case 4: small_block<Split, 4>(p, xi, xl, kp, w, nj, c, f); break;
          case 5: small_block<Split, 5>(p, xi, xl, kp, w, nj, c, f); break;
          default: small_block<Split, kI>(p, xi, xl, kp, w, nj, c, f); break;
        }
      }
    }
  }
}

// B stored k × n is only the backward dx = dy·W of a frozen weight: gradients do not feed the
// log-probs the sampler and the trainer must agree on, so dy is rounded once (2⁻⁸ relative per
// element, as bf16 autocast does) at twice the split rate.
template <bool Split>
void run(const Gemm16Problem& p, float* work) {
  if (p.dtype != W16::kBf16) w16_avx512_run(p, work);
  else if (Split && p.trans_b) run_bf16<true>(p, work);
  else run_bf16<false>(p, work);
}
template <bool Split>
void small_m(const Gemm16Problem& p, float* work) {
  if (p.dtype == W16::kBf16) small_bf16<Split>(p, work);
  else w16_avx512_small(p, work);
}

// bf16 needs KC2·(NC + 6·MR) dwords + a tile; f16 runs on the avx512 workspace (kW16Avx512Floats).
constexpr size_t kBf16Floats = static_cast<size_t>(KC2) * (NC + 6 * MR) + MR * NR + 16;

}  // namespace

static_assert(kBf16Floats <= kW16Avx512Floats, "the bf16 workspace must fit the avx512 one");
const W16Isa kW16Avx512Bf16 = {"avx512bf16", MR, NR, kW16Avx512Floats, run<true>, small_m<true>};
const W16Isa kW16Avx512Bf16Round = {"avx512bf16-round", MR, NR, kW16Avx512Floats, run<false>, small_m<false>};

}  // namespace rft
