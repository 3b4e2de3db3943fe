/**
 * `numeric`: the extracted answer is the expected number. Reads "1,234.5", "$150", "25%", "3/4",
 * "1 1/2", "1.5e3", "−2", "12 km" (units ignored), "$1.2M". Equal within `abs_tol` / `rel_tol`
 * (default 1e-6 each); "25%" also equals 0.25. Score 1 or 0; with `partial_within: r` a wrong
 * answer scores max(0, 1 − relative error / r) × 0.5. Metrics: `found`, `correct`, `relative_error`.
 * Extraction (default `auto`): [RESULT], <answer>, \boxed{}, else the last number in the output.
 */
import type { EvaluationResult, Evaluator } from '../../contracts/evaluation.js';
import type { Options } from '../spec/issues.js';
import { extractAnswer, lastTagged, lastBoxed, type ExtractMode } from '../text/extract.js';
import { lastNumber, parseNumber, sameQuantity, type ParsedNumber } from '../text/numbers.js';
import { expectedValue, readExtract, readReference, round } from './common.js';

export interface NumericOptions {
  extract?: ExtractMode;
  reference?: string;
  abs_tol?: number;
  rel_tol?: number;
  partial_within?: number;
}

function expectedNumber(v: unknown): ParsedNumber | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return { value: v, percent: false, text: String(v) };
  if (typeof v === 'string') return parseNumber(v);
  return undefined;
}

function candidateNumber(output: string, mode: ExtractMode): ParsedNumber | undefined {
  if (mode === 'auto') {
    const tagged = lastTagged(output, 'RESULT', 'bracket') ?? lastTagged(output, 'answer') ?? lastBoxed(output);
    if (tagged !== undefined) return parseNumber(tagged) ?? lastNumber(tagged);
    return lastNumber(output);
  }
  const text = extractAnswer(output, mode);
  return text === undefined ? undefined : parseNumber(text) ?? lastNumber(text);
}

export function numericEvaluator(opts: NumericOptions = {}): Evaluator {
  const tol = { abs: opts.abs_tol, rel: opts.rel_tol };
  return {
    name: 'numeric',
    evaluate: (rollout): EvaluationResult => {
      const raw = expectedValue(rollout, opts.reference);
      const expected = expectedNumber(raw);
      if (!expected) return { score: 0, valid: false, reason: `the expected answer is not a number: ${JSON.stringify(raw)}` };
      const got = candidateNumber(rollout.output, opts.extract ?? 'auto');
      if (!got) return { score: 0, valid: true, reason: 'no number found in the answer', metrics: { found: { score: 0 }, correct: { score: 0 } } };
      const correct = sameQuantity(got, expected, tol);
      const relErr = Math.abs(got.value - expected.value) / Math.max(Math.abs(expected.value), 1e-12);
      const partial = !correct && opts.partial_within ? 0.5 * Math.max(0, 1 - relErr / opts.partial_within) : 0;
      return {
        score: correct ? 1 : round(partial),
        valid: true,
        reason: correct ? `${got.text} = ${expected.text}` : `${got.text} ≠ ${expected.text}`,
        metrics: { found: { score: 1 }, correct: { score: correct ? 1 : 0 }, relative_error: { score: correct ? 0 : round(relErr, 6) } },
      };
    },
  };
}

export function parseNumeric(o: Options): NumericOptions {
  return {
    extract: readExtract(o),
    reference: readReference(o),
    abs_tol: o.number('abs_tol', { min: 0 }),
    rel_tol: o.number('rel_tol', { min: 0 }),
    partial_within: o.number('partial_within', { min: 0 }),
  };
}
