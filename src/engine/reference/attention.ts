/**
 * Reference causal grouped-query attention. q, out, dq (B, Tq, Hq, D); k, v, dk, dv (B, Tk, Hkv, D);
 * lse (B, Hq, Tq). Query head h reads kv head ⌊h / (Hq/Hkv)⌋ (Hugging Face repeat_kv order).
 * Query i of batch b sits at key position qStart[b] + i and attends keys kStart[b] ≤ j ≤ qStart[b] + i.
 * A query with no key to attend (a left-padding row) gets out = 0, lse = −∞ and no gradient.
 */
import { type Floats, dims, floats, ints, need } from './check.js';

export function checkAttention(
  op: string, arrays: [string, unknown, 'q' | 'kv' | 'lse'][],
  B: number, Tq: number, Tk: number, Hq: number, Hkv: number, D: number, qStart: Int32Array, kStart: Int32Array,
): void {
  dims(op, { B, Tq, Tk, Hq, Hkv, D });
  need(D <= 65536, op, `head size D = ${D} is larger than the supported 65536`);
  need(Hq > 0 && Hkv > 0 && Hq % Hkv === 0, op, `Hq (${Hq}) must be a positive multiple of Hkv (${Hkv})`);
  const shapes = {
    q: [B * Tq * Hq * D, `(B=${B}, Tq=${Tq}, Hq=${Hq}, D=${D})`],
    kv: [B * Tk * Hkv * D, `(B=${B}, Tk=${Tk}, Hkv=${Hkv}, D=${D})`],
    lse: [B * Hq * Tq, `(B=${B}, Hq=${Hq}, Tq=${Tq})`],
  } as const;
  for (const [name, a, kind] of arrays) floats(op, name, a, shapes[kind][0], shapes[kind][1]);
  ints(op, 'qStart', qStart, B, `(${B})`);
  ints(op, 'kStart', kStart, B, `(${B})`);
  for (let b = 0; b < B; b++) {
    need(qStart[b] >= 0 && qStart[b] + Tq <= Tk, op,
      `qStart[${b}] = ${qStart[b]} puts queries at positions ${qStart[b]}..${qStart[b] + Tq - 1}, outside the ${Tk} keys`);
    need(kStart[b] >= 0, op, `kStart[${b}] = ${kStart[b]} must be ≥ 0`);
  }
}

export function attentionForward(
  q: Floats, k: Floats, v: Floats, out: Floats, lse: Floats,
  B: number, Tq: number, Tk: number, Hq: number, Hkv: number, D: number, scale: number,
  qStart: Int32Array, kStart: Int32Array,
): void {
  checkAttention('attentionForward', [['q', q, 'q'], ['k', k, 'kv'], ['v', v, 'kv'], ['out', out, 'q'], ['lse', lse, 'lse']],
    B, Tq, Tk, Hq, Hkv, D, qStart, kStart);
  const group = Hq / Hkv;
  const s = new Float64Array(Tk);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const hi = qStart[b] + i;
      const lo = kStart[b];
      for (let h = 0; h < Hq; h++) {
        const qo = ((b * Tq + i) * Hq + h) * D;
        const kh = Math.floor(h / group);
        const li = (b * Hq + h) * Tq + i;
        if (lo > hi) {
          for (let d = 0; d < D; d++) out[qo + d] = 0;
          lse[li] = -Infinity;
          continue;
        }
        let m = -Infinity;
        for (let j = lo; j <= hi; j++) {
          const ko = ((b * Tk + j) * Hkv + kh) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          s[j] = dot * scale;
          if (s[j] > m) m = s[j];
        }
        acc.fill(0);
        let sum = 0;
        for (let j = lo; j <= hi; j++) {
          const p = Math.exp(s[j] - m);
          sum += p;
          const vo = ((b * Tk + j) * Hkv + kh) * D;
          for (let d = 0; d < D; d++) acc[d] += p * v[vo + d];
        }
        for (let d = 0; d < D; d++) out[qo + d] = acc[d] / sum;
        lse[li] = m + Math.log(sum);
      }
    }
  }
}

/**
 * With P = exp(S − lse): dV += Pᵀ·dO; dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(dO ⊙ O));
 * dQ = scale · dS·K; dK += scale · dSᵀ·Q (summed over the query heads of each kv head).
 */
export function attentionBackward(
  q: Floats, k: Floats, v: Floats, out: Floats, lse: Floats, dout: Floats,
  dq: Floats, dk: Floats, dv: Floats,
  B: number, Tq: number, Tk: number, Hq: number, Hkv: number, D: number, scale: number,
  qStart: Int32Array, kStart: Int32Array,
): void {
  checkAttention('attentionBackward', [
    ['q', q, 'q'], ['k', k, 'kv'], ['v', v, 'kv'], ['out', out, 'q'], ['lse', lse, 'lse'], ['dout', dout, 'q'],
    ['dq', dq, 'q'], ['dk', dk, 'kv'], ['dv', dv, 'kv'],
  ], B, Tq, Tk, Hq, Hkv, D, qStart, kStart);
  const group = Hq / Hkv;
  dk.fill(0, 0, B * Tk * Hkv * D);
  dv.fill(0, 0, B * Tk * Hkv * D);
  const dqAcc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const hi = qStart[b] + i;
      const lo = kStart[b];
      for (let h = 0; h < Hq; h++) {
        const qo = ((b * Tq + i) * Hq + h) * D;
        const kh = Math.floor(h / group);
        const L = lse[(b * Hq + h) * Tq + i];
        dqAcc.fill(0);
        if (lo <= hi) {
          let delta = 0;
          for (let d = 0; d < D; d++) delta += dout[qo + d] * out[qo + d];
          for (let j = lo; j <= hi; j++) {
            const ko = ((b * Tk + j) * Hkv + kh) * D;
            let sc = 0;
            let dp = 0;
            for (let d = 0; d < D; d++) {
              sc += q[qo + d] * k[ko + d];
              dp += dout[qo + d] * v[ko + d];
            }
            const p = Math.exp(sc * scale - L);
            const ds = p * (dp - delta) * scale;
            for (let d = 0; d < D; d++) {
              dv[ko + d] += p * dout[qo + d];
              dk[ko + d] += ds * q[qo + d];
              dqAcc[d] += ds * k[ko + d];
            }
          }
        }
        for (let d = 0; d < D; d++) dq[qo + d] = dqAcc[d];
      }
    }
  }
}
