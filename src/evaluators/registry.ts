/** rft's built-in evaluators by name: each reads its options from a spec object. */
import type { Evaluator } from '../contracts/evaluation.js';
import { codeEvaluator, parseCode } from './builtins/code.js';
import { countdownEvaluator, parseCountdown } from './builtins/countdown.js';
import { formatEvaluator, parseFormat } from './builtins/format.js';
import { jsonFieldsEvaluator, parseJsonFields } from './builtins/json-fields.js';
import { llmJudgeEvaluator, parseLlmJudge } from './builtins/llm-judge.js';
import { numericEvaluator, parseNumeric } from './builtins/numeric.js';
import { parseSql, sqlEvaluator } from './builtins/sql.js';
import { parseStringMatch, stringMatchEvaluator } from './builtins/string-match.js';
import type { Options } from './spec/issues.js';

export interface BuiltinEntry {
  description: string;
  /** Reads the options (recording issues) and builds the evaluator. */
  create(o: Options): Evaluator;
}

export const BUILTINS: Record<string, BuiltinEntry> = {
  countdown: { description: 'countdown equation: each number once, equals the target (exact rationals)', create: (o) => countdownEvaluator(parseCountdown(o)) },
  format: { description: 'required tags in order (<think>/<answer> by default) or a regex', create: (o) => formatEvaluator(parseFormat(o)) },
  exact: { description: 'extracted answer equals the ground truth (trimmed)', create: (o) => stringMatchEvaluator('exact', parseStringMatch(o)) },
  normalized: { description: 'answer equals the ground truth after case/punctuation/space folding', create: (o) => stringMatchEvaluator('normalized', parseStringMatch(o)) },
  string: { description: 'alias of normalized', create: (o) => stringMatchEvaluator('normalized', parseStringMatch(o)) },
  numeric: { description: 'numeric answer match (units, commas, percents, fractions, tolerance)', create: (o) => numericEvaluator(parseNumeric(o)) },
  'json-fields': { description: 'JSON extraction: schema + per-field credit', create: (o) => jsonFieldsEvaluator(parseJsonFields(o)) },
  sql: { description: 'text-to-SQL: run read-only on SQLite, compare with the gold query', create: (o) => sqlEvaluator(parseSql(o)) },
  code: { description: 'JavaScript function against test cases in a sandbox', create: (o) => codeEvaluator(parseCode(o)) },
  'llm-judge': { description: 'rubric scored by an OpenAI-compatible model', create: (o) => llmJudgeEvaluator(parseLlmJudge(o)) },
};
