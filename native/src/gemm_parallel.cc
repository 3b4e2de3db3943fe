// GEMM dispatch: picks the ISA once from the CPU's features, splits large products over the
// thread pool, and hands each thread its own packing workspace.
//
// Thread split: C is cut into a tm × tn grid of blocks on MR/NR boundaries; threads take blocks
// one at a time and pack their own panels — no shared packed data, no atomics on C.
// Because every ISA's KC is fixed, each C element is summed in the same order whatever the grid,
// so results do not depend on the thread count at all. (The packed or the few-rows path is also
// chosen on the whole product, never per block, for the same reason.)
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <cstring>

#include "gemm.h"
#include "gemm16.h"
#include "threadpool.h"

namespace rft {
namespace {

// Below this many multiply-adds a product stays on the calling thread: waking a worker and
// packing twice costs more than it saves (about 64³).
constexpr double kParallelMin = 64.0 * 64.0 * 64.0;

// Products with at most this many rows take the ISA's unpacked path (gemm_small.h) when it has one:
// up to kSmallRowsBt when B is stored n × k (x · Wᵀ, decoding with up to 16 sequences; the dot
// products need k ≥ kSmallMinK to pay for their horizontal sums, else packing B is cheaper), and
// up to kSmallRows when B is stored k × n.
constexpr int64_t kSmallRows = 8;
constexpr int64_t kSmallRowsBt = 16;
constexpr int64_t kSmallMinK = 64;

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const GemmIsa* const kIsas[] = {&kGemmAvx512, &kGemmAvx2, &kGemmPortable, nullptr};

const GemmIsa* widest_supported() {
  for (int i = 0; kIsas[i]; i++)
    if (gemm_isa_supported(*kIsas[i])) return kIsas[i];
  return &kGemmPortable;
}

const GemmIsa* g_isa = widest_supported();

// Per-thread packing workspace, 64-byte aligned, grown on demand and kept for the thread's life.
struct Workspace {
  float* data = nullptr;
  size_t size = 0;
  ~Workspace() { std::free(data); }
  float* get(size_t floats) {
    if (floats > size) {
      std::free(data);
      size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      data = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data) throw std::bad_alloc();
      size = floats;
    }
    return data;
  }
};
thread_local Workspace t_workspace;

// Whether a product takes the unpacked few-rows path. Decided once on the whole product (never on
// a thread's block of it), since the two paths round differently.
bool use_small(const GemmIsa& isa, const GemmProblem& p) {
  if (!isa.small_m) return false;
  return p.trans_b ? p.m <= kSmallRowsBt && p.k >= kSmallMinK : p.m <= kSmallRows;
}

void run_serial(const GemmIsa& isa, const GemmProblem& p, bool small) {
  if (p.m <= 0 || p.n <= 0) return;
  if (p.k <= 0) {  // no products: C = beta · C (beta == 0 clears, even NaN)
    for (int64_t i = 0; i < p.m; i++) {
      float* c = p.c + i * p.ldc;
      for (int64_t j = 0; j < p.n; j++) c[j] = p.beta == 0.0f ? 0.0f : p.beta * c[j];
    }
    return;
  }
  if (small) {
    const size_t need = static_cast<size_t>(p.m * p.k);
    isa.small_m(p, t_workspace.get(need > isa.workspace_floats ? need : isa.workspace_floats));
    return;
  }
  isa.run(p, t_workspace.get(isa.workspace_floats));
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Rows (or columns) of part i when `units` tiles of `unit` are dealt to `parts` parts.
inline void split(int64_t total, int64_t unit, int64_t parts, int64_t i, int64_t* begin, int64_t* end) {
  const int64_t units = ceil_div(total, unit);
  int64_t b = units * i / parts * unit, e = units * (i + 1) / parts * unit;
  *begin = b < total ? b : total;
  *end = e < total ? e : total;
}

// Grid tm × tn of C blocks for `threads` threads. Blocks are handed out dynamically (a thread
// that finishes early takes the next), so there are a few more blocks than threads: on a shared
// machine a thread that lost its core for a while then does less of the work. The cost model
// (in cycles) is the arithmetic at 32 flops/cycle plus each block's own packing — A re-packed per
// NC block of its columns, B once — taken over the whole grid, plus one block for the tail.
void choose_grid(const GemmIsa& isa, const GemmProblem& p, int threads, int64_t* tm_out, int64_t* tn_out) {
  const int64_t mt = ceil_div(p.m, isa.mr), nt = ceil_div(p.n, isa.nr);
  const int64_t target = 4 * static_cast<int64_t>(threads);
  const double k = static_cast<double>(p.k);
  double best = -1;
  *tm_out = 1;
  *tn_out = 1;
  for (int64_t tm = 1; tm <= mt && tm <= target; tm++) {
    for (int64_t tn = 1; tn <= nt && tm * tn <= target; tn++) {
      const int64_t blocks = tm * tn;
      const double ms = static_cast<double>(ceil_div(mt, tm) * isa.mr);
      const double ns = static_cast<double>(ceil_div(nt, tn) * isa.nr);
      const double per_block = ms * ns * k / 16.0 +
                               ms * k * static_cast<double>(ceil_div(static_cast<int64_t>(ns), isa.nc)) * 0.5 + ns * k * 0.25;
      const double waves = static_cast<double>(ceil_div(blocks, threads));
      const double cost = blocks < threads ? per_block * 1e3 : per_block * (waves + 1.0);
      if (best < 0 || cost < best) {
        best = cost;
        *tm_out = tm;
        *tn_out = tn;
      }
    }
  }
}

GemmProblem block(const GemmProblem& p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  GemmProblem q = p;
  q.m = i1 - i0;
  q.n = j1 - j0;
  q.a = p.trans_a ? p.a + i0 : p.a + i0 * p.lda;
  q.b = p.trans_b ? p.b + j0 * p.ldb : p.b + j0;
  q.c = p.c + i0 * p.ldc + j0;
  return q;
}

// Runs task(0 .. tasks-1) on the pool, each thread taking the next task as it becomes free.
// Which thread runs a task does not change any result (each task owns its part of C).
template <class F>
void run_tasks(int64_t tasks, int threads, const F& task) {
  std::atomic<int64_t> next{0};
  parallel_for(threads, 1, [&](int64_t, int64_t) {
    for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks;) task(t);
  });
}

void run_parallel(const GemmIsa& isa, const GemmProblem& p, int threads) {
  int64_t tm = 1, tn = 1;
  const bool small = use_small(isa, p);
  if (small) {
    // Few rows: split the columns, 64 at a time (B is read once in all).
    tn = ceil_div(p.n, 64) < 4 * threads ? ceil_div(p.n, 64) : 4 * threads;
    run_tasks(tn, threads, [&](int64_t t) {
      int64_t j0, j1;
      split(p.n, 64, tn, t, &j0, &j1);
      if (j0 < j1) run_serial(isa, block(p, 0, p.m, j0, j1), true);
    });
    return;
  }
  choose_grid(isa, p, threads, &tm, &tn);
  if (tm * tn == 1) {
    run_serial(isa, p, false);
    return;
  }
  run_tasks(tm * tn, threads, [&](int64_t t) {
    int64_t i0, i1, j0, j1;
    split(p.m, isa.mr, tm, t / tn, &i0, &i1);
    split(p.n, isa.nr, tn, t % tn, &j0, &j1);
    if (i0 < i1 && j0 < j1) run_serial(isa, block(p, i0, i1, j0, j1), false);
  });
}

// ---- 16-bit weights (gemm16.h): the same split rules on a Gemm16Problem. ----

bool cpu_has_avx512bf16() { return cpu_has_avx512() && __builtin_cpu_supports("avx512bf16"); }

const W16Isa* const kW16Isas[] = {&kW16Avx512Bf16, &kW16Avx512Bf16Round, &kW16Avx512, &kW16Avx2, &kW16Portable, nullptr};

const W16Isa* w16_widest() {
  for (int i = 0; kW16Isas[i]; i++)
    if (w16_isa_supported(*kW16Isas[i])) return kW16Isas[i];
  return &kW16Portable;
}

const W16Isa* g_w16 = nullptr;  // chosen on first use (after the CPU checks can run)

// The few-rows rule of use_small for B stored n × k (the F32 kernels' own, so that the conversion
// paths mirror sgemm exactly); B stored k × n always packs.
bool use_small16(const W16Isa& isa, const Gemm16Problem& p) {
  return isa.small_m && p.trans_b && p.m <= kSmallRowsBt && p.k >= kSmallMinK;
}

void run_serial16(const W16Isa& isa, const Gemm16Problem& p, bool small) {
  if (p.m <= 0 || p.n <= 0) return;
  if (p.k <= 0) {
    for (int64_t i = 0; i < p.m; i++) {
      float* c = p.c + i * p.ldc;
      for (int64_t j = 0; j < p.n; j++) c[j] = p.beta == 0.0f ? 0.0f : p.beta * c[j];
    }
    return;
  }
  if (small) {
    const size_t need = static_cast<size_t>(p.m * (p.k + 64));
    isa.small_m(p, t_workspace.get(need));
    return;
  }
  isa.run(p, t_workspace.get(isa.workspace_floats));
}

Gemm16Problem block16(const Gemm16Problem& p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  Gemm16Problem q = p;
  q.m = i1 - i0;
  q.n = j1 - j0;
  q.a = p.a + i0 * p.lda;
  q.b = p.trans_b ? p.b + j0 * p.ldb : p.b + j0;
  q.c = p.c + i0 * p.ldc + j0;
  return q;
}

void run_parallel16(const W16Isa& isa, const Gemm16Problem& p, int threads) {
  if (use_small16(isa, p)) {
    const int64_t tn = ceil_div(p.n, 64) < 4 * threads ? ceil_div(p.n, 64) : 4 * threads;
    run_tasks(tn, threads, [&](int64_t t) {
      int64_t j0, j1;
      split(p.n, 64, tn, t, &j0, &j1);
      if (j0 < j1) run_serial16(isa, block16(p, 0, p.m, j0, j1), true);
    });
    return;
  }
  // The grid model only needs the tile and the shape.
  GemmIsa shape_isa{isa.name, isa.mr, isa.nr, 256, 384, 0, nullptr, nullptr, nullptr};
  GemmProblem shape{false, p.trans_b, p.m, p.n, p.k, 1.0f, nullptr, 0, nullptr, 0, 0.0f, nullptr, 0};
  int64_t tm = 1, tn = 1;
  choose_grid(shape_isa, shape, threads, &tm, &tn);
  if (tm * tn == 1) {
    run_serial16(isa, p, false);
    return;
  }
  run_tasks(tm * tn, threads, [&](int64_t t) {
    int64_t i0, i1, j0, j1;
    split(p.m, isa.mr, tm, t / tn, &i0, &i1);
    split(p.n, isa.nr, tn, t % tn, &j0, &j1);
    if (i0 < i1 && j0 < j1) run_serial16(isa, block16(p, i0, i1, j0, j1), false);
  });
}

double madds(const GemmProblem& p) {
  return static_cast<double>(p.m) * static_cast<double>(p.n) * static_cast<double>(p.k);
}

}  // namespace

bool gemm_isa_supported(const GemmIsa& isa) {
  if (&isa == &kGemmAvx512) return cpu_has_avx512();
  if (&isa == &kGemmAvx2) return cpu_has_avx2();
  return true;
}

const GemmIsa& gemm_isa() { return *g_isa; }
const GemmIsa* const* gemm_isas() { return kIsas; }

bool set_gemm_isa(const char* name) {
  for (int i = 0; kIsas[i]; i++) {
    if (std::strcmp(kIsas[i]->name, name) == 0) {
      if (!gemm_isa_supported(*kIsas[i])) return false;
      g_isa = kIsas[i];
      return true;
    }
  }
  return false;
}

void sgemm(const GemmProblem& p) {
  const GemmIsa& isa = *g_isa;
  const int threads = num_threads();
  if (threads == 1 || madds(p) < kParallelMin) run_serial(isa, p, use_small(isa, p));
  else run_parallel(isa, p, threads);
}

void sgemm_batched(const GemmProblem& p, int64_t stride_a, int64_t stride_b, int64_t stride_c, int64_t batch) {
  const GemmIsa& isa = *g_isa;
  const int threads = num_threads();
  auto item = [&](int64_t i) {
    GemmProblem q = p;
    q.a = p.a + i * stride_a;
    q.b = p.b + i * stride_b;
    q.c = p.c + i * stride_c;
    return q;
  };
  if (batch <= 0) return;
  if (threads == 1 || madds(p) * static_cast<double>(batch) < kParallelMin) {
    for (int64_t i = 0; i < batch; i++) run_serial(isa, item(i), use_small(isa, p));
    return;
  }
  // Whole products per thread when they divide evenly enough; otherwise split each product.
  if (batch >= threads && (batch % threads == 0 || batch >= 4 * threads)) {
    run_tasks(batch, threads, [&](int64_t i) { run_serial(isa, item(i), use_small(isa, p)); });
    return;
  }
  for (int64_t i = 0; i < batch; i++) sgemm(item(i));
}

bool w16_isa_supported(const W16Isa& isa) {
  if (&isa == &kW16Avx512Bf16 || &isa == &kW16Avx512Bf16Round) return cpu_has_avx512bf16();
  if (&isa == &kW16Avx512) return cpu_has_avx512();
  if (&isa == &kW16Avx2) return cpu_has_avx2();
  return true;
}

const W16Isa& w16_isa() {
  if (!g_w16) g_w16 = w16_widest();
  return *g_w16;
}
const W16Isa* const* w16_isas() { return kW16Isas; }

bool set_w16_isa(const char* name) {
  for (int i = 0; kW16Isas[i]; i++) {
    if (std::strcmp(kW16Isas[i]->name, name) == 0) {
      if (!w16_isa_supported(*kW16Isas[i])) return false;
      g_w16 = kW16Isas[i];
      return true;
    }
  }
  return false;
}

void gemm16(const Gemm16Problem& p) {
  const W16Isa& isa = w16_isa();
  const int threads = num_threads();
  const double madds = static_cast<double>(p.m) * static_cast<double>(p.n) * static_cast<double>(p.k);
  if (threads == 1 || madds < kParallelMin) run_serial16(isa, p, use_small16(isa, p));
  else run_parallel16(isa, p, threads);
}

double read_bandwidth_gbs(int threads, int64_t bytes) {
  const int before = num_threads();
  if (threads != before) set_num_threads(threads);
  threads = num_threads();
  const int64_t words = bytes / 8 / 64 * 64;
  uint64_t* buf = static_cast<uint64_t*>(std::aligned_alloc(64, static_cast<size_t>(words) * 8));
  if (!buf) throw std::bad_alloc();
  for (int64_t i = 0; i < words; i++) buf[i] = static_cast<uint64_t>(i);  // touch every page
  static uint64_t sink;
  double best = 0;
  for (int rep = 0; rep < 7; rep++) {
    auto t0 = std::chrono::steady_clock::now();
    // Eight independent sums per thread over its contiguous slice: a pure sequential read.
    parallel_for(threads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; t++) {
        const int64_t lo = words * t / threads / 64 * 64, hi = words * (t + 1) / threads / 64 * 64;
        uint64_t s[8] = {};
        for (int64_t i = lo; i < hi; i += 8)
          for (int j = 0; j < 8; j++) s[j] += buf[i + j];
        uint64_t total = 0;
        for (int j = 0; j < 8; j++) total += s[j];
        __atomic_fetch_add(&sink, total, __ATOMIC_RELAXED);
      }
    });
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = dt > 0 ? static_cast<double>(words) * 8 / dt / 1e9 : 0;
    if (rate > best) best = rate;
  }
  std::free(buf);
  if (threads != before) set_num_threads(before);
  return best;
}

double fma_peak_gflops(int threads, bool cpu_time) {
  const GemmIsa& isa = *widest_supported();
  const int before = num_threads();
  if (threads != before) set_num_threads(threads);
  threads = num_threads();
  // Many short runs (about 1 ms each), best of them: on a shared machine some run undisturbed,
  // as short benchmarked calls do.
  constexpr int64_t kIters = 250000;
  constexpr int kMax = 1024;
  double best = 0;
  static float sinks[kMax];
  for (int rep = 0; rep < 40; rep++) {
    double flops[kMax] = {}, cpu[kMax] = {};
    auto t0 = std::chrono::steady_clock::now();
    parallel_for(threads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end && t < kMax; t++) {
        timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        flops[t] = isa.fma_loop(kIters, &sinks[t]);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        cpu[t] = static_cast<double>(c1.tv_sec - c0.tv_sec) + 1e-9 * static_cast<double>(c1.tv_nsec - c0.tv_nsec);
      }
    });
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double rate = 0, total = 0;
    for (int t = 0; t < threads && t < kMax; t++) {
      total += flops[t];
      if (cpu[t] > 0) rate += flops[t] / cpu[t];
    }
    if (!cpu_time) rate = dt > 0 ? total / dt : 0;
    if (rate > best) best = rate;
  }
  if (threads != before) set_num_threads(before);
  return best / 1e9;
}

}  // namespace rft
