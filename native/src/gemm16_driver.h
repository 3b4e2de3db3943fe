// The convert-on-the-fly paths of the 16-bit-weight GEMM (gemm16.h), shared by the avx512, avx2
// and portable ISAs. Include inside the anonymous namespace of an ISA file, after gemm_driver.h
// (and gemm_small.h where the ISA has an unpacked path), with a converter class C:
//   static void row(const uint16_t* s, float* d, int64_t n, W16 t);   // d[i] = widen(s[i])
// and, for the unpacked path, template <W16 D> static V::T load(const uint16_t* p) (W lanes).
//
// Both paths mirror their F32 counterparts step for step — the same packing layout, micro-kernel,
// KC blocking, few-rows rule and summation order — with B widened where the F32 code reads it, so
// they return exactly what sgemm returns on the widened weights, for any thread count.

struct ScalarCvt {
  static void row(const uint16_t* s, float* d, int64_t n, W16 t) {
    if (t == W16::kBf16) {
      for (int64_t i = 0; i < n; i++) d[i] = bf16_to_f32(s[i]);
    } else {
      for (int64_t i = 0; i < n; i++) d[i] = f16_to_f32(s[i]);
    }
  }
};

template <class K>
constexpr size_t gemm16_workspace_floats() {
  return gemm_workspace_floats<K>() + static_cast<size_t>(K::NR) * K::KC;
}

// gemm_serial with A untransposed and B widened while it is packed.
template <class K, class C>
void gemm16_serial(const Gemm16Problem& p, float* work) {
  constexpr int MR = K::MR, NR = K::NR;
  constexpr int64_t KC = K::KC, NC = K::NC;
  float* bpack = work;
  float* apack = bpack + KC * NC;
  float* tile = apack + KC * MR;
  float* rows = tile + MR * NR + 16;  // NR × KC widened rows of B (trans_b), before the transpose
  const int64_t m = p.m, n = p.n, k = p.k;
  Prefetcher next_a, none;
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = imin(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = imin(KC, k - pc);
      const float beta = pc == 0 ? p.beta : 1.0f;
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int w = static_cast<int>(imin(NR, nc - jr));
        float* dst = bpack + jr * kc;
        if (p.trans_b) {
          for (int r = 0; r < w; r++) C::row(p.b + (jc + jr + r) * p.ldb + pc, rows + r * kc, kc, p.dtype);
          K::transpose_panel(rows, kc, w, kc, NR, dst);
        } else {
          for (int64_t q = 0; q < kc; q++) {
            float* d = dst + q * NR;
            C::row(p.b + (pc + q) * p.ldb + jc + jr, d, w, p.dtype);
            for (int c = w; c < NR; c++) d[c] = 0.0f;
          }
        }
      }
      for (int64_t ir = 0; ir < m; ir += MR) {
        const int mr = static_cast<int>(imin(MR, m - ir));
        K::transpose_panel(p.a + ir * p.lda + pc, p.lda, mr, kc, MR, apack);
        if (ir + MR < m) next_a.reset(p.a + (ir + MR) * p.lda + pc, imin(MR, m - ir - MR), kc, p.lda);
        else next_a.reset(p.a, 0, 0, 0);
        const int64_t jcalls = (nc + NR - 1) / NR;
        const int64_t a_lines_per_call = (next_a.total_lines() + jcalls - 1) / jcalls;
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(imin(NR, nc - jr));
          float* c = p.c + ir * p.ldc + jc + jr;
          const float* bp = bpack + jr * kc;
          next_a.budget = a_lines_per_call;
          none.budget = 0;
          if (mr == MR && nr == NR) {
            K::kernel(kc, apack, bp, c, p.ldc, p.alpha, beta, &next_a, &none);
            continue;
          }
          if (beta != 0.0f) {
            for (int r = 0; r < mr; r++)
              for (int j = 0; j < nr; j++) tile[r * NR + j] = c[r * p.ldc + j];
          }
          K::kernel(kc, apack, bp, tile, NR, p.alpha, beta, &next_a, &none);
          for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++) c[r * p.ldc + j] = tile[r * NR + j];
        }
      }
    }
  }
}
