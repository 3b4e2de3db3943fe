/** Evaluators: the reward side of RFT. See README "## Evaluators". */
export { defineEvaluator, normaliseResult, safeEvaluate, type EvaluatorDefinition } from './define.js';
export { loadEvaluator, type LoadOptions } from './spec/load.js';
export { SpecError, type SpecIssue } from './spec/issues.js';
export { BUILTINS } from './registry.js';
export { weightedEvaluator, type WeightedComponent } from './compose.js';
export { EvaluatorPool, runEvaluations, type EvaluatorPoolOptions, type RunOptions } from './isolation/evaluator-pool.js';
export { countdownEvaluator } from './builtins/countdown.js';
export { formatEvaluator } from './builtins/format.js';
export { stringMatchEvaluator } from './builtins/string-match.js';
export { numericEvaluator } from './builtins/numeric.js';
export { jsonFieldsEvaluator } from './builtins/json-fields.js';
export { sqlEvaluator } from './builtins/sql.js';
export { sqlAnswerEvaluator } from './builtins/sql-answer.js';
export { codeEvaluator } from './builtins/code.js';
export { llmJudgeEvaluator } from './builtins/llm-judge.js';
