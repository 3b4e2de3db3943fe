// The unpacked few-rows path of the 16-bit-weight GEMM on the convert-on-the-fly ISAs: the F32
// few-rows kernel (gemm_small.h) with B widened as it is loaded. Include after gemm_small.h and
// gemm16_driver.h, with the converter class C of gemm16_driver.h.

template <class V, W16 D, class C>
struct Load16 {
  using E = uint16_t;
  static typename V::T vec(const uint16_t* p) { return C::template load<D>(p); }
  static float one(uint16_t h) { return D == W16::kBf16 ? bf16_to_f32(h) : f16_to_f32(h); }
};

template <class V, class C>
void gemm16_small_bt(const Gemm16Problem& p, float*) {
  if (p.dtype == W16::kBf16) small_m_bt<V, Load16<V, W16::kBf16, C>>(p, p.a, p.lda);
  else small_m_bt<V, Load16<V, W16::kF16, C>>(p, p.a, p.lda);
}

// C::row from C::load: whole vectors, then a scalar tail.
template <class V, class C>
inline void cvt_row_vec(const uint16_t* s, float* d, int64_t n, W16 t) {
  constexpr int W = V::W;
  int64_t i = 0;
  if (t == W16::kBf16)
    for (; i + W <= n; i += W) V::store(d + i, C::template load<W16::kBf16>(s + i));
  else
    for (; i + W <= n; i += W) V::store(d + i, C::template load<W16::kF16>(s + i));
  ScalarCvt::row(s + i, d + i, n - i, t);
}
