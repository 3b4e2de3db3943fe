/**
 * Statistics for the diversity measurement (bench/diversity.ts): per-problem outcomes from a held-out
 * evaluation's samples (runs/…/rft/samples/step-N.json) and paired differences with their standard
 * error, so two evaluations of the same problems (SFT vs RFT, or one option vs the baseline on the
 * same seed) are compared problem by problem.
 */

export interface SampleRecord {
  row: number;
  score: number | null;
  greedy: boolean;
}

/** Per problem: greedy pass (0/1), sampled pass@1 (share of the k samples that pass) and pass@k (any of them). */
export interface ProblemOutcomes {
  greedy: Float64Array;
  sampled: Float64Array;
  passK: Float64Array;
  k: number;
}

export function outcomes(samples: SampleRecord[], n: number, passThreshold = 1): ProblemOutcomes {
  const greedy = new Float64Array(n).fill(NaN);
  const passes = new Float64Array(n);
  const counts = new Float64Array(n);
  for (const s of samples) {
    if (!Number.isInteger(s.row) || s.row < 0 || s.row >= n) throw new Error(`sample for problem ${s.row} outside 0..${n - 1}`);
    const pass = s.score !== null && s.score >= passThreshold ? 1 : 0;
    if (s.greedy) greedy[s.row] = pass;
    else {
      passes[s.row] += pass;
      counts[s.row]++;
    }
  }
  const k = Math.max(0, ...counts);
  return {
    greedy,
    sampled: passes.map((p, i) => (counts[i] ? p / counts[i]! : NaN)),
    passK: passes.map((p, i) => (counts[i] ? (p > 0 ? 1 : 0) : NaN)),
    k,
  };
}

export interface Paired {
  /** mean of after − before over the problems both cover */
  delta: number;
  /** its standard error: unbiased std of the differences / √n */
  se: number;
  n: number;
}

/** Paired difference after − before; pairs where either side is NaN are left out. */
export function paired(before: ArrayLike<number>, after: ArrayLike<number>): Paired {
  if (before.length !== after.length) throw new Error(`paired: ${before.length} vs ${after.length} problems`);
  const d: number[] = [];
  for (let i = 0; i < before.length; i++) if (!Number.isNaN(before[i]!) && !Number.isNaN(after[i]!)) d.push(after[i]! - before[i]!);
  const n = d.length;
  if (n === 0) return { delta: NaN, se: NaN, n };
  const mean = d.reduce((a, b) => a + b, 0) / n;
  const se = n > 1 ? Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) / Math.sqrt(n) : NaN;
  return { delta: mean, se, n };
}

export const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i]!)) {
    s += xs[i]!;
    n++;
  }
  return n ? s / n : NaN;
};

/** "+0.045 ± 0.012" (3 decimals), or "–" for NaN. */
export function fmtPaired(p: Paired): string {
  if (Number.isNaN(p.delta)) return '–';
  return `${p.delta >= 0 ? '+' : ''}${p.delta.toFixed(3)} ± ${Number.isNaN(p.se) ? '–' : p.se.toFixed(3)}`;
}
