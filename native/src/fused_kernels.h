// The fused kernels' per-ISA entry points. Each is compiled three times from fused_kernels.inc
// (portable, AVX2+FMA, AVX-512) into its own namespace; fused.cc picks one table at run time.
// The bodies work on a sub-range (rows, elements, heads) so that fused.cc does the threading:
// nothing in the ISA-specific objects uses the C++ standard library, so no inline function
// compiled with AVX-512 flags can be shared (by the linker) with code that runs on older CPUs.
#pragma once
#include <cstdint>

namespace rft {

// Causal grouped-query attention operands; shapes as in src/engine/kernels.ts.
struct AttnArgs {
  const float* q;     // (B, Tq, Hq, D)
  const float* k;     // (B, Tk, Hkv, D)
  const float* v;     // (B, Tk, Hkv, D)
  float* out;         // (B, Tq, Hq, D)   forward: written; backward: read
  float* lse;         // (B, Hq, Tq)      forward: written; backward: read
  const float* dout;  // (B, Tq, Hq, D)   backward only
  float* dq;          // (B, Tq, Hq, D)   backward only
  float* dk;          // (B, Tk, Hkv, D)  backward only
  float* dv;          // (B, Tk, Hkv, D)  backward only
  const int32_t* qStart;  // (B)
  const int32_t* kStart;  // (B)
  int64_t B, Tq, Tk, Hq, Hkv, D;
  float scale;
};

// Attention tiles with fewer (query, head) rows per kv head than this (decoding) compute their
// scores as dot products, and fused.cc gives a whole batch row's kv heads to one tile.
constexpr int64_t kAttentionDotRows = 8;

// Queries per block in the attention backward (the block holds G = Hq/Hkv rows per query).
// static: internal linkage, so no copy compiled with AVX-512 flags is shared with other objects.
static inline int64_t attentionBackwardBlock(int64_t G) { return G >= 64 ? 1 : 64 / G; }

struct FusedKernels {
  const char* isa;
  // rows [r0, r1) of x, y (rows, dim)
  void (*rmsnormForward)(const float* x, const float* w, float* y, float* rstd, int64_t r0, int64_t r1, int64_t dim, float eps);
  // dx rows [r0, r1) written; dwPart (dim), when not null, is overwritten with Σ over these rows of dy ⊙ x̂
  void (*rmsnormBackward)(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dwPart,
                          int64_t r0, int64_t r1, int64_t dim);
  void (*rope)(const float* x, float* y, const int32_t* pos, const float* cos, const float* sin,
               int64_t r0, int64_t r1, int64_t heads, int64_t headDim, bool inverse);
  void (*swigluForward)(const float* gate, const float* up, float* out, int64_t i0, int64_t i1);
  void (*swigluBackward)(const float* gate, const float* up, const float* dout, float* dgate, float* dup, int64_t i0, int64_t i1);
  // query rows [i0, i1) of batch b, every query head of the kv heads [kv0, kv1)
  void (*attentionForward)(const AttnArgs& a, int64_t b, int64_t kv0, int64_t kv1, int64_t i0, int64_t i1);
  // query blocks s, s+S, ... of batch b and kv head kvh: writes their dq rows, and that part's
  // dK, dV for all Tk keys at dk + j·ld, dv + j·ld (see fused_attention.inc)
  void (*attentionBackward)(const AttnArgs& a, int64_t b, int64_t kvh, int64_t s, int64_t S, float* dk, float* dv, int64_t ld);
  void (*softmaxForward)(const float* x, float* y, int64_t r0, int64_t r1, int64_t cols);
  void (*softmaxBackward)(const float* y, const float* dy, float* dx, int64_t r0, int64_t r1, int64_t cols);
  void (*logSoftmaxForward)(const float* x, float* y, int64_t r0, int64_t r1, int64_t cols);
  void (*logSoftmaxBackward)(const float* y, const float* dy, float* dx, int64_t r0, int64_t r1, int64_t cols);
  void (*tokenLogprobsForward)(const float* logits, const int32_t* targets, float* logp, float* lse, int64_t r0, int64_t r1, int64_t vocab);
  void (*tokenLogprobsBackward)(const float* logits, const int32_t* targets, const float* lse, const float* dlogp, float* dlogits,
                                int64_t r0, int64_t r1, int64_t vocab);
  void (*entropy)(const float* logits, float* out, int64_t r0, int64_t r1, int64_t vocab);
  // columns [c0, c1) of every row: dtable[ids[i], c] += dout[i, c] for i = 0..n-1 in order
  void (*embeddingBackward)(const float* dout, const int32_t* ids, float* dtable, int64_t n, int64_t dim, int64_t c0, int64_t c1);
  // elements [i0, i1); decay = 1 − lr·wd, stepSize = lr / (1 − β1^t), bc2sqrt = √(1 − β2^t)
  void (*adamw)(float* p, const float* g, float* m, float* v, int64_t i0, int64_t i1,
                float beta1, float beta2, float eps, float decay, float stepSize, float bc2sqrt);
};

namespace portable { extern const FusedKernels fusedKernels; }
namespace avx2 { extern const FusedKernels fusedKernels; }
namespace avx512 { extern const FusedKernels fusedKernels; }

}  // namespace rft
