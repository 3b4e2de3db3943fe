/** Losses and per-token log-probs straight from logits. */
import { Tensor, empty } from '../tensor.js';
import { addGradAccumulate, addGradOverwrite, record } from '../tape.js';
import { alloc } from '../pool.js';
import { kernels } from '../backend.js';
import { ShapeError, checkInt32, fmt } from '../shape.js';
import { scale } from './elementwise.js';
import { sum } from './reduce.js';

function rowsOf(op: string, logits: Tensor, targets: Int32Array): [rows: number, vocab: number] {
  if (logits.ndim < 1) throw new ShapeError(op, `logits must be (..., vocab), got ${fmt(logits.shape)}`);
  const vocab = logits.shape[logits.ndim - 1];
  const rows = vocab === 0 ? 0 : logits.size / vocab;
  checkInt32(op, 'targets', targets);
  if (targets.length !== rows) throw new ShapeError(op, `${targets.length} targets for ${rows} rows of logits ${fmt(logits.shape)}`);
  for (let r = 0; r < rows; r++) {
    if (targets[r] >= vocab) throw new ShapeError(op, `target ${targets[r]} at row ${r} is outside the vocabulary of ${vocab} (logits ${fmt(logits.shape)})`);
  }
  return [rows, vocab];
}

/**
 * log softmax(logits)[target] per row, without materialising the log-softmax.
 * logits (..., vocab); targets (rows) with −1 (any negative) = ignored (log-prob 0, no gradient).
 * → (...) one value per row.
 */
export function tokenLogprobs(logits: Tensor, targets: Int32Array): Tensor {
  const [rows, vocab] = rowsOf('tokenLogprobs', logits, targets);
  const out = empty(logits.shape.slice(0, -1));
  const lse = alloc(rows); // (rows) log-sum-exp, for the backward
  const K = kernels();
  K.tokenLogprobsForward(logits.data, targets, out.data, lse, rows, vocab);
  return record('tokenLogprobs', out, [logits], (g) => {
    addGradOverwrite(logits, (dx) => K.tokenLogprobsBackward(logits.data, targets, lse, g, dx, rows, vocab));
  });
}

/** Mean cross-entropy over the rows whose target is not ignored (negative). Scalar. */
export function crossEntropy(logits: Tensor, targets: Int32Array): Tensor {
  checkInt32('crossEntropy', 'targets', targets);
  let count = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) count++;
  if (count === 0) throw new ShapeError('crossEntropy', `every one of the ${targets.length} targets is ignored; there is nothing to average`);
  return scale(sum(tokenLogprobs(logits, targets)), -1 / count);
}

/**
 * Entropy of softmax(logits) per row: H = −Σ_j p_j log p_j. logits (..., vocab) → (...).
 * Differentiable (an entropy bonus in the loss): dH/dx_j = −p_j (log p_j + H). Rows whose
 * upstream gradient is 0 are skipped in the backward, so a bonus on a few rows costs only those.
 */
export function entropy(logits: Tensor): Tensor {
  if (logits.ndim < 1) throw new ShapeError('entropy', `logits must be (..., vocab), got ${fmt(logits.shape)}`);
  const vocab = logits.shape[logits.ndim - 1];
  const out = empty(logits.shape.slice(0, -1));
  kernels().entropy(logits.data, out.data, out.size, vocab);
  return record('entropy', out, [logits], (g) => {
    addGradAccumulate(logits, (acc) => {
      const x = logits.data;
      const H = out.data;
      for (let r = 0; r < out.size; r++) {
        const gr = g[r];
        if (gr === 0) continue;
        const o = r * vocab;
        let m = -Infinity;
        for (let j = 0; j < vocab; j++) if (x[o + j] > m) m = x[o + j];
        let z = 0;
        for (let j = 0; j < vocab; j++) z += Math.exp(x[o + j] - m);
        const lse = m + Math.log(z);
        for (let j = 0; j < vocab; j++) {
          const lp = x[o + j] - lse;
          acc[o + j] += -gr * Math.exp(lp) * (lp + H[r]);
        }
      }
    });
  });
}
