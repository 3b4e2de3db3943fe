// Unpacked GEMM for few rows of C (see use_small in gemm_parallel.cc): the products of decoding, y = x · Wᵀ with x a handful
// of token rows. Packing would copy (and for Wᵀ transpose) all of B to use each element m times;
// here B is read straight from memory once. Include inside the anonymous namespace of an ISA file
// after defining a vector-traits class V:
//   using T; static constexpr int W;  load(p), set1(x), zero(), fmadd(a, b, c), mul(a, b),
//   store(p, v), reduce(v) (horizontal sum, fixed order), reduce4(a, b, c, d, out) (four at once)
// Every C element is computed the same way whichever block or thread it falls in (vector lanes
// and scalar tails both use a fused multiply-add per term), so results do not depend on threads.
// The including file includes <cmath> first (std::fma).
constexpr int64_t kSmallM = 6;   // rows of A per block for B stored n × k
constexpr int64_t kSmallMB = 4;  // … and for B stored k × n

// op(A) rows as contiguous (m × k) rows: A itself when untransposed, else a copy into `buf`.
inline const float* small_a_rows(const GemmProblem& p, float* buf, int64_t* lda) {
  if (!p.trans_a) {
    *lda = p.lda;
    return p.a;
  }
  for (int64_t i = 0; i < p.m; i++)
    for (int64_t q = 0; q < p.k; q++) buf[i * p.k + q] = p.a[q * p.lda + i];
  *lda = p.k;
  return buf;
}

inline float small_update(float alpha, float acc, float beta, const float* c) {
  return beta == 0.0f ? alpha * acc : std::fma(alpha, acc, beta * *c);
}

// C (m × n) with B stored n × k (transB): C[i, j] = alpha · dot(A_i, B_j) + beta · C[i, j].
// kSmallJ rows of B at a time against kSmallM rows of A, each dot product in its own vector
// accumulator; the B rows stay in L1 while every group of A rows passes over them. B is read
// from memory exactly once, so this is a streaming problem, and kSmallJ interleaved short row
// streams defeat the hardware prefetcher (measured: half the bandwidth of one sequential
// stream). So the first pass over each block also prefetches B linearly (in address order, into
// L2) kSmallAheadBytes ahead of where it reads, which restores the sequential rate.
constexpr int kSmallJ = 4;
constexpr int64_t kSmallAheadBytes = 16384;

// How the unpacked path reads B: F32 as stored (LoadF32), or 16-bit weights widened as they are
// loaded (gemm16_driver.h). vec() loads V::W elements, one() widens a single one.
template <class V>
struct LoadF32 {
  using E = float;
  static typename V::T vec(const float* p) { return V::load(p); }
  static float one(float x) { return x; }
};

// One block: MI rows of A (compile-time, so the accumulators live in registers) against the
// kSmallJ rows b[] of B; `pf` non-null on the block's first pass (see kSmallAheadBytes).
template <class V, int MI, class L, class P>
inline void small_bt_block(const P& p, const float* ai, int64_t lda, const typename L::E* const* b, int nj,
                           float* c, const char* pf) {
  using T = typename V::T;
  constexpr int W = V::W;
  constexpr int kBytes = static_cast<int>(sizeof(typename L::E));
  const int64_t k = p.k, kv = k / W * W;
  T acc[MI][kSmallJ];
  for (int i = 0; i < MI; i++)
    for (int jj = 0; jj < kSmallJ; jj++) acc[i][jj] = V::zero();
  for (int64_t q = 0; q < kv; q += W) {
    if (pf)  // the block reads kSmallJ · W elements per step: prefetch as many, in address order
      for (int l = 0; l < kSmallJ * W * kBytes; l += 64) __builtin_prefetch(pf + q * kSmallJ * kBytes + l, 0, 2);
    T bv[kSmallJ];
    for (int jj = 0; jj < kSmallJ; jj++) bv[jj] = L::vec(b[jj] + q);
    for (int i = 0; i < MI; i++) {
      const T x = V::load(ai + i * lda + q);
      for (int jj = 0; jj < kSmallJ; jj++) acc[i][jj] = V::fmadd(x, bv[jj], acc[i][jj]);
    }
  }
  // The four dot products of a row are reduced together (V::reduce4: one transpose-add tree instead
  // of four horizontal sums).
  static_assert(kSmallJ == 4, "reduce4 sums four accumulators");
  for (int i = 0; i < MI; i++) {
    float sums[kSmallJ];
    V::reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3], sums);
    for (int jj = 0; jj < nj; jj++) {
      float s = sums[jj];
      for (int64_t q = kv; q < k; q++) s = std::fma(ai[i * lda + q], L::one(b[jj][q]), s);
      float* ci = c + i * p.ldc + jj;
      *ci = small_update(p.alpha, s, p.beta, ci);
    }
  }
}

// Loop order: B in slabs of rows that fit in L2 (kSlabBytes); within a slab, each group of kSmallM
// rows of A (which fits in L1) passes over all of the slab's rows of B. So A's rows are not re-read
// from L2 for every kSmallJ rows of B (measured: that made 16-row decoding L2-bound), and B comes
// from memory once, on the first group's pass. The per-element arithmetic does not depend on the
// slab size (each block is the same), so results are the same for any split.
constexpr int64_t kSlabBytes = 256 * 1024;

template <class V, class L = LoadF32<V>, class P = GemmProblem>
void small_m_bt(const P& p, const float* a, int64_t lda) {
  using E = typename L::E;
  const int64_t m = p.m, n = p.n;
  int64_t slab = kSlabBytes / (p.k * static_cast<int64_t>(sizeof(E))) / kSmallJ * kSmallJ;
  if (slab < kSmallJ) slab = kSmallJ;
  for (int64_t s0 = 0; s0 < n; s0 += slab) {
    const int64_t s1 = n - s0 < slab ? n : s0 + slab;
    for (int64_t i0 = 0; i0 < m; i0 += kSmallM) {
      const float* ai = a + i0 * lda;
      const int64_t mi = m - i0 < kSmallM ? m - i0 : kSmallM;
      for (int64_t j0 = s0; j0 < s1; j0 += kSmallJ) {
        const int nj = static_cast<int>(s1 - j0 < kSmallJ ? s1 - j0 : kSmallJ);
        const E* b[kSmallJ];
        for (int jj = 0; jj < kSmallJ; jj++) b[jj] = p.b + (j0 + (jj < nj ? jj : 0)) * p.ldb;
        // Prefetch addresses past the end of B are harmless (a prefetch never faults).
        const char* f = i0 == 0 ? reinterpret_cast<const char*>(p.b + j0 * p.ldb) + kSmallAheadBytes : nullptr;
        float* c = p.c + i0 * p.ldc + j0;
        switch (mi) {
          case 1: small_bt_block<V, 1, L>(p, ai, lda, b, nj, c, f); break;
          case 2: small_bt_block<V, 2, L>(p, ai, lda, b, nj, c, f); break;
          case 3: small_bt_block<V, 3, L>(p, ai, lda, b, nj, c, f); break;
          case 4: small_bt_block<V, 4, L>(p, ai, lda, b, nj, c, f); break;
          case 5: small_bt_block<V, 5, L>(p, ai, lda, b, nj, c, f); break;
          default: small_bt_block<V, kSmallM, L>(p, ai, lda, b, nj, c, f); break;
        }
      }
    }
  }
}

// C (m × n) with B stored k × n: C[i, j..] = alpha · Σ_q A[i, q] · B[q, j..] + beta · C, 4W columns
// at a time in registers, then W, then single columns.
template <class V>
void small_m_b(const GemmProblem& p, const float* a, int64_t lda) {
  using T = typename V::T;
  constexpr int W = V::W;
  const int64_t m = p.m, n = p.n, k = p.k;
  int64_t j0 = 0;
  for (; j0 + 4 * W <= n; j0 += 4 * W) {
    for (int64_t i0 = 0; i0 < m; i0 += kSmallMB) {
    const int64_t mi = m - i0 < kSmallMB ? m - i0 : kSmallMB;
    const float* ai = a + i0 * lda;
    T acc[kSmallMB][4];
    for (int i = 0; i < kSmallMB; i++)
      for (int v = 0; v < 4; v++) acc[i][v] = V::zero();
    for (int64_t q = 0; q < k; q++) {
      const float* bq = p.b + q * p.ldb + j0;
      const T b0 = V::load(bq), b1 = V::load(bq + W), b2 = V::load(bq + 2 * W), b3 = V::load(bq + 3 * W);
      for (int64_t i = 0; i < mi; i++) {
        const T x = V::set1(ai[i * lda + q]);
        acc[i][0] = V::fmadd(x, b0, acc[i][0]);
        acc[i][1] = V::fmadd(x, b1, acc[i][1]);
        acc[i][2] = V::fmadd(x, b2, acc[i][2]);
        acc[i][3] = V::fmadd(x, b3, acc[i][3]);
      }
    }
    for (int64_t i = 0; i < mi; i++) {
      float* c = p.c + (i0 + i) * p.ldc + j0;
      for (int v = 0; v < 4; v++) {
        T r = V::mul(V::set1(p.alpha), acc[i][v]);
        if (p.beta != 0.0f) r = V::fmadd(V::set1(p.alpha), acc[i][v], V::mul(V::set1(p.beta), V::load(c + v * W)));
        V::store(c + v * W, r);
      }
    }
    }
  }
  for (; j0 + W <= n; j0 += W) {
    for (int64_t i0 = 0; i0 < m; i0 += kSmallMB) {
    const int64_t mi = m - i0 < kSmallMB ? m - i0 : kSmallMB;
    const float* ai = a + i0 * lda;
    T acc[kSmallMB];
    for (int i = 0; i < kSmallMB; i++) acc[i] = V::zero();
    for (int64_t q = 0; q < k; q++) {
      const T b0 = V::load(p.b + q * p.ldb + j0);
      for (int64_t i = 0; i < mi; i++) acc[i] = V::fmadd(V::set1(ai[i * lda + q]), b0, acc[i]);
    }
    for (int64_t i = 0; i < mi; i++) {
      float* c = p.c + (i0 + i) * p.ldc + j0;
      T r = V::mul(V::set1(p.alpha), acc[i]);
      if (p.beta != 0.0f) r = V::fmadd(V::set1(p.alpha), acc[i], V::mul(V::set1(p.beta), V::load(c)));
      V::store(c, r);
    }
    }
  }
  for (; j0 < n; j0++) {
    for (int64_t i = 0; i < m; i++) {
      float s = 0.0f;
      for (int64_t q = 0; q < k; q++) s = std::fma(a[i * lda + q], p.b[q * p.ldb + j0], s);
      float* c = p.c + i * p.ldc + j0;
      *c = small_update(p.alpha, s, p.beta, c);
    }
  }
}

// Entry point: `work` holds at least m · k floats (for a transposed A).
template <class V>
void gemm_small_m(const GemmProblem& p, float* work) {
  int64_t lda;
  const float* a = small_a_rows(p, work, &lda);
  if (p.trans_b) small_m_bt<V>(p, a, lda);
  else small_m_b<V>(p, a, lda);
}
