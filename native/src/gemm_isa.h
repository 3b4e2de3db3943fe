// Internal interface between the GEMM driver (gemm.cc: argument checks, threading, dispatch) and
// the per-ISA implementations (gemm_avx512.cc, gemm_avx2.cc, gemm_portable.cc), each compiled
// with its own -m flags into its own library and chosen at run time from the CPU's features.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rft {

// One single-threaded product C = alpha · op(A) · op(B) + beta · C, row-major, with the
// Kernels.sgemm conventions: op(A) (m, k), op(B) (k, n), C (m, n); lda/ldb/ldc are row strides of
// the stored matrices. beta == 0 means C is not read (it may hold NaN).
struct GemmProblem {
  bool trans_a, trans_b;
  int64_t m, n, k;
  float alpha;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
};

struct GemmIsa {
  const char* name;          // "avx512", "avx2", "portable"
  int mr, nr;                // register tile: C is computed in mr × nr blocks
  int kc;                    // depth of one packed block; fixed, so results do not depend on threads
  int nc;                    // columns of B packed at once
  size_t workspace_floats;   // per-thread scratch the driver hands to run()
  void (*run)(const GemmProblem& p, float* workspace);
  // Unpacked path for few rows (m ≤ 8; null when the ISA has none); workspace holds ≥ m · k floats.
  void (*small_m)(const GemmProblem& p, float* workspace);
  // Runs `iters` iterations of independent FMA chains; returns the flops done (for the peak).
  double (*fma_loop)(int64_t iters, float* sink);
};

extern const GemmIsa kGemmAvx512;
extern const GemmIsa kGemmAvx2;
extern const GemmIsa kGemmPortable;

}  // namespace rft
