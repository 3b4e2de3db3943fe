/**
 * Score stage: every trajectory gets an evaluation; invalid ones become reward NaN (left out
 * of the group statistics and masked out of the loss). A rollout that itself failed (its `error`
 * is set: the agent threw, timed out, the remote agent broke) never reaches the evaluator: it is
 * invalid with the error as its reason. Component metrics are averaged over valid results so each
 * evaluator part can be followed during training.
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

export async function scoreAll(score: ScoreFn, rollouts: (Rollout & { error?: string })[]): Promise<Scores> {
  const ok = rollouts.filter((r) => r.error === undefined);
  const evaluated = await score(ok);
  if (evaluated.length !== ok.length) throw new Error(`evaluator returned ${evaluated.length} results for ${ok.length} rollouts`);
  let next = 0;
  const results = rollouts.map((r): EvaluationResult => (r.error === undefined ? evaluated[next++] : { score: 0, valid: false, reason: `rollout failed: ${r.error}` }));
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
