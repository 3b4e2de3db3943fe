/** rft's built-in evaluators by name: each reads its options from a spec object. */
import type { Evaluator } from '../contracts/evaluation.js';
import { codeEvaluator, parseCode } from './builtins/code.js';
import { countdownEvaluator, parseCountdown } from './builtins/countdown.js';
import { formatEvaluator, parseFormat } from './builtins/format.js';
import { jsonFieldsEvaluator, parseJsonFields } from './builtins/json-fields.js';
import { llmJudgeEvaluator, parseLlmJudge } from './builtins/llm-judge.js';
import { numericEvaluator, parseNumeric } from './builtins/numeric.js';
import { parseSql, sqlEvaluator } from './builtins/sql.js';
import { parseSqlAnswer, sqlAnswerEvaluator } from './builtins/sql-answer.js';
import { parseStringMatch, stringMatchEvaluator } from './builtins/string-match.js';
import type { Options } from './spec/issues.js';

export interface BuiltinEntry {
  description: string;
  /**
   * Reads the options, recording issues; returns a builder that the loader calls only when no
   * issue was recorded (so that a bad regex or schema is reported, not thrown).
   */
  create(o: Options): () => Evaluator;
}

function entry<T>(description: string, parse: (o: Options) => T, build: (opts: T) => Evaluator): BuiltinEntry {
  return {
    description,
    create: (o) => {
      const opts = parse(o);
      return () => build(opts);
    },
  };
}

export const BUILTINS: Record<string, BuiltinEntry> = {
  countdown: entry('countdown equation: each number once, equals the target (exact rationals)', parseCountdown, countdownEvaluator),
  format: entry('required tags in order (<think>/<answer> by default) or a regex', parseFormat, formatEvaluator),
  exact: entry('extracted answer equals the ground truth (trimmed)', parseStringMatch, (o) => stringMatchEvaluator('exact', o)),
  normalized: entry('answer equals the ground truth after case/punctuation/space folding', parseStringMatch, (o) => stringMatchEvaluator('normalized', o)),
  string: entry('alias of normalized', parseStringMatch, (o) => stringMatchEvaluator('normalized', o)),
  numeric: entry('numeric answer match (units, commas, percents, fractions, tolerance)', parseNumeric, numericEvaluator),
  'json-fields': entry('JSON extraction: schema + per-field credit', parseJsonFields, jsonFieldsEvaluator),
  sql: entry('text-to-SQL: run read-only on SQLite, compare with the gold query', parseSql, sqlEvaluator),
  sql_answer: entry('SQL agent: the final reply\'s rows vs the gold query\'s result (row + cell F1) + a little for a run_sql call that runs', parseSqlAnswer, sqlAnswerEvaluator),
  code: entry('JavaScript function against test cases in a sandbox', parseCode, codeEvaluator),
  'llm-judge': entry('rubric scored by an OpenAI-compatible model', parseLlmJudge, llmJudgeEvaluator),
};
