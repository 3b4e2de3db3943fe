/**
 * The evaluator contract in code: `defineEvaluator` wraps a user's function so that whatever it
 * does (returns garbage, throws, rejects) the caller gets a well-formed `EvaluationResult`.
 */
import type { EvaluationResult, Evaluator, MetricResult, Rollout } from '../contracts/evaluation.js';

export type EvaluateFn = (rollout: Rollout) => EvaluationResult | Promise<EvaluationResult>;

export interface EvaluatorDefinition {
  name: string;
  evaluate: EvaluateFn;
  /** Releases pools, processes or connections the evaluator holds. */
  close?: () => Promise<void> | void;
}

/**
 * @example
 * export default defineEvaluator({
 *   name: 'length',
 *   evaluate: ({ output }) => ({ score: output.length < 200 ? 1 : 0, valid: true }),
 * });
 */
export function defineEvaluator(def: EvaluatorDefinition): Evaluator {
  if (!def || typeof def.name !== 'string' || def.name === '') throw new TypeError('defineEvaluator: `name` must be a non-empty string');
  if (typeof def.evaluate !== 'function') throw new TypeError(`defineEvaluator(${def.name}): \`evaluate\` must be a function`);
  const evaluate = def.evaluate;
  return {
    name: def.name,
    evaluate: (rollout) => safeEvaluate(evaluate, rollout),
    ...(def.close ? { close: def.close } : {}),
  };
}

/** Runs `fn` and turns a throw, a rejection or a malformed result into `valid: false`. */
export async function safeEvaluate(fn: EvaluateFn, rollout: Rollout): Promise<EvaluationResult> {
  try {
    return normaliseResult(await fn(rollout));
  } catch (e) {
    return invalid(`evaluator threw: ${errorMessage(e)}`);
  }
}

export function invalid(reason: string, metrics?: Record<string, MetricResult>): EvaluationResult {
  return metrics ? { score: 0, valid: false, reason, metrics } : { score: 0, valid: false, reason };
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  try {
    return typeof e === 'string' ? e : JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

/**
 * Checks that `value` is an `EvaluationResult`: score a finite number in [0,1] (never clamped:
 * a score outside the range is a bug in the evaluator, reported as `valid: false`), `valid`
 * a boolean (defaults to true when absent), `reason` a string, metrics `{name: {score, reason?}}`
 * with finite scores. Returns a fresh object with only the contract's fields.
 */
export function normaliseResult(value: unknown): EvaluationResult {
  const problem = (what: string) => invalid(`malformed evaluation result: ${what}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return problem(`expected an object {score, valid, reason?, metrics?}, got ${describe(value)}`);
  }
  const v = value as Record<string, unknown>;
  if (typeof v.score !== 'number' || !Number.isFinite(v.score)) return problem(`score must be a finite number, got ${describe(v.score)}`);
  if (v.score < 0 || v.score > 1) return problem(`score must be in [0, 1], got ${v.score}`);
  if (v.valid !== undefined && typeof v.valid !== 'boolean') return problem(`valid must be a boolean, got ${describe(v.valid)}`);
  if (v.reason !== undefined && v.reason !== null && typeof v.reason !== 'string') return problem(`reason must be a string, got ${describe(v.reason)}`);
  const out: EvaluationResult = { score: v.score, valid: v.valid ?? true };
  if (typeof v.reason === 'string') out.reason = v.reason;
  if (v.metrics !== undefined && v.metrics !== null) {
    if (typeof v.metrics !== 'object' || Array.isArray(v.metrics)) return problem(`metrics must be an object, got ${describe(v.metrics)}`);
    const metrics: Record<string, MetricResult> = {};
    for (const [name, m] of Object.entries(v.metrics as Record<string, unknown>)) {
      if (m === null || typeof m !== 'object') return problem(`metrics.${name} must be {score, reason?}, got ${describe(m)}`);
      const mm = m as Record<string, unknown>;
      if (typeof mm.score !== 'number' || !Number.isFinite(mm.score)) return problem(`metrics.${name}.score must be a finite number, got ${describe(mm.score)}`);
      if (mm.reason !== undefined && mm.reason !== null && typeof mm.reason !== 'string') return problem(`metrics.${name}.reason must be a string`);
      metrics[name] = typeof mm.reason === 'string' ? { score: mm.score, reason: mm.reason } : { score: mm.score };
    }
    out.metrics = metrics;
  }
  if (!out.valid && out.score !== 0) out.score = 0; // invalid results carry no reward
  return out;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : typeof v;
}
