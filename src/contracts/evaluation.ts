/**
 * The evaluator contract: one rollout in, one scored result out.
 * An evaluator that throws, hangs or returns garbage yields `valid: false` with the error in
 * `reason`; invalid results are not trained on.
 */
import type { ChatMessage, Row } from './row.js';

export interface MetricResult {
  score: number;
  reason?: string;
}

export interface EvaluationResult {
  /** 0..1, partial credit allowed. */
  score: number;
  valid: boolean;
  reason?: string;
  metrics?: Record<string, MetricResult>;
}

export interface Rollout {
  /** The dataset row the rollout answers (extra fields included). */
  row: Row;
  /** The full trajectory: the prompt messages followed by everything the policy (and tools) said. */
  messages: ChatMessage[];
  /** The final assistant text. */
  output: string;
}

export interface Evaluator {
  readonly name: string;
  evaluate(rollout: Rollout): EvaluationResult | Promise<EvaluationResult>;
  /** Releases worker pools, child processes or connections the evaluator holds (optional). */
  close?(): Promise<void> | void;
}
