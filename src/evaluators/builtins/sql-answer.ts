/**
 * `sql_answer`: the sql-agent task's reward. The gold query (ground_truth `{"sql": ...}`) runs
 * read-only in the SQL sandbox against the row's `database`; the answer is the last
 * `<answer>...</answer>` of the final reply, its values separated by ",", ";" or new lines.
 * Credit: 0.9 × F1 between the answer's values and the gold result's cells (as multisets, after
 * normalising: numbers as the task formats them, text case- and space-folded) — partial credit
 * for some of the values, none for padding the answer with guesses — plus 0.1 when a run_sql
 * call of the rollout executed (a tool result that is not an error). Only the final reply and
 * the tool results rft recorded are read, so nothing the model writes can claim a query ran.
 * Metrics: `answer` (the F1), `query_ran`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { EvaluationResult, Evaluator } from '../../contracts/evaluation.js';
import { formatCell } from '../../data/tasks/sql-agent.js';
import type { WorkerPool } from '../isolation/pool.js';
import type { SqlResult, SqlTask } from '../isolation/sql-worker.js';
import type { Options } from '../spec/issues.js';
import { lastTagged } from '../text/extract.js';
import { round } from './common.js';
import { sqlSandbox } from './sql.js';

export interface SqlAnswerOptions {
  database?: string;
  timeout_ms?: number;
  /** Weight of "a query ran" (default 0.1); the answer gets the rest. */
  ran_weight?: number;
}

/** A value as compared: numbers in the task's format, text trimmed, case- and space-folded. */
export function normaliseValue(v: string): string {
  const t = v.trim().replace(/\s+/g, ' ');
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return formatCell(Number(t));
  return t.toLowerCase();
}

/** F1 of two multisets of values. */
export function multisetF1(got: string[], want: string[]): { f1: number; matched: number } {
  if (!got.length || !want.length) return { f1: got.length === want.length ? 1 : 0, matched: 0 };
  const pool = new Map<string, number>();
  for (const w of want) pool.set(w, (pool.get(w) ?? 0) + 1);
  let matched = 0;
  for (const g of got) {
    const n = pool.get(g) ?? 0;
    if (n > 0) {
      matched++;
      pool.set(g, n - 1);
    }
  }
  return { f1: (2 * matched) / (got.length + want.length), matched };
}

export function sqlAnswerEvaluator(opts: SqlAnswerOptions = {}): Evaluator & { close(): Promise<void> } {
  const timeoutMs = opts.timeout_ms ?? 5000;
  const ranWeight = opts.ran_weight ?? 0.1;
  let pool: WorkerPool<SqlTask, SqlResult> | undefined;
  const gold = new Map<string, Promise<string[] | string>>();
  const goldCells = async (database: string, sql: string): Promise<string[] | string> => {
    const key = `${database}\u0000${sql}`;
    let g = gold.get(key);
    if (!g) {
      g = (pool ??= sqlSandbox({ timeoutMs })).run({ database, sql, maxRows: 10_000 }).then((o) => (o.ok ? o.value.rows.flat().map((c) => normaliseValue(formatCell(c))) : `the gold query failed: ${o.error}`));
      gold.set(key, g);
      if (gold.size > 256) gold.delete(gold.keys().next().value!);
    }
    const v = await g;
    if (typeof v === 'string') gold.delete(key);
    return v;
  };
  return {
    name: 'sql_answer',
    evaluate: async ({ row, output, messages }): Promise<EvaluationResult> => {
      const dbField = opts.database ?? row.database;
      if (typeof dbField !== 'string' || !dbField) return { score: 0, valid: false, reason: 'no database: give {"type": "sql_answer", "database": PATH} or a "database" field in the row' };
      const database = resolve(dbField);
      if (!existsSync(database)) return { score: 0, valid: false, reason: `database ${database} does not exist` };
      const goldSql = (row.ground_truth as { sql?: unknown } | undefined)?.sql;
      if (typeof goldSql !== 'string') return { score: 0, valid: false, reason: 'ground_truth must be {"sql": "SELECT ..."}' };
      const want = await goldCells(database, goldSql);
      if (typeof want === 'string') return { score: 0, valid: false, reason: want };
      const ran = messages.some((m) => m.role === 'tool' && m.name === 'run_sql' && typeof m.content === 'string' && !m.content.startsWith('Error:')) ? 1 : 0;
      const answer = lastTagged(output, 'answer');
      const got = answer === undefined ? [] : answer.split(/[;,\n]/).map(normaliseValue).filter((v) => v !== '');
      const { f1, matched } = answer === undefined ? { f1: 0, matched: 0 } : multisetF1(got, want);
      const reason = answer === undefined ? 'no <answer> in the final reply' : `${matched} of ${want.length} values${got.length > matched ? `, ${got.length - matched} not in the result` : ''}`;
      return {
        score: round((1 - ranWeight) * f1 + ranWeight * ran),
        valid: true,
        reason: `${reason}; ${ran ? 'a query ran' : 'no query ran'}`,
        metrics: { answer: { score: round(f1) }, query_ran: { score: ran } },
      };
    },
    close: async () => {
      await pool?.close();
      pool = undefined;
    },
  };
}

export function parseSqlAnswer(o: Options): SqlAnswerOptions {
  return { database: o.string('database'), timeout_ms: o.number('timeout_ms', { min: 1 }), ran_weight: o.number('ran_weight', { min: 0, max: 1 }) };
}
