// bf16-weight GEMM on AVX512-BF16 (vdpbf16ps: per 32-bit lane, two bf16 products added to an F32
// accumulator). A is rounded to bf16 (round-to-nearest-even) as it is packed; products of two
// bf16 values are exact in F32, so the only extra error against the F32 product on the same
// weights is that rounding of A (relative 2⁻⁹ per element). f16 weights go to the avx512
// conversion path. Compiled with -mavx512bf16 (see binding.gyp); only called when the CPU has it.
//
// Packed path: an 8 × 32 register tile like the F32 kernel, but each k step consumes a pair of
// depths: packed B holds, per column, the dword (B[2q][j], B[2q+1][j]); packed A the dword
// (A[i][2q], A[i][2q+1]), broadcast. KC is fixed, so results do not depend on the thread split.
// Few-rows path (decoding, B stored n × k): rows of W already hold consecutive depth pairs, so
// 32 weights at a time go straight from memory into vdpbf16ps against x rounded once to bf16.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "gemm16.h"

namespace rft {

void w16_avx512_run(const Gemm16Problem& p, float* work);    // gemm_avx512.cc
void w16_avx512_small(const Gemm16Problem& p, float* work);  // gemm_avx512.cc

namespace {

constexpr int MR = 8, NR = 32;
constexpr int64_t KC = 256, NC = 384, KC2 = KC / 2;

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh&>(v); }

// d[0 .. ceil(n/2)) ← bf16 pairs of s[0 .. n), zero-padded to an even count.
inline void row_to_pairs(const float* s, int64_t n, uint32_t* d) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + i + 16), _mm512_loadu_ps(s + i));
    _mm512_storeu_si512(d + i / 2, reinterpret_cast<const __m512i&>(v));
  }
  if (i < n) {
    const int64_t left = n - i;
    const __mmask16 m0 = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1);
    const __mmask16 m1 = left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1);
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, s + i + 16), _mm512_maskz_loadu_ps(m0, s + i));
    alignas(64) uint32_t tmp[16];
    _mm512_store_si512(tmp, reinterpret_cast<const __m512i&>(v));
    std::memcpy(d + i / 2, tmp, static_cast<size_t>((left + 1) / 2) * 4);
  }
}

// c (MR × NR) = alpha · ap·bp + beta · c over kc2 depth pairs; beta == 0 does not read c.
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
    ap += MR;
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

void run_bf16(const Gemm16Problem& p, float* work) {
  uint32_t* bpack = reinterpret_cast<uint32_t*>(work);  // KC2 × NC
  uint32_t* apack = bpack + KC2 * NC;                     // KC2 × MR
  uint32_t* arow = apack + KC2 * MR;                      // MR × KC2 (rows before interleaving)
  float* tile = reinterpret_cast<float*>(arow + KC2 * MR);  // MR × NR
  const int64_t m = p.m, n = p.n, k = p.k;
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = imin(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = imin(KC, k - pc), kc2 = (kc + 1) / 2;
      const float beta = pc == 0 ? p.beta : 1.0f;
      for (int64_t jr = 0; jr < nc; jr += NR) pack_b(p, pc, kc, jc + jr, static_cast<int>(imin(NR, nc - jr)), bpack + jr * kc2);
      for (int64_t ir = 0; ir < m; ir += MR) {
        const int mr = static_cast<int>(imin(MR, m - ir));
        for (int r = 0; r < mr; r++) row_to_pairs(p.a + (ir + r) * p.lda + pc, kc, arow + r * kc2);
        for (int64_t q = 0; q < kc2; q++)
          for (int r = 0; r < MR; r++) apack[q * MR + r] = r < mr ? arow[r * kc2 + q] : 0;
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(imin(NR, nc - jr));
          float* c = p.c + ir * p.ldc + jc + jr;
          const uint32_t* bp = bpack + jr * kc2;
          if (mr == MR && nr == NR) {
            kernel(kc2, apack, bp, c, p.ldc, p.alpha, beta);
            continue;
          }
          if (beta != 0.0f)
            for (int r = 0; r < mr; r++)
              for (int j = 0; j < nr; j++) tile[r * NR + j] = c[r * p.ldc + j];
          kernel(kc2, apack, bp, tile, NR, p.alpha, beta);
          for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++) c[r * p.ldc + j] = tile[r * NR + j];
        }
      }
    }
  }
}

// Few rows, W stored n × k: kJ rows of W against up to kI rows of x (rounded to bf16 in `work`,
// zero-padded to whole 32-element vectors), each dot product in its own accumulator.
constexpr int kJ = 4, kI = 6;
constexpr int64_t kAheadBytes = 16384;

template <int MI>
inline void small_block(const Gemm16Problem& p, const uint16_t* x, int64_t kp, const uint16_t* const* w, int nj, float* c,
                        const char* pf) {
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
    }
  };
  for (int64_t q = 0; q < kv; q += 32) {
    if (pf)
      for (int l = 0; l < kJ * 64; l += 64) __builtin_prefetch(pf + q * kJ * 2 + l, 0, 2);
    step(q, 0, true);
  }
  if (kv < k) step(kv, static_cast<__mmask32>((1ull << (k - kv)) - 1), false);
  for (int i = 0; i < MI; i++)
    for (int jj = 0; jj < nj; jj++) {
      const float s = _mm512_reduce_add_ps(acc[i][jj]);
      float* ci = c + i * p.ldc + jj;
      *ci = p.beta == 0.0f ? p.alpha * s : std::fma(p.alpha, s, p.beta * *ci);
    }
}

void small_bf16(const Gemm16Problem& p, float* work) {
  const int64_t m = p.m, n = p.n, k = p.k, kp = (k + 31) / 32 * 32;
  uint16_t* x = reinterpret_cast<uint16_t*>(work);
  for (int64_t i = 0; i < m; i++) {
    uint32_t* row = reinterpret_cast<uint32_t*>(x + i * kp);
    row_to_pairs(p.a + i * p.lda, k, row);
    for (int64_t q = (k + 1) / 2; q < kp / 2; q++) row[q] = 0;
  }
  for (int64_t j0 = 0; j0 < n; j0 += kJ) {
    const int nj = static_cast<int>(imin(kJ, n - j0));
    const uint16_t* w[kJ];
    for (int jj = 0; jj < kJ; jj++) w[jj] = p.b + (j0 + (jj < nj ? jj : 0)) * p.ldb;
    const char* pf = reinterpret_cast<const char*>(p.b + j0 * p.ldb) + kAheadBytes;
    for (int64_t i0 = 0; i0 < m; i0 += kI) {
      const uint16_t* xi = x + i0 * kp;
      float* c = p.c + i0 * p.ldc + j0;
      const char* f = i0 == 0 ? pf : nullptr;
      switch (imin(kI, m - i0)) {
        case 1: small_block<1>(p, xi, kp, w, nj, c, f); break;
        case 2: small_block<2>(p, xi, kp, w, nj, c, f); break;
        case 3: small_block<3>(p, xi, kp, w, nj, c, f); break;
        case 4: small_block<4>(p, xi, kp, w, nj, c, f); break;
        case 5: small_block<5>(p, xi, kp, w, nj, c, f); break;
        default: small_block<kI>(p, xi, kp, w, nj, c, f); break;
      }
    }
  }
}

void run(const Gemm16Problem& p, float* work) {
  if (p.dtype == W16::kBf16) run_bf16(p, work);
  else w16_avx512_run(p, work);
}
void small_m(const Gemm16Problem& p, float* work) {
  if (p.dtype == W16::kBf16) small_bf16(p, work);
  else w16_avx512_small(p, work);
}

// bf16 needs KC2·(NC + 2·MR) dwords + a tile; f16 runs on the avx512 workspace (kW16Avx512Floats).
constexpr size_t kBf16Floats = static_cast<size_t>(KC2) * (NC + 2 * MR) + MR * NR + 16;

}  // namespace

static_assert(kBf16Floats <= kW16Avx512Floats, "the bf16 workspace must fit the avx512 one");
const W16Isa kW16Avx512Bf16 = {"avx512bf16", MR, NR, kW16Avx512Floats, run, small_m};

}  // namespace rft
