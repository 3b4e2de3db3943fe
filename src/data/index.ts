/**
 * Datasets: the row schema and its validation, JSONL I/O, conversions (prompt-style rows,
 * SFT -> RFT), splits and statistics, and the built-in task generators.
 */
export { readJsonl, readJsonlRecords, parseJsonlText, writeJsonl, toJsonlLine, JsonlError, type JsonlRecord } from './jsonl.js';
export { checkRow, rowSchema, promptMessages, ROLES, type RowKind, type RowProblem, type IssueCode } from './schema.js';
export { validateRows, validateFile, DatasetValidator, promptKey, DEFAULT_MAX_BYTES, type RowIssue, type ValidateOptions, type ValidationReport } from './validate.js';
export { convertPromptRow, toPromptRow, ConvertError, type ConvertOptions, type CompletionTarget } from './convert.js';
export { fromSft, fromSftRow, answerPatterns, extractAnswer, DEFAULT_ANSWER_TAGS, type FromSftOptions, type FromSftReport, type SkipReason } from './sft.js';
export { splitRows, evalCount, fieldValue, type SplitOptions, type SplitResult } from './split.js';
export { computeStats, StatsAccumulator, distribution, type DatasetStats, type Distribution } from './stats.js';
export { Rng } from './random.js';
export { Rational } from './rational.js';
export { TASKS, getTask, resolveKnobs, generateTask, generateExamples, type GenerateOptions, type GenerateReport, type TaskGenerator, type TaskExample, type KnobSpec, type KnobValues } from './tasks/index.js';
export { SHOP_SCHEMA } from './tasks/shop-db.js';
export { parseJsonText, lineColumn, JsonTextError } from './json-text.js';
export { ROW_PATH_FIELDS, resolveRowPaths, rowPathsFor, rebaseRowPaths } from './row-paths.js';
