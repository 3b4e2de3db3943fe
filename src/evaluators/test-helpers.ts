/** Shared helpers for the evaluator tests: rollouts from an output and a ground truth. */
import type { Rollout } from '../contracts/evaluation.js';
import type { Row } from '../contracts/row.js';

export function rollout(output: string, ground_truth?: unknown, extra: Record<string, unknown> = {}): Rollout {
  const row: Row = { messages: [{ role: 'user', content: 'question' }], ...(ground_truth === undefined ? {} : { ground_truth }), ...extra };
  return { row, messages: [...row.messages, { role: 'assistant', content: output }], output };
}
