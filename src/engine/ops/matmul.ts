/** Matrix products on the GEMM kernel: matmul (2-D and batched, with transpose flags), linear, and fusedLinear (LoRA + residual). */
import { Tensor, empty } from '../tensor.js';
import { Tensor16 } from '../tensor16.js';
import { addGrad, record } from '../tape.js';
import { alloc, freeNow } from '../pool.js';
import { kernels } from '../backend.js';
import { ShapeError, fmt, sameShape } from '../shape.js';

export interface MatmulOptions {
  /** Use the transpose of a's last two dimensions: a is stored (..., k, m). */
  transA?: boolean;
  /** Use the transpose of b's last two dimensions: b is stored (..., n, k). */
  transB?: boolean;
}

/**
 * C = op(A)·op(B) over the last two dimensions. A (..., m, k), B (..., k, n) → C (..., m, n)
 * (before the transpose flags). Batch dimensions must be equal, or one operand 2-D (shared by
 * every batch entry).
 */
export function matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor {
  const tA = opts?.transA ?? false;
  const tB = opts?.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2) throw new ShapeError('matmul', `operands must have at least 2 dimensions, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const mOrig = tA ? a1 : a0;
  let m = mOrig;
  const k = tA ? a0 : a1;
  const kb = tB ? b1 : b0;
  const n = tB ? b0 : b1;
  if (k !== kb) {
    throw new ShapeError('matmul', `inner dimensions differ: ${fmt(a.shape)}${tA ? 'ᵀ' : ''} · ${fmt(b.shape)}${tB ? 'ᵀ' : ''} (${k} vs ${kb})`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  let batch: number;
  let outBatch: number[];
  if (bBatch.length === 0 && !tA) {
    // B shared and A untransposed: fold A's batch into its rows, one large product.
    m = a.size / k;
    batch = 1;
    outBatch = aBatch;
  } else if (aBatch.length === 0 || bBatch.length === 0 || sameShape(aBatch, bBatch)) {
    outBatch = aBatch.length ? aBatch : bBatch;
    batch = outBatch.reduce((p, d) => p * d, 1);
  } else {
    throw new ShapeError('matmul', `batch dimensions differ: ${fmt(a.shape)} · ${fmt(b.shape)}`);
  }
  const outShape = [...outBatch, mOrig, n];
  const sA = aBatch.length === 0 || batch === 1 ? 0 : m * k;
  const sB = bBatch.length === 0 ? 0 : k * n;
  const sC = m * n;
  const out = empty(outShape);
  const lda = tA ? m : k;
  const ldb = tB ? k : n;
  gemm(tA, tB, m, n, k, a.data, lda, sA, b.data, ldb, sB, out.data, n, sC, batch, 0);
  return record('matmul', out, [a, b], (g) => {
    const ad = a.data;
    const bd = b.data;
    addGrad(a, (buf, fresh) => {
      const beta = fresh ? 0 : 1;
      if (!tA && !tB) gemm(false, true, m, k, n, g, n, sC, bd, n, sB, buf, k, sA, batch, beta);
      else if (!tA && tB) gemm(false, false, m, k, n, g, n, sC, bd, k, sB, buf, k, sA, batch, beta);
      else if (tA && !tB) gemm(false, true, k, m, n, bd, n, sB, g, n, sC, buf, m, sA, batch, beta);
      else gemm(true, true, k, m, n, bd, k, sB, g, n, sC, buf, m, sA, batch, beta);
    });
    addGrad(b, (buf, fresh) => {
      const beta = fresh ? 0 : 1;
      if (!tB && !tA) gemm(true, false, k, n, m, ad, k, sA, g, n, sC, buf, n, sB, batch, beta);
      else if (!tB && tA) gemm(false, false, k, n, m, ad, m, sA, g, n, sC, buf, n, sB, batch, beta);
      else if (tB && !tA) gemm(true, false, n, k, m, g, n, sC, ad, k, sA, buf, k, sB, batch, beta);
      else gemm(true, true, n, k, m, g, n, sC, ad, m, sA, buf, k, sB, batch, beta);
    });
  });
}

/**
 * `batch` products C_i = op(A_i)·op(B_i) + beta·C_i where X_i starts at i·strideX. A stride of 0
 * shares that operand; a C stride of 0 sums every product into one C (a shared operand's gradient).
 */
function gemm(
  tA: boolean, tB: boolean, m: number, n: number, k: number,
  a: Float32Array, lda: number, sA: number, b: Float32Array, ldb: number, sB: number,
  c: Float32Array, ldc: number, sC: number, batch: number, beta: number,
): void {
  const K = kernels();
  if (batch === 1) {
    K.sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);
  } else if (sA !== 0 && sB !== 0 && sC !== 0) {
    K.sgemmBatched(tA, tB, m, n, k, 1, a, lda, sA, b, ldb, sB, beta, c, ldc, sC, batch);
  } else {
    for (let i = 0; i < batch; i++) {
      K.sgemm(tA, tB, m, n, k, 1, a.subarray(i * sA), lda, b.subarray(i * sB), ldb,
        sC === 0 && i > 0 ? 1 : beta, c.subarray(i * sC), ldc);
    }
  }
}

/**
 * y = x·wᵀ + bias, with w stored (out, in) as in Hugging Face checkpoints.
 * x (..., in), w (out, in), bias (out) → y (..., out).
 */
export function linear(x: Tensor, w: Tensor | Tensor16, bias?: Tensor | null): Tensor {
  return fusedLinear(x, w, { bias });
}

/** The optional terms of fusedLinear. */
export interface FusedLinearTerms {
  /** (out), added to every row. */
  bias?: Tensor | null;
  /** A low-rank update scaling·(x'·Aᵀ)·Bᵀ: A (r, in), B (out, r), x' shaped like x (x itself, or dropout(x)). */
  lowRank?: { x: Tensor; A: Tensor; B: Tensor; scaling: number } | null;
  /** (..., out), added to the result (a residual connection). */
  residual?: Tensor | null;
}

/**
 * y = residual + x·wᵀ + bias + scaling·(x'·Aᵀ)·Bᵀ in one op: a LoRA projection and the residual
 * add after it. Every term is accumulated by the GEMM itself (β = 1, α = scaling), so no
 * (rows, out) intermediate is made and added in a separate pass, forward or backward.
 * w may be a frozen Tensor16 (bf16/f16 base weights): its products run on Kernels.sgemmW16 and
 * it gets no gradient (x still does: dx = g·w).
 */
export function fusedLinear(x: Tensor, w: Tensor | Tensor16, terms: FusedLinearTerms = {}): Tensor {
  if (w.ndim !== 2) throw new ShapeError('linear', `weight must be 2-D (out, in), got ${fmt(w.shape)}`);
  const [outF, inF] = w.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError('linear', `input ${fmt(x.shape)} does not end in the weight's input size ${inF} (weight ${fmt(w.shape)})`);
  }
  const bias = terms.bias ?? null;
  const lr = terms.lowRank ?? null;
  const residual = terms.residual ?? null;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new ShapeError('linear', `bias ${fmt(bias.shape)} does not match the weight's output size ${outF} (weight ${fmt(w.shape)})`);
  }
  const outShape = [...x.shape.slice(0, -1), outF];
  const r = lr ? lr.A.shape[0]! : 0;
  if (lr) {
    if (!sameShape(lr.x.shape, x.shape)) throw new ShapeError('linear', `low-rank input ${fmt(lr.x.shape)} differs from the input ${fmt(x.shape)}`);
    if (lr.A.ndim !== 2 || lr.A.shape[1] !== inF) throw new ShapeError('linear', `low-rank A ${fmt(lr.A.shape)} must be (r, ${inF})`);
    if (lr.B.ndim !== 2 || lr.B.shape[0] !== outF || lr.B.shape[1] !== r) throw new ShapeError('linear', `low-rank B ${fmt(lr.B.shape)} must be (${outF}, ${r})`);
  }
  if (residual && !sameShape(residual.shape, outShape)) {
    throw new ShapeError('linear', `residual ${fmt(residual.shape)} does not match the output ${fmt(outShape)}`);
  }
  const rows = x.size / inF;
  const out = empty(outShape);
  const od = out.data;
  let beta = 0;
  if (residual) {
    od.set(residual.data);
    beta = 1;
  }
  if (bias) {
    const bd = bias.data;
    if (residual) for (let i = 0; i < rows; i++) for (let j = 0; j < outF; j++) od[i * outF + j] += bd[j]!;
    else for (let i = 0; i < rows; i++) od.set(bd, i * outF);
    beta = 1;
  }
  const K = kernels();
  const w16 = w instanceof Tensor16 ? w : null;
  if (w16) K.sgemmW16(w16.dtype, true, rows, outF, inF, 1, x.data, inF, w16.bits, inF, beta, od, outF);
  else K.sgemm(false, true, rows, outF, inF, 1, x.data, inF, (w as Tensor).data, inF, beta, od, outF);
  // u = x'·Aᵀ (rows, r), kept for the backward; then y += scaling·u·Bᵀ.
  const u = lr ? alloc(rows * r) : null;
  if (lr && u) {
    K.sgemm(false, true, rows, r, inF, 1, lr.x.data, inF, lr.A.data, inF, 0, u, r);
    K.sgemm(false, true, rows, outF, r, lr.scaling, u, r, lr.B.data, r, 1, od, outF);
  }
  const inputs = w16 ? [x] : [x, w as Tensor];
  if (bias) inputs.push(bias);
  if (lr) inputs.push(lr.x, lr.A, lr.B);
  if (residual) inputs.push(residual);
  const recorded = record(lr ? 'lora_linear' : 'linear', out, inputs, (g) => {
    if (residual) {
      addGrad(residual, (buf, fresh) => {
        if (fresh) buf.set(g);
        else for (let i = 0; i < buf.length; i++) buf[i] += g[i]!;
      });
    }
    if (w16) addGrad(x, (buf, fresh) => K.sgemmW16(w16.dtype, false, rows, inF, outF, 1, g, outF, w16.bits, inF, fresh ? 0 : 1, buf, inF));
    else {
      const wt = w as Tensor;
      addGrad(x, (buf, fresh) => K.sgemm(false, false, rows, inF, outF, 1, g, outF, wt.data, inF, fresh ? 0 : 1, buf, inF));
      addGrad(wt, (buf, fresh) => K.sgemm(true, false, outF, inF, rows, 1, g, outF, x.data, inF, fresh ? 0 : 1, buf, inF));
    }
    if (bias) {
      addGrad(bias, (buf, fresh) => {
        if (fresh) buf.fill(0);
        for (let i = 0; i < rows; i++) for (let j = 0; j < outF; j++) buf[j] += g[i * outF + j]!;
      });
    }
    if (lr && u) {
      addGrad(lr.B, (buf, fresh) => K.sgemm(true, false, outF, r, rows, lr.scaling, g, outF, u, r, fresh ? 0 : 1, buf, r));
      if (lr.A.requiresGrad || lr.x.requiresGrad) {
        // du = scaling·g·B (rows, r); dA = duᵀ·x', dx' = du·A.
        const du = alloc(rows * r);
        K.sgemm(false, false, rows, r, outF, lr.scaling, g, outF, lr.B.data, r, 0, du, r);
        addGrad(lr.A, (buf, fresh) => K.sgemm(true, false, r, inF, rows, 1, du, r, lr.x.data, inF, fresh ? 0 : 1, buf, inF));
        addGrad(lr.x, (buf, fresh) => K.sgemm(false, false, rows, inF, r, 1, du, r, lr.A.data, inF, fresh ? 0 : 1, buf, inF));
        freeNow(du);
      }
    }
  });
  if (u && recorded.node === null) freeNow(u); // no backward will read it
  return recorded;
}
