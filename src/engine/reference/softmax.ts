/** Reference row-wise softmax and log-softmax, forward and backward. x, y, dy, dx (rows, cols). */
import { type Floats, dims, floats } from './check.js';

function check(op: string, arrays: [string, unknown][], rows: number, cols: number): void {
  dims(op, { rows, cols });
  for (const [name, a] of arrays) floats(op, name, a, rows * cols, `(${rows}, ${cols})`);
}

/** max and log Σ exp(x − max) of one row: the log-sum-exp is max + the second value. */
export function rowLse(x: Floats, o: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - m);
  return m + Math.log(s);
}

export function softmaxForward(x: Floats, y: Floats, rows: number, cols: number): void {
  check('softmaxForward', [['x', x], ['y', y]], rows, cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const l = rowLse(x, o, cols);
    for (let j = 0; j < cols; j++) y[o + j] = Math.exp(x[o + j] - l);
  }
}

export function softmaxBackward(y: Floats, dy: Floats, dx: Floats, rows: number, cols: number): void {
  check('softmaxBackward', [['y', y], ['dy', dy], ['dx', dx]], rows, cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

export function logSoftmaxForward(x: Floats, y: Floats, rows: number, cols: number): void {
  check('logSoftmaxForward', [['x', x], ['y', y]], rows, cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const l = rowLse(x, o, cols);
    for (let j = 0; j < cols; j++) y[o + j] = x[o + j] - l;
  }
}

export function logSoftmaxBackward(y: Floats, dy: Floats, dx: Floats, rows: number, cols: number): void {
  check('logSoftmaxBackward', [['y', y], ['dy', dy], ['dx', dx]], rows, cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += dy[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] - Math.exp(y[o + j]) * sum;
  }
}
