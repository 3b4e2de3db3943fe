/**
 * `exact` and `normalized` (alias `string`): the extracted answer equals the expected text.
 * exact compares after trimming; normalized after NFKC, lower case, punctuation and whitespace
 * folding. Score 1 or 0; with `partial: true` a mismatch scores the fuzzy similarity instead.
 * Metrics: `match`, `similarity`.
 */
import type { Evaluator } from '../../contracts/evaluation.js';
import type { Options } from '../spec/issues.js';
import { extractAnswer, type ExtractMode } from '../text/extract.js';
import { normalizeText } from '../text/normalize.js';
import { fuzzySimilarity } from '../text/similarity.js';
import { asText, expectedValue, readExtract, readReference, round } from './common.js';

export interface StringMatchOptions {
  extract?: ExtractMode;
  /** Template for the expected text (default: the row's ground_truth). */
  reference?: string;
  /** Score a mismatch by fuzzy similarity instead of 0. */
  partial?: boolean;
}

export function stringMatchEvaluator(kind: 'exact' | 'normalized', opts: StringMatchOptions = {}): Evaluator {
  const fold = kind === 'exact' ? (s: string) => s.trim() : normalizeText;
  return {
    name: kind,
    evaluate: (rollout) => {
      const expectedRaw = expectedValue(rollout, opts.reference);
      const expected = Array.isArray(expectedRaw) ? expectedRaw.map(asText) : [asText(expectedRaw)];
      if (expected.length === 0 || expected.some((e) => e === undefined)) {
        return { score: 0, valid: false, reason: `expected a string (or an array of accepted strings) as ground truth, got ${JSON.stringify(expectedRaw)}` };
      }
      const answer = extractAnswer(rollout.output, opts.extract ?? 'auto');
      if (answer === undefined) return { score: 0, valid: true, reason: 'no answer found', metrics: { match: { score: 0 }, similarity: { score: 0 } } };
      const match = expected.some((e) => fold(e!) === fold(answer));
      const similarity = match ? 1 : Math.max(...expected.map((e) => fuzzySimilarity(e!, answer)));
      const score = match ? 1 : opts.partial ? round(similarity) : 0;
      return {
        score,
        valid: true,
        reason: match ? 'match' : `${JSON.stringify(answer.slice(0, 80))} ≠ ${JSON.stringify(expected[0]!.slice(0, 80))}`,
        metrics: { match: { score: match ? 1 : 0 }, similarity: { score: round(similarity) } },
      };
    },
  };
}

export function parseStringMatch(o: Options): StringMatchOptions {
  return { extract: readExtract(o), reference: readReference(o), partial: o.boolean('partial') };
}
