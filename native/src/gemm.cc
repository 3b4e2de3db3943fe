// N-API bindings for GEMM: sgemm, sgemmBatched (Kernels contract, src/engine/kernels.ts), the
// ISA controls (isa, isas, setIsa) and fmaPeak. Every argument is checked here — sizes, strides,
// buffer lengths, dtypes, C overlapping an input — so a bad call throws a JS error naming the op
// and shapes instead of reading or writing out of bounds.
#include <string>

#include "addon.h"
#include "gemm.h"
#include "gemm16.h"
#include "napi_args.h"
#include "threadpool.h"

namespace rft {
namespace {

constexpr int64_t kMaxStride = 9007199254740991;  // lda/ldb/ldc/strides: any exact JS integer

using i128 = __int128;

// Floats spanned by a rows × cols matrix with row stride ld (0 when empty).
i128 span(int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return static_cast<i128>(rows - 1) * ld + cols;
}
// Floats spanned by `batch` such matrices, matrix i at i · stride.
i128 batch_span(int64_t rows, int64_t cols, int64_t ld, int64_t stride, int64_t batch) {
  i128 one = span(rows, cols, ld);
  if (one == 0 || batch == 0) return 0;
  return static_cast<i128>(batch - 1) * stride + one;
}

std::string str(i128 v) {
  if (v == 0) return "0";
  std::string s;
  bool neg = v < 0;
  if (neg) v = -v;
  while (v > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return neg ? "-" + s : s;
}

struct Operands {
  GemmProblem p;
  std::string shape;  // "transA=…, m=…" for messages
};

// Checks one operand: its ld against its width and its buffer's length against what it spans.
void check_operand(const NapiArgs& args, const std::string& shape, const char* name, const char* ld_name, int64_t rows,
                   int64_t cols, int64_t ld, int64_t stride, int64_t batch, int64_t length) {
  const int64_t min_ld = cols > 1 ? cols : 1;
  if (ld < min_ld)
    args.range_error(std::string(ld_name) + "=" + std::to_string(ld) + " is less than the width " + std::to_string(cols) +
                     " of " + name + " stored as " + std::to_string(rows) + "×" + std::to_string(cols) + " (" + shape + ")");
  const i128 need = batch_span(rows, cols, ld, stride, batch);
  if (need > length)
    args.range_error(std::string(name) + " has " + std::to_string(length) + " floats but " + name + " stored as " +
                     (batch > 1 ? std::to_string(batch) + " × " : std::string()) + std::to_string(rows) + "×" +
                     std::to_string(cols) + " with " + ld_name + "=" + std::to_string(ld) + " needs " + str(need) + " (" +
                     shape + ")");
}

// C must not share memory with A or B: the kernel would read values it has already overwritten.
void check_no_overlap(const NapiArgs& args, const std::string& shape, const float* c, i128 c_span, const float* x, i128 x_span,
                      const char* name) {
  if (c_span == 0 || x_span == 0) return;
  const char* c0 = reinterpret_cast<const char*>(c);
  const char* x0 = reinterpret_cast<const char*>(x);
  const char* c1 = c0 + static_cast<int64_t>(c_span) * 4;
  const char* x1 = x0 + static_cast<int64_t>(x_span) * 4;
  if (c0 < x1 && x0 < c1)
    args.range_error(std::string("c overlaps ") + name + " in memory; write the result to a separate buffer (" + shape + ")");
}

Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  NapiArgs args(info, "sgemm", 13);
  GemmProblem p;
  p.trans_a = args.boolean(0, "transA");
  p.trans_b = args.boolean(1, "transB");
  p.m = args.dim(2, "m");
  p.n = args.dim(3, "n");
  p.k = args.dim(4, "k");
  p.alpha = static_cast<float>(args.finite(5, "alpha"));
  const TypedSpan<float> a = args.f32_span(6, "a");
  p.lda = args.integer(7, "lda", 1, kMaxStride);
  const TypedSpan<float> b = args.f32_span(8, "b");
  p.ldb = args.integer(9, "ldb", 1, kMaxStride);
  p.beta = static_cast<float>(args.finite(10, "beta"));
  const TypedSpan<float> c = args.f32_span(11, "c");
  p.ldc = args.integer(12, "ldc", 1, kMaxStride);
  p.a = a.data; p.b = b.data; p.c = c.data;
  const std::string shape = std::string("transA=") + (p.trans_a ? "true" : "false") + ", transB=" + (p.trans_b ? "true" : "false") +
                            ", m=" + std::to_string(p.m) + ", n=" + std::to_string(p.n) + ", k=" + std::to_string(p.k);
  const int64_t ar = p.trans_a ? p.k : p.m, ac = p.trans_a ? p.m : p.k;
  const int64_t br = p.trans_b ? p.n : p.k, bc = p.trans_b ? p.k : p.n;
  check_operand(args, shape, "a", "lda", ar, ac, p.lda, 0, 1, a.length);
  check_operand(args, shape, "b", "ldb", br, bc, p.ldb, 0, 1, b.length);
  check_operand(args, shape, "c", "ldc", p.m, p.n, p.ldc, 0, 1, c.length);
  const i128 cs = span(p.m, p.n, p.ldc);
  if (p.k > 0) {
    check_no_overlap(args, shape, p.c, cs, p.a, span(ar, ac, p.lda), "a");
    check_no_overlap(args, shape, p.c, cs, p.b, span(br, bc, p.ldb), "b");
  }
  sgemm(p);
  return info.Env().Undefined();
}

Napi::Value SgemmBatched(const Napi::CallbackInfo& info) {
  NapiArgs args(info, "sgemmBatched", 17);
  GemmProblem p;
  p.trans_a = args.boolean(0, "transA");
  p.trans_b = args.boolean(1, "transB");
  p.m = args.dim(2, "m");
  p.n = args.dim(3, "n");
  p.k = args.dim(4, "k");
  p.alpha = static_cast<float>(args.finite(5, "alpha"));
  const TypedSpan<float> a = args.f32_span(6, "a");
  p.lda = args.integer(7, "lda", 1, kMaxStride);
  const int64_t sa = args.integer(8, "strideA", 0, kMaxStride);
  const TypedSpan<float> b = args.f32_span(9, "b");
  p.ldb = args.integer(10, "ldb", 1, kMaxStride);
  const int64_t sb = args.integer(11, "strideB", 0, kMaxStride);
  p.beta = static_cast<float>(args.finite(12, "beta"));
  const TypedSpan<float> c = args.f32_span(13, "c");
  p.ldc = args.integer(14, "ldc", 1, kMaxStride);
  const int64_t sc = args.integer(15, "strideC", 0, kMaxStride);
  const int64_t batch = args.dim(16, "batch");
  p.a = a.data; p.b = b.data; p.c = c.data;
  const std::string shape = std::string("transA=") + (p.trans_a ? "true" : "false") + ", transB=" + (p.trans_b ? "true" : "false") +
                            ", m=" + std::to_string(p.m) + ", n=" + std::to_string(p.n) + ", k=" + std::to_string(p.k) +
                            ", batch=" + std::to_string(batch);
  const int64_t ar = p.trans_a ? p.k : p.m, ac = p.trans_a ? p.m : p.k;
  const int64_t br = p.trans_b ? p.n : p.k, bc = p.trans_b ? p.k : p.n;
  check_operand(args, shape, "a", "lda", ar, ac, p.lda, sa, batch, a.length);
  check_operand(args, shape, "b", "ldb", br, bc, p.ldb, sb, batch, b.length);
  check_operand(args, shape, "c", "ldc", p.m, p.n, p.ldc, sc, batch, c.length);
  // The C matrices must be disjoint: either one after another (strideC ≥ one matrix's span) or
  // side by side within each row (attention's (T, H, D) layout: n ≤ strideC, batch·strideC ≤ ldc).
  const i128 one_c = span(p.m, p.n, p.ldc);
  if (batch > 1 && one_c > 0) {
    const bool stacked = static_cast<i128>(sc) >= one_c;
    const bool side_by_side = sc >= p.n && static_cast<i128>(batch - 1) * sc + p.n <= p.ldc;
    if (!stacked && !side_by_side)
      args.range_error("strideC=" + std::to_string(sc) + " with ldc=" + std::to_string(p.ldc) +
                       " makes the c matrices overlap; use strideC ≥ " + str(one_c) +
                       " (stacked) or n ≤ strideC with (batch−1)·strideC + n ≤ ldc (side by side) (" + shape + ")");
  }
  if (p.k > 0) {
    const i128 cs = batch_span(p.m, p.n, p.ldc, sc, batch);
    check_no_overlap(args, shape, p.c, cs, p.a, batch_span(ar, ac, p.lda, sa, batch), "a");
    check_no_overlap(args, shape, p.c, cs, p.b, batch_span(br, bc, p.ldb, sb, batch), "b");
  }
  sgemm_batched(p, sa, sb, sc, batch);
  return info.Env().Undefined();
}

// sgemmW16(dtype, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc): C = alpha · A · op(B) +
// beta · C with A (m × k) F32 and B 16-bit ("bf16" | "f16" bits in a Uint16Array), stored n × k
// when transB (x · Wᵀ) and k × n otherwise (dy · W).
Napi::Value SgemmW16(const Napi::CallbackInfo& info) {
  NapiArgs args(info, "sgemmW16", 13);
  Gemm16Problem p;
  const std::string dtype = args.string(0, "dtype");
  if (dtype == "bf16") p.dtype = W16::kBf16;
  else if (dtype == "f16") p.dtype = W16::kF16;
  else args.range_error("dtype must be \"bf16\" or \"f16\", got \"" + dtype + "\"");
  p.trans_b = args.boolean(1, "transB");
  p.m = args.dim(2, "m");
  p.n = args.dim(3, "n");
  p.k = args.dim(4, "k");
  p.alpha = static_cast<float>(args.finite(5, "alpha"));
  const TypedSpan<float> a = args.f32_span(6, "a");
  p.lda = args.integer(7, "lda", 1, kMaxStride);
  const TypedSpan<uint16_t> b = args.u16_span(8, "b");
  p.ldb = args.integer(9, "ldb", 1, kMaxStride);
  p.beta = static_cast<float>(args.finite(10, "beta"));
  const TypedSpan<float> c = args.f32_span(11, "c");
  p.ldc = args.integer(12, "ldc", 1, kMaxStride);
  p.a = a.data; p.b = b.data; p.c = c.data;
  const std::string shape = "dtype=" + dtype + ", transB=" + (p.trans_b ? "true" : "false") + ", m=" + std::to_string(p.m) +
                            ", n=" + std::to_string(p.n) + ", k=" + std::to_string(p.k);
  const int64_t br = p.trans_b ? p.n : p.k, bc = p.trans_b ? p.k : p.n;
  check_operand(args, shape, "a", "lda", p.m, p.k, p.lda, 0, 1, a.length);
  check_operand(args, shape, "b", "ldb", br, bc, p.ldb, 0, 1, b.length);
  check_operand(args, shape, "c", "ldc", p.m, p.n, p.ldc, 0, 1, c.length);
  const i128 cs = span(p.m, p.n, p.ldc);
  if (p.k > 0) {
    check_no_overlap(args, shape, p.c, cs, p.a, span(p.m, p.k, p.lda), "a");
    // b counts 2-byte elements: compare byte ranges.
    const i128 bs = span(br, bc, p.ldb);
    const char* c0 = reinterpret_cast<const char*>(p.c);
    const char* b0 = reinterpret_cast<const char*>(p.b);
    if (cs > 0 && bs > 0 && c0 < b0 + static_cast<int64_t>(bs) * 2 && b0 < c0 + static_cast<int64_t>(cs) * 4)
      args.range_error("c overlaps b in memory; write the result to a separate buffer (" + shape + ")");
  }
  gemm16(p);
  return info.Env().Undefined();
}

// w16Isa(), w16Isas(), setW16Isa(name): the 16-bit-weight GEMM path, as isa/isas/setIsa.
Napi::Value W16IsaName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), w16_isa().name); }
Napi::Value W16Isas(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t i = 0;
  for (const W16Isa* const* it = w16_isas(); *it; ++it)
    if (w16_isa_supported(**it)) out.Set(i++, Napi::String::New(info.Env(), (*it)->name));
  return out;
}
Napi::Value SetW16Isa(const Napi::CallbackInfo& info) {
  NapiArgs args(info, "setW16Isa", 1);
  const std::string name = args.string(0, "name");
  if (!set_w16_isa(name.c_str())) {
    std::string known;
    for (const W16Isa* const* it = w16_isas(); *it; ++it)
      if (w16_isa_supported(**it)) known += (known.empty() ? "" : ", ") + std::string((*it)->name);
    args.range_error("\"" + name + "\" is not a 16-bit-weight GEMM path this CPU can run; available: " + known);
  }
  return info.Env().Undefined();
}

Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), gemm_isa().name); }

// The ISAs this CPU can run, widest first.
Napi::Value Isas(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t i = 0;
  for (const GemmIsa* const* it = gemm_isas(); *it; ++it)
    if (gemm_isa_supported(**it)) out.Set(i++, Napi::String::New(info.Env(), (*it)->name));
  return out;
}

// setIsa("avx512" | "avx2" | "portable"): forces a GEMM path (tests and benchmarks).
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  NapiArgs args(info, "setIsa", 1);
  const std::string name = args.string(0, "name");
  if (!set_gemm_isa(name.c_str())) {
    std::string known;
    for (const GemmIsa* const* it = gemm_isas(); *it; ++it)
      if (gemm_isa_supported(**it)) known += (known.empty() ? "" : ", ") + std::string((*it)->name);
    args.range_error("\"" + name + "\" is not a GEMM path this CPU can run; available: " + known);
  }
  return info.Env().Undefined();
}

// fmaPeak(threads[, cpuTime]): GFLOP/s of independent FMA chains on that many threads, timed by
// the wall clock, or (cpuTime) by each thread's CPU time.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  NapiArgs args(info, "fmaPeak", 1, 2);
  const int64_t threads = args.integer(0, "threads", 1, 2 * available_cores());
  const bool cpu_time = args.count() == 2 && args.boolean(1, "cpuTime");
  return Napi::Number::New(info.Env(), fma_peak_gflops(static_cast<int>(threads), cpu_time));
}

// readBandwidth(threads, megabytes): GB/s of a sequential read over a buffer of that size.
Napi::Value ReadBandwidth(const Napi::CallbackInfo& info) {
  NapiArgs args(info, "readBandwidth", 2);
  const int64_t threads = args.integer(0, "threads", 1, 2 * available_cores());
  const int64_t mb = args.integer(1, "megabytes", 1, 65536);
  return Napi::Number::New(info.Env(), read_bandwidth_gbs(static_cast<int>(threads), mb << 20));
}

}  // namespace

void RegisterGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New(env, Sgemm, "sgemm"));
  exports.Set("sgemmBatched", Napi::Function::New(env, SgemmBatched, "sgemmBatched"));
  exports.Set("isa", Napi::Function::New(env, Isa, "isa"));
  exports.Set("isas", Napi::Function::New(env, Isas, "isas"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak, "fmaPeak"));
  exports.Set("readBandwidth", Napi::Function::New(env, ReadBandwidth, "readBandwidth"));
  exports.Set("sgemmW16", Napi::Function::New(env, SgemmW16, "sgemmW16"));
  exports.Set("w16Isa", Napi::Function::New(env, W16IsaName, "w16Isa"));
  exports.Set("w16Isas", Napi::Function::New(env, W16Isas, "w16Isas"));
  exports.Set("setW16Isa", Napi::Function::New(env, SetW16Isa, "setW16Isa"));
}

}  // namespace rft
