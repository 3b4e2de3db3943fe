// The blocked GEMM loop nest (GotoBLAS / BLIS style), shared by every ISA. Include it inside an
// anonymous namespace of an ISA file, after defining a kernel class K with:
//   static constexpr int MR, NR, KC, NC;
//   static void kernel(int64_t kc, const float* ap /*kc × MR*/, const float* bp /*kc × NR*/,
//                      float* c, int64_t ldc, float alpha, float beta,     // full MR × NR tile
//                      Prefetcher* pa, Prefetcher* pb);   // call one() on each every other k step
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
template <int W>
inline void copy_panel(const float* __restrict src, int64_t ld, int w, int64_t kc, float* __restrict dst) {
  if (w == W) {  // full panel: fixed-size row copies the compiler turns into vector moves
    for (int64_t p = 0; p < kc; p++) {
      const float* s = src + p * ld;
      float* d = dst + p * W;
      for (int c = 0; c < W; c++) d[c] = s[c];
    }
    return;
  }
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

// Software prefetch of a 2-D region (rows of `bytes`, `stride` bytes apart), so that loading the
// next panel from memory overlaps the current panel's arithmetic. The kernel issues one line every
// other k step (a burst of prefetches would fill the miss buffers and stall the core), up to
// `budget` lines per kernel call, which the driver sets so the region is covered in time.
struct Prefetcher {
  const char* base = nullptr;
  int64_t rows = 0, lines_per_row = 0, stride = 0;
  int64_t row = 0, line = 0;
  int64_t budget = 0;

  inline void one() {
    if (budget <= 0 || row >= rows) return;
    budget--;
    __builtin_prefetch(base + row * stride + line * 64, 0, 2);
    if (++line == lines_per_row) {
      line = 0;
      row++;
    }
  }

  void reset(const float* p, int64_t nrows, int64_t row_floats, int64_t ld_floats) {
    base = reinterpret_cast<const char*>(p);
    rows = nrows;
    lines_per_row = (row_floats * 4 + 63) / 64;
    stride = ld_floats * 4;
    row = line = 0;
  }
  int64_t total_lines() const { return rows * lines_per_row; }
};

// Source region of op(A) rows [i0, i0+mr) × depth [p0, p0+kc), for prefetching.
inline void region_a(const GemmProblem& p, int64_t i0, int64_t mr, int64_t p0, int64_t kc, Prefetcher* f) {
  if (p.trans_a) f->reset(p.a + p0 * p.lda + i0, kc, mr, p.lda);
  else f->reset(p.a + i0 * p.lda + p0, mr, kc, p.lda);
}
// Source region of op(B) depth [p0, p0+kc) × columns [j0, j0+nc).
inline void region_b(const GemmProblem& p, int64_t p0, int64_t kc, int64_t j0, int64_t nc, Prefetcher* f) {
  if (p.trans_b) f->reset(p.b + j0 * p.ldb + p0, nc, kc, p.ldb);
  else f->reset(p.b + p0 * p.ldb + j0, kc, nc, p.ldb);
}

template <class K>
void gemm_serial(const GemmProblem& p, float* work) {
  constexpr int MR = K::MR, NR = K::NR;
  constexpr int64_t KC = K::KC, NC = K::NC;
  float* bpack = work;                    // KC × NC (NC is a multiple of NR)
  float* apack = bpack + KC * NC;         // KC × MR
  float* tile = apack + KC * MR;          // MR × NR, for edge tiles
  const int64_t m = p.m, n = p.n, k = p.k;
  Prefetcher next_a, next_b;

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
        else copy_panel<NR>(p.b + pc * p.ldb + jc + jr, p.ldb, w, kc, dst);
      }
      // While this panel is used, fetch the next one's source, spread over the kernel calls.
      if (pc + KC < k) region_b(p, pc + KC, imin(KC, k - pc - KC), jc, nc, &next_b);
      else if (jc + NC < n) region_b(p, 0, imin(KC, k), jc + NC, imin(NC, n - jc - NC), &next_b);
      else next_b.reset(p.b, 0, 0, 0);
      const int64_t calls = ((m + MR - 1) / MR) * ((nc + NR - 1) / NR);
      const int64_t b_lines_per_call = (next_b.total_lines() + calls - 1) / calls;

      for (int64_t ir = 0; ir < m; ir += MR) {
        const int mr = static_cast<int>(imin(MR, m - ir));
        if (p.trans_a) copy_panel<MR>(p.a + pc * p.lda + ir, p.lda, mr, kc, apack);
        else K::transpose_panel(p.a + ir * p.lda + pc, p.lda, mr, kc, MR, apack);
        if (ir + MR < m) region_a(p, ir + MR, imin(MR, m - ir - MR), pc, kc, &next_a);
        else next_a.reset(p.a, 0, 0, 0);
        const int64_t jcalls = (nc + NR - 1) / NR;
        const int64_t a_lines_per_call = (next_a.total_lines() + jcalls - 1) / jcalls;

        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(imin(NR, nc - jr));
          float* c = p.c + ir * p.ldc + jc + jr;
          const float* bp = bpack + jr * kc;
          next_a.budget = a_lines_per_call;
          next_b.budget = b_lines_per_call;
          if (mr == MR && nr == NR) {
            K::kernel(kc, apack, bp, c, p.ldc, p.alpha, beta, &next_a, &next_b);
            continue;
          }
          // Edge tile: run the same kernel on a full scratch tile so the arithmetic is identical.
          if (beta != 0.0f) {
            for (int r = 0; r < mr; r++)
              for (int j = 0; j < nr; j++) tile[r * NR + j] = c[r * p.ldc + j];
          }
          K::kernel(kc, apack, bp, tile, NR, p.alpha, beta, &next_a, &next_b);
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
