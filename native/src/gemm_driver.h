// The blocked GEMM loop nest (GotoBLAS / BLIS style), shared by every ISA. Include it inside an
// anonymous namespace of an ISA file, after defining a kernel class K with:
//   static constexpr int MR, NR, KC, NC;
//   static void kernel(int64_t kc, const float* ap /*kc × MR*/, const float* bp /*kc × NR*/,
//                      float* c, int64_t ldc, float alpha, float beta);   // full MR × NR tile
//   static void transpose_panel(const float* src, int64_t ld, int w, int64_t kc, int W, float* dst);
// Everything here is compiled with that file's -m flags; keeping it in an anonymous namespace
// (and off std:: templates) keeps one ISA's code from standing in for another's at link time.
//
// Loop nest (per thread, on its own block of C):
//   for jc in n by NC:                 B panel (KC × NC, ~L2) packed once per (jc, pc)
//     for pc in k by KC:
//       for ir in m by MR:             A micro-panel (KC × MR, L1) packed just before use
//         for jr in nc by NR:          kernel: C[ir.., jc+jr..] (+)= A-panel · B-micro-panel
// Each C element is summed over k in the same order whatever the thread split (KC is fixed), so
// results are bit-identical for any thread count.

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// dst (kc × W) ← src rows p = 0..kc-1, columns 0..w-1 (row stride ld); columns w..W-1 are zero.
inline void copy_panel(const float* src, int64_t ld, int w, int64_t kc, int W, float* dst) {
  for (int64_t p = 0; p < kc; p++) {
    const float* s = src + p * ld;
    float* d = dst + p * W;
    for (int c = 0; c < w; c++) d[c] = s[c];
    for (int c = w; c < W; c++) d[c] = 0.0f;
  }
}

// dst (kc × W) ← transpose of src (w × kc, row stride ld); scalar, for edges and small tiles.
inline void transpose_panel_scalar(const float* src, int64_t ld, int w, int64_t kc, int W, float* dst) {
  for (int64_t p = 0; p < kc; p++) {
    float* d = dst + p * W;
    for (int r = 0; r < w; r++) d[r] = src[r * ld + p];
    for (int r = w; r < W; r++) d[r] = 0.0f;
  }
}

template <class K>
void gemm_serial(const GemmProblem& p, float* work) {
  constexpr int MR = K::MR, NR = K::NR;
  constexpr int64_t KC = K::KC, NC = K::NC;
  float* bpack = work;                    // KC × NC (NC is a multiple of NR)
  float* apack = bpack + KC * NC;         // KC × MR
  float* tile = apack + KC * MR;          // MR × NR, for edge tiles
  const int64_t m = p.m, n = p.n, k = p.k;

  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = imin(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = imin(KC, k - pc);
      const float beta = pc == 0 ? p.beta : 1.0f;

      // B panel: op(B)[pc .. pc+kc, jc .. jc+nc] as nc/NR micro-panels of kc × NR.
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int w = static_cast<int>(imin(NR, nc - jr));
        float* dst = bpack + jr * kc;
        if (p.trans_b) K::transpose_panel(p.b + (jc + jr) * p.ldb + pc, p.ldb, w, kc, NR, dst);
        else copy_panel(p.b + pc * p.ldb + jc + jr, p.ldb, w, kc, NR, dst);
      }

      for (int64_t ir = 0; ir < m; ir += MR) {
        const int mr = static_cast<int>(imin(MR, m - ir));
        if (p.trans_a) copy_panel(p.a + pc * p.lda + ir, p.lda, mr, kc, MR, apack);
        else K::transpose_panel(p.a + ir * p.lda + pc, p.lda, mr, kc, MR, apack);

        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(imin(NR, nc - jr));
          float* c = p.c + ir * p.ldc + jc + jr;
          const float* bp = bpack + jr * kc;
          if (mr == MR && nr == NR) {
            K::kernel(kc, apack, bp, c, p.ldc, p.alpha, beta);
            continue;
          }
          // Edge tile: run the same kernel on a full scratch tile so the arithmetic is identical.
          if (beta != 0.0f) {
            for (int r = 0; r < mr; r++)
              for (int j = 0; j < nr; j++) tile[r * NR + j] = c[r * p.ldc + j];
          }
          K::kernel(kc, apack, bp, tile, NR, p.alpha, beta);
          for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++) c[r * p.ldc + j] = tile[r * NR + j];
        }
      }
    }
  }
}

template <class K>
constexpr size_t gemm_workspace_floats() {
  return static_cast<size_t>(K::KC) * K::NC + static_cast<size_t>(K::KC) * K::MR + K::MR * K::NR + 16;
}
