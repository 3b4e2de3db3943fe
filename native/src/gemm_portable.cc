// Portable GEMM (no ISA flags beyond the compiler's baseline): a 4 × 8 tile in plain C++ that the
// compiler vectorises with SSE2 (or whatever the target has). The fallback for CPUs without AVX2.
#include "gemm16.h"
#include "gemm_isa.h"

namespace rft {
namespace {

#include "gemm_driver.h"
#include "gemm16_driver.h"

struct Portable {
  static constexpr int MR = 4, NR = 8, KC = 256, NC = 512;

  static void kernel(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c,
                     int64_t ldc, float alpha, float beta, Prefetcher*, Prefetcher*) {
    float acc[MR][NR] = {};
    for (int64_t p = 0; p < kc; p++) {
      for (int r = 0; r < MR; r++) {
        const float a = ap[r];
        for (int j = 0; j < NR; j++) acc[r][j] += a * bp[j];
      }
      ap += MR;
      bp += NR;
    }
    for (int r = 0; r < MR; r++) {
      float* cr = c + r * ldc;
      if (beta == 0.0f) {
        for (int j = 0; j < NR; j++) cr[j] = alpha * acc[r][j];
      } else {
        for (int j = 0; j < NR; j++) cr[j] = alpha * acc[r][j] + beta * cr[j];
      }
    }
  }

  static void transpose_panel(const float* src, int64_t ld, int w, int64_t kc, int W, float* dst) {
    transpose_panel_scalar(src, ld, w, kc, W, dst);
  }
};

void run(const GemmProblem& p, float* work) { gemm_serial<Portable>(p, work); }
void run16(const Gemm16Problem& p, float* work) { gemm16_serial<Portable, ScalarCvt>(p, work); }

// 16 independent scalar-lane FMA chains written as plain arithmetic; the compiler vectorises them.
double fma_loop(int64_t iters, float* sink) {
  float x[16];
  for (int i = 0; i < 16; i++) x[i] = 0.1f * static_cast<float>(i + 1);
  for (int64_t i = 0; i < iters; i++)
    for (int j = 0; j < 16; j++) x[j] = x[j] * 0.999999f + 1e-6f;
  for (float v : x) *sink += v;
  return static_cast<double>(iters) * 16 * 2;
}

}  // namespace

const W16Isa kW16Portable = {"portable", Portable::MR, Portable::NR, gemm16_workspace_floats<Portable>(), run16, nullptr};

const GemmIsa kGemmPortable = {"portable", Portable::MR, Portable::NR, Portable::KC, Portable::NC,
                               gemm_workspace_floats<Portable>(), run, nullptr, fma_loop};

}  // namespace rft
