import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitRows } from './split.js';

const rows = Array.from({ length: 100 }, (_, i) => ({ id: i, kind: i < 70 ? 'a' : i < 95 ? 'b' : 'c', meta: { level: i % 2 } }));

test('a split is deterministic in the seed, disjoint, complete and order-preserving', () => {
  const s1 = splitRows(rows, { eval: 0.1, seed: 3 });
  const s2 = splitRows(rows, { eval: 0.1, seed: 3 });
  const s3 = splitRows(rows, { eval: 0.1, seed: 4 });
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1.eval, s3.eval);
  assert.equal(s1.eval.length, 10);
  assert.equal(s1.train.length, 90);
  const ids = [...s1.train, ...s1.eval].map((r) => r.id).sort((a, b) => a - b);
  assert.deepEqual(ids, rows.map((r) => r.id));
  for (const part of [s1.train, s1.eval]) assert.deepEqual(part.map((r) => r.id), part.map((r) => r.id).sort((a, b) => a - b));
});

test('a stratified split keeps each stratum in proportion (largest remainder) and totals exactly', () => {
  const s = splitRows(rows, { eval: 0.2, seed: 1, stratify: 'kind' });
  const count = (k: string) => s.eval.filter((r) => r.kind === k).length;
  // exact shares 14, 5, 1
  assert.deepEqual([count('a'), count('b'), count('c')], [14, 5, 1]);
  assert.deepEqual(s.strata, { a: { rows: 70, eval: 14 }, b: { rows: 25, eval: 5 }, c: { rows: 5, eval: 1 } });
  // shares 7, 2.5, 0.5 -> 7 + largest remainders: b gets 3 (tie with c broken by key order), c 0
  const t = splitRows(rows, { eval: 10, seed: 1, stratify: 'kind' });
  assert.equal(t.eval.length, 10);
  assert.deepEqual(t.strata, { a: { rows: 70, eval: 7 }, b: { rows: 25, eval: 3 }, c: { rows: 5, eval: 0 } });
  const nested = splitRows(rows, { eval: 0.5, seed: 2, stratify: 'meta.level' });
  assert.equal(nested.eval.filter((r) => r.meta.level === 0).length, 25);
  const missing = splitRows(rows, { eval: 0.1, seed: 2, stratify: 'nope' });
  assert.deepEqual(missing.strata, { '<missing>': { rows: 100, eval: 10 } });
});

test('bad eval sizes are rejected with the value', () => {
  assert.throws(() => splitRows(rows, { eval: 0, seed: 1 }), /got 0/);
  assert.throws(() => splitRows(rows, { eval: 100, seed: 1 }), /leaves no training rows/);
  assert.throws(() => splitRows(rows, { eval: 2.5, seed: 1 }), /whole number/);
});
