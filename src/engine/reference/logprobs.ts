/**
 * Reference gathered token log-probs (cross-entropy without a (rows, vocab) log-softmax buffer)
 * and softmax entropy. logits, dlogits (rows, vocab); targets, logp, lse, dlogp, out (rows).
 * A negative target marks an ignored row: logp 0, gradient 0 (its lse is still written).
 */
import { type Floats, dims, floats, ints, idsInRange } from './check.js';
import { rowLse } from './softmax.js';

export function tokenLogprobsForward(logits: Floats, targets: Int32Array, logp: Floats, lse: Floats, rows: number, vocab: number): void {
  const op = 'tokenLogprobsForward';
  dims(op, { rows, vocab });
  floats(op, 'logits', logits, rows * vocab, `(${rows}, ${vocab})`);
  ints(op, 'targets', targets, rows, `(${rows})`);
  floats(op, 'logp', logp, rows, `(${rows})`);
  floats(op, 'lse', lse, rows, `(${rows})`);
  idsInRange(op, 'targets', targets, rows, vocab, true);
  for (let r = 0; r < rows; r++) {
    const l = rowLse(logits, r * vocab, vocab);
    lse[r] = l;
    const t = targets[r];
    logp[r] = t < 0 ? 0 : logits[r * vocab + t] - l;
  }
}

export function tokenLogprobsBackward(logits: Floats, targets: Int32Array, lse: Floats, dlogp: Floats, dlogits: Floats, rows: number, vocab: number): void {
  const op = 'tokenLogprobsBackward';
  dims(op, { rows, vocab });
  floats(op, 'logits', logits, rows * vocab, `(${rows}, ${vocab})`);
  ints(op, 'targets', targets, rows, `(${rows})`);
  floats(op, 'lse', lse, rows, `(${rows})`);
  floats(op, 'dlogp', dlogp, rows, `(${rows})`);
  floats(op, 'dlogits', dlogits, rows * vocab, `(${rows}, ${vocab})`);
  idsInRange(op, 'targets', targets, rows, vocab, true);
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const t = targets[r];
    if (t < 0) {
      dlogits.fill(0, o, o + vocab);
      continue;
    }
    const g = dlogp[r];
    const l = lse[r];
    for (let j = 0; j < vocab; j++) dlogits[o + j] = -g * Math.exp(logits[o + j] - l);
    dlogits[o + t] += g;
  }
}

/** H = −Σ p log p = log Z − Σ p (x − m), with m the row max and Z = Σ exp(x − m). */
export function entropy(logits: Floats, out: Floats, rows: number, vocab: number): void {
  const op = 'entropy';
  dims(op, { rows, vocab });
  floats(op, 'logits', logits, rows * vocab, `(${rows}, ${vocab})`);
  floats(op, 'out', out, rows, `(${rows})`);
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    let m = -Infinity;
    for (let j = 0; j < vocab; j++) if (logits[o + j] > m) m = logits[o + j];
    let z = 0;
    let ex = 0;
    for (let j = 0; j < vocab; j++) {
      const d = logits[o + j] - m;
      const e = Math.exp(d);
      z += e;
      if (e > 0) ex += e * d;
    }
    out[r] = vocab === 0 ? 0 : Math.log(z) - ex / z;
  }
}
