/**
 * Score stage: every trajectory gets an evaluation; invalid ones become reward NaN (left out
 * of the group statistics and masked out of the loss). Component metrics are averaged over
 * valid results so each evaluator part can be followed during training.
 */
import type { EvaluationResult, Rollout } from '../../contracts/evaluation.js';

/** Scores a batch of rollouts (concurrently, with timeouts: the evaluator pool's job). */
export type ScoreFn = (rollouts: Rollout[]) => Promise<EvaluationResult[]>;

export interface Scores {
  results: EvaluationResult[];
  /** score, or NaN for an invalid evaluation */
  rewards: Float64Array;
  invalidFraction: number;
  /** mean of each named metric over the valid results that report it */
  componentMeans: Record<string, number>;
}

export async function scoreAll(score: ScoreFn, rollouts: Rollout[]): Promise<Scores> {
  const results = await score(rollouts);
  if (results.length !== rollouts.length) throw new Error(`evaluator returned ${results.length} results for ${rollouts.length} rollouts`);
  const rewards = new Float64Array(results.length);
  const sums: Record<string, { s: number; n: number }> = {};
  let invalid = 0;
  results.forEach((r, i) => {
    const ok = r.valid && Number.isFinite(r.score) && r.score >= 0 && r.score <= 1;
    rewards[i] = ok ? r.score : NaN;
    if (!ok) {
      invalid++;
      return;
    }
    for (const [name, m] of Object.entries(r.metrics ?? {})) {
      if (!Number.isFinite(m.score)) continue;
      (sums[name] ??= { s: 0, n: 0 }).s += m.score;
      sums[name].n++;
    }
  });
  const componentMeans: Record<string, number> = {};
  for (const [k, { s, n }] of Object.entries(sums)) componentMeans[k] = s / n;
  return { results, rewards, invalidFraction: results.length ? invalid / results.length : 0, componentMeans };
}
