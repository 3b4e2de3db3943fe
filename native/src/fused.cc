// N-API entry points of the fused kernels, exported under the Kernels method names of
// src/engine/kernels.ts with the same arguments. Each checks its arguments (napi_args.h), then
// splits the work over the thread pool in fixed partitions and runs the kernel body compiled for
// the best instruction set this CPU has (fused_kernels.inc). Cross-row reductions (rmsnorm's dw,
// embedding scatter-add) are split by column or reduced in a fixed block order, so results do not
// depend on the number of threads.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#include "addon.h"
#include "fused_kernels.h"
#include "napi_args.h"
#include "threadpool.h"

namespace rft {
namespace {

const FusedKernels* pickKernels() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return &avx512::fusedKernels;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &avx2::fusedKernels;
  return &portable::fusedKernels;
}

const FusedKernels* K = pickKernels();

// Rows per task so that each task has at least ~16k elements of work.
int64_t rowGrain(int64_t cols) { return cols >= 16384 ? 1 : 16384 / (cols > 0 ? cols : 1); }
constexpr int64_t kElemGrain = 16384;

Napi::Value RmsnormForward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "rmsnormForward", 7);
  const int64_t rows = a.dim(4, "rows"), dim = a.dim(5, "dim");
  const double eps = a.finite(6, "eps");
  const int64_t n = a.product({rows, dim});
  const std::string s = shape_of({rows, dim});
  const float* x = a.f32(0, "x", n, s);
  const float* w = a.f32(1, "w", dim, shape_of({dim}));
  float* y = a.f32(2, "y", n, s);
  float* rstd = a.f32(3, "rstd", rows, shape_of({rows}));
  parallel_for(rows, rowGrain(dim), [&](int64_t r0, int64_t r1) { K->rmsnormForward(x, w, y, rstd, r0, r1, dim, (float)eps); });
  return info.Env().Undefined();
}

Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "rmsnormBackward", 8);
  const int64_t rows = a.dim(6, "rows"), dim = a.dim(7, "dim");
  const int64_t n = a.product({rows, dim});
  const std::string s = shape_of({rows, dim});
  const float* dy = a.f32(0, "dy", n, s);
  const float* x = a.f32(1, "x", n, s);
  const float* w = a.f32(2, "w", dim, shape_of({dim}));
  const float* rstd = a.f32(3, "rstd", rows, shape_of({rows}));
  float* dx = a.f32(4, "dx", n, s);
  float* dw = a.f32(5, "dw", dim, shape_of({dim}), true);
  // Fixed blocks of rows, each with its own partial dw, summed in block order below.
  constexpr int64_t kBlock = 32;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  std::vector<float> part(dw ? blocks * dim : 0);
  float* partp = part.data();
  parallel_for(blocks, rowGrain(kBlock * dim), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t r0 = b * kBlock, r1 = r0 + kBlock < rows ? r0 + kBlock : rows;
      K->rmsnormBackward(dy, x, w, rstd, dx, dw ? partp + b * dim : nullptr, r0, r1, dim);
    }
  });
  if (dw) {
    parallel_for(dim, 256, [&](int64_t c0, int64_t c1) {
      for (int64_t b = 0; b < blocks; b++)
        for (int64_t c = c0; c < c1; c++) dw[c] += partp[b * dim + c];
    });
  }
  return info.Env().Undefined();
}

Napi::Value Rope(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "rope", 9);
  const int64_t rows = a.dim(5, "rows"), heads = a.dim(6, "heads"), D = a.dim(7, "headDim");
  const bool inverse = a.boolean(8, "inverse");
  if (D % 2 != 0) a.range_error("headDim must be even, got " + std::to_string(D));
  const int64_t n = a.product({rows, heads, D});
  const std::string s = shape_of({rows, heads, D});
  const float* x = a.f32(0, "x", n, s);
  float* y = a.f32(1, "y", n, s);
  const int32_t* pos = a.i32(2, "positions", rows, shape_of({rows}));
  const int64_t half = D / 2;
  const TypedSpan<float> cos = a.f32_span(3, "cos", "(maxPos, " + std::to_string(half) + ")");
  const TypedSpan<float> sin = a.f32_span(4, "sin", "(maxPos, " + std::to_string(half) + ")");
  if (half > 0) a.ids_in_range(pos, rows, (cos.length < sin.length ? cos.length : sin.length) / half, "positions");
  parallel_for(rows, rowGrain(heads * D),
               [&](int64_t r0, int64_t r1) { K->rope(x, y, pos, cos.data, sin.data, r0, r1, heads, D, inverse); });
  return info.Env().Undefined();
}

Napi::Value SwigluForward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "swigluForward", 4);
  const int64_t n = a.dim(3, "n");
  const std::string s = shape_of({n});
  const float* gate = a.f32(0, "gate", n, s);
  const float* up = a.f32(1, "up", n, s);
  float* out = a.f32(2, "out", n, s);
  parallel_for(n, kElemGrain, [&](int64_t i0, int64_t i1) { K->swigluForward(gate, up, out, i0, i1); });
  return info.Env().Undefined();
}

Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "swigluBackward", 6);
  const int64_t n = a.dim(5, "n");
  const std::string s = shape_of({n});
  const float* gate = a.f32(0, "gate", n, s);
  const float* up = a.f32(1, "up", n, s);
  const float* dout = a.f32(2, "dout", n, s);
  float* dgate = a.f32(3, "dgate", n, s);
  float* dup = a.f32(4, "dup", n, s);
  parallel_for(n, kElemGrain, [&](int64_t i0, int64_t i1) { K->swigluBackward(gate, up, dout, dgate, dup, i0, i1); });
  return info.Env().Undefined();
}

// Reads B..scale, qStart, kStart starting at argument `first` and checks the positions.
AttnArgs attentionDims(const NapiArgs& a, size_t first) {
  AttnArgs t{};
  t.B = a.dim(first, "B");
  t.Tq = a.dim(first + 1, "Tq");
  t.Tk = a.dim(first + 2, "Tk");
  t.Hq = a.dim(first + 3, "Hq");
  t.Hkv = a.dim(first + 4, "Hkv");
  t.D = a.dim(first + 5, "D");
  t.scale = (float)a.finite(first + 6, "scale");
  // The tiles' scratch grows with D; no real model has heads anywhere near this wide.
  if (t.D > 65536) a.range_error("head size D = " + std::to_string(t.D) + " is larger than the supported 65536");
  if (t.Hq == 0 || t.Hkv == 0 || t.Hq % t.Hkv != 0)
    a.range_error("Hq (" + std::to_string(t.Hq) + ") must be a positive multiple of Hkv (" + std::to_string(t.Hkv) + ")");
  a.product({t.B, t.Tq, t.Hq, t.D});
  a.product({t.B, t.Tk, t.Hkv, t.D});
  t.qStart = a.i32(first + 7, "qStart", t.B, shape_of({t.B}));
  t.kStart = a.i32(first + 8, "kStart", t.B, shape_of({t.B}));
  for (int64_t b = 0; b < t.B; b++) {
    if (t.qStart[b] < 0 || t.qStart[b] + t.Tq > t.Tk)
      a.range_error("qStart[" + std::to_string(b) + "] = " + std::to_string(t.qStart[b]) + " puts queries at positions " +
                    std::to_string(t.qStart[b]) + ".." + std::to_string(t.qStart[b] + t.Tq - 1) + ", outside the " +
                    std::to_string(t.Tk) + " keys");
    if (t.kStart[b] < 0) a.range_error("kStart[" + std::to_string(b) + "] = " + std::to_string(t.kStart[b]) + " must be ≥ 0");
  }
  return t;
}

std::string qShape(const AttnArgs& t) {
  return "(B=" + std::to_string(t.B) + ", Tq=" + std::to_string(t.Tq) + ", Hq=" + std::to_string(t.Hq) + ", D=" + std::to_string(t.D) + ")";
}
std::string kvShape(const AttnArgs& t) {
  return "(B=" + std::to_string(t.B) + ", Tk=" + std::to_string(t.Tk) + ", Hkv=" + std::to_string(t.Hkv) + ", D=" + std::to_string(t.D) + ")";
}
std::string lseShape(const AttnArgs& t) {
  return "(B=" + std::to_string(t.B) + ", Hq=" + std::to_string(t.Hq) + ", Tq=" + std::to_string(t.Tq) + ")";
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "attentionForward", 14);
  AttnArgs t = attentionDims(a, 5);
  const int64_t nq = t.B * t.Tq * t.Hq * t.D, nkv = t.B * t.Tk * t.Hkv * t.D;
  t.q = a.f32(0, "q", nq, qShape(t));
  t.k = a.f32(1, "k", nkv, kvShape(t));
  t.v = a.f32(2, "v", nkv, kvShape(t));
  t.out = a.f32(3, "out", nq, qShape(t));
  t.lse = a.f32(4, "lse", t.B * t.Hq * t.Tq, lseShape(t));
  const int64_t G = t.Hq / t.Hkv;
  if (t.Tq * G < kAttentionDotRows) {
    // Decoding: a task per (batch, group of kv heads); all of a sequence's kv heads in one task
    // when there are enough sequences to keep the threads busy, so K and V stream in address order.
    const int64_t kvPer = t.B >= 4 ? t.Hkv : 1, groups = t.Hkv / kvPer;
    parallel_for(t.B * groups, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t task = t0; task < t1; task++) {
        const int64_t kv0 = task % groups * kvPer;
        K->attentionForward(t, task / groups, kv0, kv0 + kvPer, 0, t.Tq);
      }
    });
    return info.Env().Undefined();
  }
  // Tasks: (batch, kv head, block of queries); a block holds up to 64 (query, head) rows.
  const int64_t BQ = G >= 64 ? 1 : 64 / G;
  const int64_t qBlocks = (t.Tq + BQ - 1) / BQ;
  parallel_for(t.B * t.Hkv * qBlocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t task = t0; task < t1; task++) {
      // Later query blocks see more keys (causal); alternating cheap and expensive blocks keeps
      // the contiguous ranges that parallel_for hands to each thread balanced.
      const int64_t k = task % qBlocks, bh = task / qBlocks;
      const int64_t qb = k % 2 == 0 ? k / 2 : qBlocks - 1 - k / 2;
      const int64_t i0 = qb * BQ, i1 = i0 + BQ < t.Tq ? i0 + BQ : t.Tq;
      const int64_t kvh = bh % t.Hkv;
      K->attentionForward(t, bh / t.Hkv, kvh, kvh + 1, i0, i1);
    }
  });
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "attentionBackward", 18);
  AttnArgs t = attentionDims(a, 9);
  const int64_t nq = t.B * t.Tq * t.Hq * t.D, nkv = t.B * t.Tk * t.Hkv * t.D;
  t.q = a.f32(0, "q", nq, qShape(t));
  t.k = a.f32(1, "k", nkv, kvShape(t));
  t.v = a.f32(2, "v", nkv, kvShape(t));
  t.out = a.f32(3, "out", nq, qShape(t));
  t.lse = a.f32(4, "lse", t.B * t.Hq * t.Tq, lseShape(t));
  t.dout = a.f32(5, "dout", nq, qShape(t));
  t.dq = a.f32(6, "dq", nq, qShape(t));
  t.dk = a.f32(7, "dk", nkv, kvShape(t));
  t.dv = a.f32(8, "dv", nkv, kvShape(t));
  // A task per (batch, kv head) writes that head's dk, dv and its query heads' dq. With fewer than
  // 8 such pairs (one long sequence), each is split into S parts over its query blocks, each part
  // with private dk, dv summed below in part order. S depends on the shape only, never on the
  // thread count, so the results do not either.
  const int64_t pairs = t.B * t.Hkv, D = t.D, ldkv = t.Hkv * D;
  const int64_t qBlocks = (t.Tq + attentionBackwardBlock(t.Hq / t.Hkv) - 1) / attentionBackwardBlock(t.Hq / t.Hkv);
  int64_t S = pairs > 0 && pairs < 8 ? (8 + pairs - 1) / pairs : 1;
  if (S > qBlocks) S = qBlocks > 0 ? qBlocks : 1;
  if (S == 1) {
    parallel_for(pairs, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t bh = t0; bh < t1; bh++) {
        const int64_t b = bh / t.Hkv, kvh = bh % t.Hkv;
        const int64_t off = (b * t.Tk * t.Hkv + kvh) * D;
        K->attentionBackward(t, b, kvh, 0, 1, t.dk + off, t.dv + off, ldkv);
      }
    });
    return info.Env().Undefined();
  }
  const int64_t partLen = t.Tk * D;  // one part's dk (or dv): (Tk, D)
  std::vector<float> parts(2 * pairs * S * partLen);
  float* pp = parts.data();
  parallel_for(pairs * S, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t task = t0; task < t1; task++) {
      const int64_t bh = task / S, s = task % S;
      float* dk = pp + (2 * task) * partLen;
      K->attentionBackward(t, bh / t.Hkv, bh % t.Hkv, s, S, dk, dk + partLen, D);
    }
  });
  // dk[b, j, kvh] = Σ_s part(b, kvh, s)[j], in order of s.
  parallel_for(pairs * t.Tk, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; row++) {
      const int64_t bh = row / t.Tk, j = row % t.Tk, b = bh / t.Hkv, kvh = bh % t.Hkv;
      float* dk = t.dk + ((b * t.Tk + j) * t.Hkv + kvh) * D;
      float* dv = t.dv + ((b * t.Tk + j) * t.Hkv + kvh) * D;
      const float* p0 = pp + 2 * bh * S * partLen + j * D;
      std::memcpy(dk, p0, sizeof(float) * D);
      std::memcpy(dv, p0 + partLen, sizeof(float) * D);
      for (int64_t s = 1; s < S; s++) {
        const float* p = p0 + 2 * s * partLen;
        for (int64_t d = 0; d < D; d++) dk[d] += p[d];
        for (int64_t d = 0; d < D; d++) dv[d] += p[partLen + d];
      }
    }
  });
  return info.Env().Undefined();
}

// softmaxForward / logSoftmaxForward (x, y, rows, cols) and their backwards (y, dy, dx, rows, cols).
template <int NARR>
Napi::Value RowWise(const Napi::CallbackInfo& info, const char* op, const char* const* names,
                    void (*fwd)(const float*, float*, int64_t, int64_t, int64_t),
                    void (*bwd)(const float*, const float*, float*, int64_t, int64_t, int64_t)) {
  NapiArgs a(info, op, NARR + 2);
  const int64_t rows = a.dim(NARR, "rows"), cols = a.dim(NARR + 1, "cols");
  const int64_t n = a.product({rows, cols});
  const std::string s = shape_of({rows, cols});
  float* p[NARR];
  for (int i = 0; i < NARR; i++) p[i] = a.f32(i, names[i], n, s);
  parallel_for(rows, rowGrain(cols), [&](int64_t r0, int64_t r1) {
    if (NARR == 2) fwd(p[0], p[1], r0, r1, cols);
    else bwd(p[0], p[1], p[NARR - 1], r0, r1, cols);
  });
  return info.Env().Undefined();
}

const char* const kFwdNames[] = {"x", "y"};
const char* const kBwdNames[] = {"y", "dy", "dx"};

Napi::Value TokenLogprobsForward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "tokenLogprobsForward", 6);
  const int64_t rows = a.dim(4, "rows"), vocab = a.dim(5, "vocab");
  const float* logits = a.f32(0, "logits", a.product({rows, vocab}), shape_of({rows, vocab}));
  const int32_t* targets = a.i32(1, "targets", rows, shape_of({rows}));
  float* logp = a.f32(2, "logp", rows, shape_of({rows}));
  float* lse = a.f32(3, "lse", rows, shape_of({rows}));
  a.ids_in_range(targets, rows, vocab, "targets", true);
  parallel_for(rows, rowGrain(vocab), [&](int64_t r0, int64_t r1) { K->tokenLogprobsForward(logits, targets, logp, lse, r0, r1, vocab); });
  return info.Env().Undefined();
}

Napi::Value TokenLogprobsBackward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "tokenLogprobsBackward", 7);
  const int64_t rows = a.dim(5, "rows"), vocab = a.dim(6, "vocab");
  const int64_t n = a.product({rows, vocab});
  const float* logits = a.f32(0, "logits", n, shape_of({rows, vocab}));
  const int32_t* targets = a.i32(1, "targets", rows, shape_of({rows}));
  const float* lse = a.f32(2, "lse", rows, shape_of({rows}));
  const float* dlogp = a.f32(3, "dlogp", rows, shape_of({rows}));
  float* dlogits = a.f32(4, "dlogits", n, shape_of({rows, vocab}));
  a.ids_in_range(targets, rows, vocab, "targets", true);
  parallel_for(rows, rowGrain(vocab), [&](int64_t r0, int64_t r1) {
    K->tokenLogprobsBackward(logits, targets, lse, dlogp, dlogits, r0, r1, vocab);
  });
  return info.Env().Undefined();
}

Napi::Value Entropy(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "entropy", 4);
  const int64_t rows = a.dim(2, "rows"), vocab = a.dim(3, "vocab");
  const float* logits = a.f32(0, "logits", a.product({rows, vocab}), shape_of({rows, vocab}));
  float* out = a.f32(1, "out", rows, shape_of({rows}));
  parallel_for(rows, rowGrain(vocab), [&](int64_t r0, int64_t r1) { K->entropy(logits, out, r0, r1, vocab); });
  return info.Env().Undefined();
}

Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "embeddingForward", 5);
  const int64_t n = a.dim(3, "n"), dim = a.dim(4, "dim");
  const std::string tshape = "(vocab, " + std::to_string(dim) + ")";
  const TypedSpan<float> table = a.f32_span(0, "table", tshape);
  const int32_t* ids = a.i32(1, "ids", n, shape_of({n}));
  float* out = a.f32(2, "out", a.product({n, dim}), shape_of({n, dim}));
  if (dim == 0) return info.Env().Undefined();
  a.ids_in_range(ids, n, table.length / dim, "ids");
  parallel_for(n, rowGrain(dim), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) std::memcpy(out + i * dim, table.data + (int64_t)ids[i] * dim, sizeof(float) * dim);
  });
  return info.Env().Undefined();
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "embeddingBackward", 5);
  const int64_t n = a.dim(3, "n"), dim = a.dim(4, "dim");
  const float* dout = a.f32(0, "dout", a.product({n, dim}), shape_of({n, dim}));
  const int32_t* ids = a.i32(1, "ids", n, shape_of({n}));
  const std::string tshape = "(vocab, " + std::to_string(dim) + ")";
  const TypedSpan<float> dtable = a.f32_span(2, "dtable", tshape);
  if (dim == 0) return info.Env().Undefined();
  a.ids_in_range(ids, n, dtable.length / dim, "ids");
  // Split by columns: every thread walks all ids in order, so repeated ids add deterministically.
  const int64_t grain = n * dim >= kElemGrain ? 64 : dim;
  parallel_for(dim, grain, [&](int64_t c0, int64_t c1) { K->embeddingBackward(dout, ids, dtable.data, n, dim, c0, c1); });
  return info.Env().Undefined();
}

Napi::Value Adamw(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "adamw", 11);
  const int64_t n = a.dim(4, "n");
  const std::string s = shape_of({n});
  float* p = a.f32(0, "param", n, s);
  const float* g = a.f32(1, "grad", n, s);
  float* m = a.f32(2, "m", n, s);
  float* v = a.f32(3, "v", n, s);
  const double lr = a.finite(5, "lr"), beta1 = a.finite(6, "beta1"), beta2 = a.finite(7, "beta2");
  const double eps = a.finite(8, "eps"), wd = a.finite(9, "weightDecay"), step = a.finite(10, "step");
  if (step < 1 || step != (double)(int64_t)step)
    a.range_error("step must be an integer ≥ 1 (it is 1-based), got " + std::to_string(step));
  // The scalar factors in double, as the reference computes them.
  const double bc1 = 1 - std::pow(beta1, step), bc2sqrt = std::sqrt(1 - std::pow(beta2, step));
  const float decay = (float)(1 - lr * wd), stepSize = (float)(lr / bc1);
  parallel_for(n, kElemGrain, [&](int64_t i0, int64_t i1) {
    K->adamw(p, g, m, v, i0, i1, (float)beta1, (float)beta2, (float)eps, decay, stepSize, (float)bc2sqrt);
  });
  return info.Env().Undefined();
}

// Test hook: which instruction set the fused kernels run on, and switching it (only to one this CPU has).
Napi::Value FusedIsa(const Napi::CallbackInfo& info) {
  NapiArgs a(info, "fusedIsa", 0, 1);
  if (a.count() == 1 && !info[0].IsUndefined()) {
    const std::string want = a.string(0, "name");
    const FusedKernels* best = pickKernels();
    const FusedKernels* order[] = {&avx512::fusedKernels, &avx2::fusedKernels, &portable::fusedKernels};
    bool allowed = false;
    const FusedKernels* chosen = nullptr;
    for (const FusedKernels* k : order) {
      if (k == best) allowed = true;
      if (allowed && want == k->isa) chosen = k;
    }
    if (!chosen) a.range_error("\"" + want + "\" is not available on this CPU (best: " + best->isa + ")");
    K = chosen;
  }
  return Napi::String::New(info.Env(), K->isa);
}

}  // namespace

void RegisterFused(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, f, name));
  };
  fn("rmsnormForward", RmsnormForward);
  fn("rmsnormBackward", RmsnormBackward);
  fn("rope", Rope);
  fn("swigluForward", SwigluForward);
  fn("swigluBackward", SwigluBackward);
  fn("attentionForward", AttentionForward);
  fn("attentionBackward", AttentionBackward);
  fn("softmaxForward", [](const Napi::CallbackInfo& i) { return RowWise<2>(i, "softmaxForward", kFwdNames, K->softmaxForward, nullptr); });
  fn("softmaxBackward", [](const Napi::CallbackInfo& i) { return RowWise<3>(i, "softmaxBackward", kBwdNames, nullptr, K->softmaxBackward); });
  fn("logSoftmaxForward", [](const Napi::CallbackInfo& i) { return RowWise<2>(i, "logSoftmaxForward", kFwdNames, K->logSoftmaxForward, nullptr); });
  fn("logSoftmaxBackward", [](const Napi::CallbackInfo& i) { return RowWise<3>(i, "logSoftmaxBackward", kBwdNames, nullptr, K->logSoftmaxBackward); });
  fn("tokenLogprobsForward", TokenLogprobsForward);
  fn("tokenLogprobsBackward", TokenLogprobsBackward);
  fn("entropy", Entropy);
  fn("embeddingForward", EmbeddingForward);
  fn("embeddingBackward", EmbeddingBackward);
  fn("adamw", Adamw);
  fn("fusedIsa", FusedIsa);
}

}  // namespace rft
