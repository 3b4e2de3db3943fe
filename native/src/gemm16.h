// GEMM with 16-bit frozen weights: C = alpha · A · op(B) + beta · C, A in F32, B as bf16 or f16
// bits. The two products of a frozen projection: the forward y = x · Wᵀ (trans_b, W stored
// n × k) and the backward dx = dy · W (W stored k × n). Each ISA file implements a W16Isa;
// gemm_parallel.cc picks one at run time and splits the product over the thread pool.
//
// Paths (widest first): "avx512bf16" runs bf16 weights on vdpbf16ps with A split into two bf16
// parts (hi + lo, 2⁻¹⁶ relative), and f16 weights through the avx512 conversion path;
// "avx512bf16-round" (opt-in, benchmarks) rounds A once to bf16, at twice the rate; "avx512",
// "avx2" and "portable" widen B to F32 as they pack (or load) it and run the F32 kernels, so they
// give exactly what sgemm gives on the widened weights. See gemm_avx512bf16.cc.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gemm_isa.h"

namespace rft {

enum class W16 { kBf16 = 0, kF16 = 1 };

struct Gemm16Problem {
  W16 dtype;
  bool trans_b;
  int64_t m, n, k;
  float alpha;
  const float* a;     // m × k, row stride lda
  int64_t lda;
  const uint16_t* b;  // trans_b: n × k, else k × n; row stride ldb
  int64_t ldb;
  float beta;         // 0: C is not read
  float* c;
  int64_t ldc;
};

struct W16Isa {
  const char* name;
  int mr, nr;               // register tile of the packed path
  size_t workspace_floats;  // per-thread scratch of the packed path
  void (*run)(const Gemm16Problem& p, float* workspace);
  // Unpacked path for few rows with trans_b (decoding); workspace holds ≥ m · (k + 64) floats.
  void (*small_m)(const Gemm16Problem& p, float* workspace);
};

// Workspace of the avx512 and avx512bf16 packed paths (floats per thread).
constexpr size_t kW16Avx512Floats = 131072;

extern const W16Isa kW16Avx512Bf16;
extern const W16Isa kW16Avx512Bf16Round;
extern const W16Isa kW16Avx512;
extern const W16Isa kW16Avx2;
extern const W16Isa kW16Portable;

// Multi-threaded entry point (gemm_parallel.cc); arguments are assumed valid (gemm16.cc checks them).
void gemm16(const Gemm16Problem& p);
const W16Isa& w16_isa();
bool w16_isa_supported(const W16Isa& isa);
bool set_w16_isa(const char* name);
const W16Isa* const* w16_isas();  // null-terminated, widest first

// Scalar conversions (exact widening; RNE narrowing to bf16, NaN kept quiet).
inline float bf16_to_f32(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) u = sign;
    else {  // subnormal: normalise
      int e = -1;
      uint32_t m = mant;
      do { e++; m <<= 1; } while ((m & 0x400) == 0);
      u = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (m & 0x3ff) << 13;
    }
  } else if (exp == 0x1f) u = sign | 0x7f800000 | mant << 13;
  else u = sign | (exp + 127 - 15) << 23 | mant << 13;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
inline uint16_t f32_to_bf16(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
inline float w16_to_f32(W16 t, uint16_t h) { return t == W16::kBf16 ? bf16_to_f32(h) : f16_to_f32(h); }

}  // namespace rft
