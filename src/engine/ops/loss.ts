/** Losses and per-token log-probs straight from logits. */
import { Tensor, empty } from '../tensor.js';
import { addGradOverwrite, record } from '../tape.js';
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

/** Entropy of softmax(logits) per row, as a training metric (no gradient). logits (..., vocab) → (...). */
export function entropy(logits: Tensor): Tensor {
  if (logits.ndim < 1) throw new ShapeError('entropy', `logits must be (..., vocab), got ${fmt(logits.shape)}`);
  const vocab = logits.shape[logits.ndim - 1];
  const out = empty(logits.shape.slice(0, -1));
  kernels().entropy(logits.data, out.data, out.size, vocab);
  return out;
}
