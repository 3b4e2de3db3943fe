/** Causal grouped-query attention on the fused kernel. */
import { Tensor, empty } from '../tensor.js';
import { overwriteTargets, record } from '../tape.js';
import { alloc } from '../pool.js';
import { kernels } from '../backend.js';
import { ShapeError, checkInt32, fmt } from '../shape.js';

export interface AttentionOptions {
  /** Softmax scale; default 1/√headDim. */
  scale?: number;
  /** (B) key position of each batch's first query; default Tk − Tq (queries are the last Tq positions). */
  qStart?: Int32Array;
  /**
   * (B) first key each batch may attend (masks left padding); default 0. Queries before it (the
   * padding rows of a left-padded prefill) attend to nothing: their output is 0, with no gradient.
   */
  kStart?: Int32Array;
}

/**
 * softmax(q·kᵀ·scale + causal mask)·v per head; query head h reads key/value head h / (Hq/Hkv).
 * q (B, Tq, Hq, D); k, v (B, Tk, Hkv, D) → out (B, Tq, Hq, D).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor {
  const bad = (why: string) => new ShapeError('attention', `${why}: q ${fmt(q.shape)}, k ${fmt(k.shape)}, v ${fmt(v.shape)}`);
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) throw bad('q, k, v must be (B, T, heads, headDim)');
  const [B, Tq, Hq, D] = q.shape;
  const [Bk, Tk, Hkv, Dk] = k.shape;
  if (Bk !== B || Dk !== D) throw bad('batch or head size differ');
  if (v.shape[0] !== B || v.shape[1] !== Tk || v.shape[2] !== Hkv || v.shape[3] !== D) throw bad('v must have the shape of k');
  if (Hkv === 0 || Hq % Hkv !== 0) throw bad(`query heads (${Hq}) must be a multiple of key/value heads (${Hkv})`);
  const scale = opts?.scale ?? 1 / Math.sqrt(D);
  const qStart = opts?.qStart ?? new Int32Array(B).fill(Tk - Tq);
  const kStart = opts?.kStart ?? new Int32Array(B);
  checkInt32('attention', 'qStart', qStart);
  checkInt32('attention', 'kStart', kStart);
  if (qStart.length !== B || kStart.length !== B) throw bad(`qStart/kStart must have B = ${B} entries, got ${qStart.length}/${kStart.length}`);
  for (let b = 0; b < B; b++) {
    if (qStart[b] < 0 || qStart[b] + Tq > Tk) throw bad(`qStart[${b}] = ${qStart[b]} puts queries outside the ${Tk} keys`);
    if (kStart[b] < 0 || kStart[b] > Tk) throw bad(`kStart[${b}] = ${kStart[b]} must be in [0, Tk = ${Tk}]`);
  }
  const out = empty(q.shape);
  const lse = alloc(B * Hq * Tq); // (B, Hq, Tq) per-row log-sum-exp, for the backward
  const K = kernels();
  K.attentionForward(q.data, k.data, v.data, out.data, lse, B, Tq, Tk, Hq, Hkv, D, scale, qStart, kStart);
  return record('attention', out, [q, k, v], (g) => {
    const { bufs, commit } = overwriteTargets([q, k, v]);
    K.attentionBackward(q.data, k.data, v.data, out.data, lse, g, bufs[0], bufs[1], bufs[2], B, Tq, Tk, Hq, Hkv, D, scale, qStart, kStart);
    commit();
  });
}
