/**
 * The kernel contract shared by the native addon (`native/`) and the pure-TypeScript
 * reference (`src/engine/reference/`). Every function writes into caller-owned buffers
 * (no allocation), works on row-major Float32Array data, and is deterministic for a
 * given thread count. Shapes are given as a trailing comment on each argument.
 *
 * Conventions:
 * - "accumulate" arguments (`dw`, `dtable`, ...) are added into, never overwritten, so
 *   a weight shared by several uses collects every contribution.
 * - Attention tensors are laid out (B, T, H, D): batch, time, heads, head size.
 * - Positions / ids are Int32Array.
 * - Buffers may be longer than their shape needs (pooled buffers, subarray views); never shorter.
 *   A buffer of the wrong kind or length, a non-integer or negative dimension, or an id / position
 *   out of range throws an Error naming the op, the argument and the expected shape, before
 *   anything is written (both implementations).
 */
export interface Kernels {
  /** Which implementation this is: "native-avx512", "native-avx2", "native-portable" or "reference". */
  readonly name: string;

  /** Threads used by multi-threaded kernels (the reference is always 1). */
  getThreads(): number;
  setThreads(n: number): void;

  /**
   * C = alpha · op(A) · op(B) + beta · C, op(X) = X or Xᵀ.
   * op(A) is (m, k), op(B) is (k, n), C is (m, n). lda/ldb/ldc are row strides of the stored
   * (untransposed) matrices: A stored (m, k) with lda ≥ k, or (k, m) with lda ≥ m when transA.
   */
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number,
    c: Float32Array, ldc: number,
  ): void;

  /** `batch` independent sgemm calls; matrix i starts at i·strideX in each buffer. */
  sgemmBatched(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, lda: number, strideA: number, b: Float32Array, ldb: number, strideB: number,
    beta: number, c: Float32Array, ldc: number, strideC: number, batch: number,
  ): void;

  /**
   * C = alpha · A · op(W) + beta · C with W held as 16-bit floats: `dtype` "bf16" or "f16" bits in a
   * Uint16Array (frozen base weights kept at checkpoint precision). A (m, k) F32 with row stride lda;
   * W stored (n, k) when transB (the forward y = x·Wᵀ) or (k, n) otherwise (the backward dx = dy·W);
   * C (m, n). The reference widens W exactly and sums in float64. Native paths: "avx512bf16"
   * (vdpbf16ps) splits A into two bf16 parts for transB (within (2⁻¹⁶ + the F32 summation
   * bound)·Σ|a·w| of the reference) and rounds A once otherwise (a gradient: (2⁻⁸ + that bound)·Σ|a·w|);
   * "avx512bf16-round" (opt-in) rounds A once in both; the conversion paths ("avx512", "avx2",
   * "portable") return exactly sgemm on the widened W.
   */
  sgemmW16(
    dtype: 'bf16' | 'f16', transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, lda: number, b: Uint16Array, ldb: number, beta: number,
    c: Float32Array, ldc: number,
  ): void;

  /** y = x / rms(x) · w per row. x,y (rows, dim); w (dim); rstd (rows) receives 1/rms. */
  rmsnormForward(x: Float32Array, w: Float32Array, y: Float32Array, rstd: Float32Array, rows: number, dim: number, eps: number): void;
  /** dx (rows, dim) is overwritten; dw (dim) is accumulated (may be null for a frozen weight). */
  rmsnormBackward(dy: Float32Array, x: Float32Array, w: Float32Array, rstd: Float32Array, dx: Float32Array, dw: Float32Array | null, rows: number, dim: number): void;

  /**
   * Rotary embedding in the Hugging Face "rotate_half" layout: for each head vector the pairs are
   * (i, i + D/2). x,y (rows, heads, D); positions (rows); cos,sin (maxPos, D/2) tables.
   * inverse=true applies the inverse rotation (this is the backward pass). In-place (x === y) allowed.
   */
  rope(x: Float32Array, y: Float32Array, positions: Int32Array, cos: Float32Array, sin: Float32Array, rows: number, heads: number, headDim: number, inverse: boolean): void;

  /** out = silu(gate) · up, all (n). */
  swigluForward(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void;
  /** dgate, dup (n) overwritten. */
  swigluBackward(gate: Float32Array, up: Float32Array, dout: Float32Array, dgate: Float32Array, dup: Float32Array, n: number): void;

  /**
   * Causal grouped-query attention with softmax scale `scale`.
   * q (B, Tq, Hq, D); k, v (B, Tk, Hkv, D) with Hq % Hkv == 0; out (B, Tq, Hq, D); lse (B, Hq, Tq)
   * receives each row's log-sum-exp (for the backward). Query i of batch b sits at key position
   * qStart[b] + i and attends keys j with kStart[b] ≤ j ≤ qStart[b] + i (kStart masks left padding).
   * Requires Hq ≥ 1, D ≤ 65536, 0 ≤ qStart[b], qStart[b] + Tq ≤ Tk and kStart[b] ≥ 0. A query with no key to attend
   * (a padding row, qStart[b] + i < kStart[b]) gets out = 0 and lse = −∞, and no gradient.
   */
  attentionForward(
    q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    B: number, Tq: number, Tk: number, Hq: number, Hkv: number, D: number, scale: number,
    qStart: Int32Array, kStart: Int32Array,
  ): void;
  /** dq overwritten; dk, dv overwritten. Same shapes as the forward. */
  attentionBackward(
    q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array, dout: Float32Array,
    dq: Float32Array, dk: Float32Array, dv: Float32Array,
    B: number, Tq: number, Tk: number, Hq: number, Hkv: number, D: number, scale: number,
    qStart: Int32Array, kStart: Int32Array,
  ): void;

  /** Row-wise softmax. x,y (rows, cols). */
  softmaxForward(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  /** dx = y ⊙ (dy − Σ dy·y). */
  softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  /** Row-wise log-softmax. x,y (rows, cols). */
  logSoftmaxForward(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  /** dx = dy − softmax(x) · Σ dy, from y = logsoftmax(x). */
  logSoftmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void;

  /**
   * Gathered token log-probs straight from logits (no (rows, vocab) log-softmax buffer):
   * logp[r] = logits[r, targets[r]] − lse[r]. logits (rows, vocab); targets, logp, lse (rows).
   * A target < 0 is ignored (logp 0; its lse is still written); a target ≥ vocab is an error.
   * This is cross-entropy's forward: CE = −mean(logp).
   */
  tokenLogprobsForward(logits: Float32Array, targets: Int32Array, logp: Float32Array, lse: Float32Array, rows: number, vocab: number): void;
  /** dlogits[r] = dlogp[r] · (onehot(target) − softmax(logits[r])); overwritten; ignored rows get 0. */
  tokenLogprobsBackward(logits: Float32Array, targets: Int32Array, lse: Float32Array, dlogp: Float32Array, dlogits: Float32Array, rows: number, vocab: number): void;
  /** Entropy of softmax(logits) per row (no gradient; a training metric). */
  entropy(logits: Float32Array, out: Float32Array, rows: number, vocab: number): void;

  /** out[i] = table[ids[i]]. table (vocab, dim) with vocab = ⌊table.length / dim⌋; ids (n); out (n, dim). */
  embeddingForward(table: Float32Array, ids: Int32Array, out: Float32Array, n: number, dim: number): void;
  /** dtable[ids[i]] += dout[i] (accumulate, in order of i, so repeated ids sum deterministically). */
  embeddingBackward(dout: Float32Array, ids: Int32Array, dtable: Float32Array, n: number, dim: number): void;

  /**
   * One decoupled-weight-decay Adam step (AdamW, PyTorch semantics), in place on param, m, v.
   * step is 1-based (bias correction uses it). All arrays (n).
   */
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
}
