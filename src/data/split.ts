/**
 * Deterministic train/eval split. With a stratify field, every stratum (distinct value of the
 * field) contributes its proportional share to the eval set (largest-remainder rounding, so the
 * total is exactly the requested size). Both outputs keep the input's order.
 */
import { Rng } from './random.js';

export interface SplitOptions {
  /** A fraction in (0, 1) of the rows, or a whole number of rows (>= 1). */
  eval: number;
  seed: number;
  /** A field name, or a dot path into the row (e.g. "ground_truth.kind"), to stratify by. */
  stratify?: string;
}

export interface SplitResult<T> {
  train: T[];
  eval: T[];
  /** Per stratum (value as JSON, or "<missing>"): rows and how many went to eval. Absent when not stratified. */
  strata?: Record<string, { rows: number; eval: number }>;
}

export const MISSING = '<missing>';

export function fieldValue(row: unknown, path: string): unknown {
  let v: unknown = row;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** The number of eval rows for n rows; throws a RangeError naming the bad value. */
export function evalCount(n: number, evalSize: number): number {
  if (!(evalSize > 0) || !Number.isFinite(evalSize)) throw new RangeError(`eval size must be a fraction in (0, 1) or a row count >= 1, got ${evalSize}`);
  if (evalSize < 1) return Math.round(n * evalSize);
  if (!Number.isInteger(evalSize)) throw new RangeError(`eval size >= 1 is a row count and must be a whole number, got ${evalSize}`);
  if (evalSize >= n) throw new RangeError(`eval size ${evalSize} leaves no training rows out of ${n}`);
  return evalSize;
}

export function splitRows<T>(rows: readonly T[], opts: SplitOptions): SplitResult<T> {
  const n = rows.length;
  const total = evalCount(n, opts.eval);
  const rng = new Rng(opts.seed);
  const groups = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const key = opts.stratify === undefined ? '' : stratumKey(fieldValue(row, opts.stratify));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  });
  const keys = [...groups.keys()].sort();
  // Largest remainder: floor of each exact share, then +1 for the largest fractional parts.
  const exact = keys.map((k) => (total * groups.get(k)!.length) / n);
  const quota = exact.map(Math.floor);
  let left = total - quota.reduce((a, b) => a + b, 0);
  const order = keys.map((_, i) => i).sort((a, b) => exact[b]! - quota[b]! - (exact[a]! - quota[a]!) || a - b);
  for (const i of order) {
    if (left === 0) break;
    quota[i]!++;
    left--;
  }
  const isEval = new Uint8Array(n);
  const strata: Record<string, { rows: number; eval: number }> = {};
  keys.forEach((k, i) => {
    const members = groups.get(k)!;
    for (const idx of rng.shuffle(members).slice(0, quota[i])) isEval[idx] = 1;
    strata[k] = { rows: members.length, eval: quota[i]! };
  });
  const result: SplitResult<T> = { train: [], eval: [] };
  rows.forEach((row, i) => (isEval[i] ? result.eval : result.train).push(row));
  if (opts.stratify !== undefined) result.strata = strata;
  return result;
}

function stratumKey(v: unknown): string {
  return v === undefined ? MISSING : typeof v === 'string' ? v : JSON.stringify(v);
}
