/** Reference embedding gather / scatter-add. table, dtable (vocab, dim); ids (n); out, dout (n, dim). */
import { type Floats, dims, floats, ints, idsInRange, need } from './check.js';

function vocabOf(op: string, table: Floats, dim: number): number {
  need(dim > 0 || table.length === 0, op, `dim must be positive`);
  return dim === 0 ? 0 : Math.floor(table.length / dim);
}

export function embeddingForward(table: Floats, ids: Int32Array, out: Floats, n: number, dim: number): void {
  const op = 'embeddingForward';
  dims(op, { n, dim });
  floats(op, 'table', table, 0, `(vocab, ${dim})`);
  ints(op, 'ids', ids, n, `(${n})`);
  floats(op, 'out', out, n * dim, `(${n}, ${dim})`);
  if (dim === 0) return;
  idsInRange(op, 'ids', ids, n, vocabOf(op, table, dim));
  for (let i = 0; i < n; i++) {
    const t = ids[i] * dim;
    for (let d = 0; d < dim; d++) out[i * dim + d] = table[t + d];
  }
}

/** Rows are added in index order i = 0..n−1, so repeated ids accumulate deterministically. */
export function embeddingBackward(dout: Floats, ids: Int32Array, dtable: Floats, n: number, dim: number): void {
  const op = 'embeddingBackward';
  dims(op, { n, dim });
  floats(op, 'dout', dout, n * dim, `(${n}, ${dim})`);
  ints(op, 'ids', ids, n, `(${n})`);
  floats(op, 'dtable', dtable, 0, `(vocab, ${dim})`);
  if (dim === 0) return;
  idsInRange(op, 'ids', ids, n, vocabOf(op, dtable, dim));
  for (let i = 0; i < n; i++) {
    const t = ids[i] * dim;
    for (let d = 0; d < dim; d++) dtable[t + d] += dout[i * dim + d];
  }
}
