/**
 * `countdown`: the answer is an equation that uses every given number exactly once with
 * `+ - * / ( )` and equals the target. Ground truth: `{"numbers": [int...], "target": int}`; `nums`
 * for `numbers`, and the two as the row's own fields, also work (the public Countdown datasets' layout).
 * Reads the last `<answer>…</answer>`; an optional trailing "= N" must state the target.
 *
 * Partial credit (documented in the README):
 *   0    no <answer> tag
 *   0.1  an answer tag, but not a valid expression (bad characters, syntax, division by zero)
 *        or a valid expression that does not use exactly the given numbers
 *   0.3  a valid expression using each given number exactly once, not equal to the target
 *   1.0  correct
 * Metrics: `format`, `valid_expression`, `uses_numbers`, `equals_target`.
 */
import type { EvaluationResult, Evaluator, Rollout } from '../../contracts/evaluation.js';
import type { Options } from '../spec/issues.js';
import { lastTagged } from '../text/extract.js';
import { ExpressionError, evaluateExpression, formatRational } from './rational-expression.js';

export interface CountdownOptions {
  format_score?: number;
  numbers_score?: number;
}

interface CountdownTruth {
  numbers: bigint[];
  target: bigint;
}

const TRUTH_SHAPE = '{"numbers": [int...], "target": int} (or "nums" for "numbers", as in the public Countdown-Tasks datasets)';

/**
 * The numbers and target: from ground_truth `{numbers | nums, target}`, else from the row's own
 * `numbers`/`nums` and `target` fields (the column layout of Countdown-Tasks-3to4, TinyZero,
 * Mini-R1). `numbers` wins when a row has both spellings.
 */
function readTruth(row: Rollout['row']): CountdownTruth | string {
  const gt = row.ground_truth;
  const src = gt !== undefined && gt !== null ? gt : (row as Record<string, unknown>);
  const where = src === gt ? 'ground_truth' : 'the row';
  if (!src || typeof src !== 'object' || Array.isArray(src)) return `ground_truth must be ${TRUTH_SHAPE}`;
  const o = src as Record<string, unknown>;
  const key = Object.hasOwn(o, 'numbers') ? 'numbers' : Object.hasOwn(o, 'nums') ? 'nums' : undefined;
  if (key === undefined) return `${where} has no "numbers" (or "nums"); it must be ${TRUTH_SHAPE}`;
  const numbers = o[key];
  const target = Object.hasOwn(o, 'target') ? o.target : undefined;
  if (!Array.isArray(numbers) || numbers.length === 0 || numbers.some((n) => !Number.isSafeInteger(n))) {
    return `${where === 'ground_truth' ? 'ground_truth.' : 'the row\'s '}${key} must be a non-empty array of integers`;
  }
  if (!Number.isSafeInteger(target)) return `${where === 'ground_truth' ? 'ground_truth.' : 'the row\'s '}target must be an integer`;
  return { numbers: numbers.map((n) => BigInt(n as number)), target: BigInt(target as number) };
}

function sameMultiset(a: bigint[], b: bigint[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort((p, q) => (p < q ? -1 : p > q ? 1 : 0));
  const y = [...b].sort((p, q) => (p < q ? -1 : p > q ? 1 : 0));
  return x.every((v, i) => v === y[i]);
}

export function countdownEvaluator(opts: CountdownOptions = {}): Evaluator {
  const formatScore = opts.format_score ?? 0.1;
  const numbersScore = opts.numbers_score ?? 0.3;
  return {
    name: 'countdown',
    evaluate: ({ row, output }): EvaluationResult => {
      const truth = readTruth(row);
      if (typeof truth === 'string') return { score: 0, valid: false, reason: truth };
      const metrics = (f: number, v: number, u: number, e: number) => ({
        format: { score: f }, valid_expression: { score: v }, uses_numbers: { score: u }, equals_target: { score: e },
      });
      const answer = lastTagged(output, 'answer');
      if (answer === undefined) return { score: 0, valid: true, reason: 'no <answer>…</answer>', metrics: metrics(0, 0, 0, 0) };
      let [lhs, ...rhs] = answer.split('=');
      lhs = lhs!;
      try {
        if (rhs.length > 1) throw new ExpressionError('more than one "="');
        if (rhs.length === 1) {
          const stated = rhs[0]!.trim();
          if (!/^\d+$/.test(stated) || BigInt(stated) !== truth.target) throw new ExpressionError(`the equation states "= ${stated}", not the target ${truth.target}`);
        }
        const parsed = evaluateExpression(lhs);
        const uses = sameMultiset(parsed.numbers, truth.numbers);
        const equals = parsed.value.den === 1n && parsed.value.num === truth.target;
        const value = formatRational(parsed.value);
        if (!uses) {
          return {
            score: formatScore, valid: true,
            reason: `uses ${parsed.numbers.join(', ')} but must use each of ${truth.numbers.join(', ')} exactly once`,
            metrics: metrics(1, 1, 0, equals ? 1 : 0),
          };
        }
        if (!equals) return { score: numbersScore, valid: true, reason: `${lhs.trim()} = ${value}, not ${truth.target}`, metrics: metrics(1, 1, 1, 0) };
        return { score: 1, valid: true, reason: `${lhs.trim()} = ${truth.target}`, metrics: metrics(1, 1, 1, 1) };
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
        return { score: formatScore, valid: true, reason: `invalid equation: ${e.message}`, metrics: metrics(1, 0, 0, 0) };
      }
    },
  };
}

export function parseCountdown(o: Options): CountdownOptions {
  return { format_score: o.number('format_score', { min: 0, max: 1 }), numbers_score: o.number('numbers_score', { min: 0, max: 1 }) };
}
