/**
 * Weighted composition: score = Σ wᵢ·sᵢ / Σ wᵢ over the components (weights need not sum to 1).
 * Every component's score is kept as a metric under its name, and its own metrics under
 * `NAME.METRIC`. If any component is invalid, the whole result is invalid (a reward built from a
 * broken part would mislead the trainer); the reason names the component.
 */
import type { EvaluationResult, Evaluator, MetricResult } from '../contracts/evaluation.js';
import { errorMessage, invalid, normaliseResult } from './define.js';
import { round } from './builtins/common.js';

export interface WeightedComponent {
  evaluator: Evaluator;
  weight: number;
  /** Metric name (default: the evaluator's name, made unique). */
  name?: string;
}

export function weightedEvaluator(components: WeightedComponent[], name = 'weighted'): Evaluator {
  if (components.length === 0) throw new Error('a weighted evaluator needs at least one component');
  const total = components.reduce((s, c) => s + c.weight, 0);
  if (!(total > 0)) throw new Error('the weights of a weighted evaluator must sum to more than 0');
  const names: string[] = [];
  for (const c of components) {
    let n = c.name ?? c.evaluator.name;
    for (let k = 2; names.includes(n); k++) n = `${c.name ?? c.evaluator.name}_${k}`;
    names.push(n);
  }
  return {
    name,
    evaluate: async (rollout): Promise<EvaluationResult> => {
      const results = await Promise.all(
        components.map(async (c) => {
          try {
            return normaliseResult(await c.evaluator.evaluate(rollout));
          } catch (e) {
            return invalid(`threw: ${errorMessage(e)}`);
          }
        }),
      );
      const metrics: Record<string, MetricResult> = {};
      let score = 0;
      const bad: string[] = [];
      results.forEach((r, i) => {
        const n = names[i]!;
        metrics[n] = r.reason ? { score: r.score, reason: r.reason } : { score: r.score };
        for (const [k, m] of Object.entries(r.metrics ?? {})) metrics[`${n}.${k}`] = m;
        if (!r.valid) bad.push(`${n}: ${r.reason ?? 'invalid'}`);
        score += (components[i]!.weight / total) * r.score;
      });
      if (bad.length) return invalid(`invalid component ${bad.join('; ')}`, metrics);
      const reason = results.map((r, i) => `${names[i]} ${round(r.score, 3)}×${round(components[i]!.weight / total, 3)}`).join(' + ');
      return { score: Math.min(1, round(score, 6)), valid: true, reason, metrics };
    },
    close: async () => {
      await Promise.all(components.map((c) => c.evaluator.close?.()));
    },
  };
}
