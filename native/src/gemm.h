// Multi-threaded single-precision GEMM on the run-time-selected ISA (gemm_parallel.cc). Arguments
// are assumed valid here; the N-API layer (gemm.cc) checks them.
#pragma once
#include <cstdint>

#include "gemm_isa.h"

namespace rft {

// C = alpha · op(A) · op(B) + beta · C (see GemmProblem). Splits C over the thread pool when the
// product is large enough; results are bit-identical for any thread count.
void sgemm(const GemmProblem& p);
// `batch` products; matrix i of each operand starts at i · stride (in floats).
void sgemm_batched(const GemmProblem& p, int64_t stride_a, int64_t stride_b, int64_t stride_c, int64_t batch);

const GemmIsa& gemm_isa();                 // the ISA in use
bool gemm_isa_supported(const GemmIsa& isa);
bool set_gemm_isa(const char* name);        // false when unknown or unsupported by this CPU
const GemmIsa* const* gemm_isas();          // null-terminated, widest first

// Measured peak of independent FMA chains on `threads` threads, in GFLOP/s (best of a few runs),
// using the widest ISA this CPU supports. cpu_time: each thread's rate over its own CPU time,
// summed — what the cores can do when this process has them, whatever else the machine runs.
double fma_peak_gflops(int threads, bool cpu_time);

// Measured sequential read bandwidth of main memory on `threads` threads, in GB/s (best of a few
// passes over a `bytes` buffer — make it several times the last-level cache).
double read_bandwidth_gbs(int threads, int64_t bytes);

}  // namespace rft
