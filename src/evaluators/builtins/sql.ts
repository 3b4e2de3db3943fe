/**
 * `sql`: text-to-SQL. Runs the candidate query against the SQLite database read-only, in a child
 * process killed after `timeout_ms`, and compares its result with the gold query's
 * (ground_truth `{"sql": "SELECT ..."}`); see sql-compare.ts for the credit:
 * 0.2 executes + 0.2 right columns + 0.6 right rows (order-insensitive unless the gold query orders).
 * The database comes from the option `database`, else the row's `database` field; relative paths
 * resolve against the current working directory. The query is taken from the last ```sql fence,
 * else `<answer>`, else the whole output.
 * Metrics: `executes`, `columns`, `rows`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { EvaluationResult, Evaluator } from '../../contracts/evaluation.js';
import type { Row } from '../../contracts/row.js';
import { WorkerPool, type PoolOutcome } from '../isolation/pool.js';
import type { SqlResult, SqlTask } from '../isolation/sql-worker.js';
import type { Options } from '../spec/issues.js';
import { lastFenced, lastTagged } from '../text/extract.js';
import { round } from './common.js';
import { compareResults, hasTopLevelOrderBy } from './sql-compare.js';

export interface SqlOptions {
  database?: string;
  timeout_ms?: number;
  max_rows?: number;
  /** Child processes running queries (default 1). */
  workers?: number;
}

const GOLD_CACHE_SIZE = 256;

export function extractSql(output: string): string {
  return (lastFenced(output, ['sql', 'sqlite']) ?? lastTagged(output, 'answer') ?? output).trim();
}

/**
 * The SQL sandbox: child processes that run one read-only SELECT/WITH query against a SQLite file
 * each (see isolation/sql-worker.ts), killed past `timeoutMs`. Shared with the SQL agent's tools.
 */
export function sqlSandbox(o: { size?: number; timeoutMs: number }): WorkerPool<SqlTask, SqlResult> {
  return new WorkerPool<SqlTask, SqlResult>({ kind: 'process', script: new URL('../isolation/sql-worker.js', import.meta.url), size: o.size ?? 1, timeoutMs: o.timeoutMs, memoryMb: 256 });
}

/** What a SQL evaluator scores against: the row's database, its gold query and the gold query's result. */
export type GoldSide = { database: string; goldSql: string; gold: SqlResult };

/**
 * The gold side shared by the SQL evaluators (`sql`, `sql_answer`): the database from the
 * evaluator's option or the row's `database` field, the gold query from ground_truth `{"sql"}`,
 * and its result run in the sandbox, cached per database and query (bounded: a dataset's gold
 * results are reused across its samples, not kept forever; a failed run is not cached). Gives the
 * invalid result to return instead when any of it is missing or fails.
 */
export function goldResolver(type: string, optDatabase: string | undefined, getPool: () => WorkerPool<SqlTask, SqlResult>, maxRows: number) {
  const gold = new Map<string, Promise<PoolOutcome<SqlResult>>>();
  return async (row: Row): Promise<GoldSide | { invalid: EvaluationResult }> => {
    const dbField = optDatabase ?? row.database;
    if (typeof dbField !== 'string' || dbField === '') {
      return { invalid: { score: 0, valid: false, reason: `no database: give {"type": "${type}", "database": PATH} or a "database" field in the row` } };
    }
    const database = resolve(dbField);
    if (!existsSync(database)) return { invalid: { score: 0, valid: false, reason: `database ${database} does not exist` } };
    const goldSql = (row.ground_truth as { sql?: unknown } | undefined)?.sql;
    if (typeof goldSql !== 'string') return { invalid: { score: 0, valid: false, reason: 'ground_truth must be {"sql": "SELECT ..."}' } };
    const key = `${database}\u0000${goldSql}`;
    let g = gold.get(key);
    if (!g) {
      g = getPool().run({ database, sql: goldSql, maxRows });
      gold.set(key, g);
      if (gold.size > GOLD_CACHE_SIZE) gold.delete(gold.keys().next().value!);
    }
    const goldOut = await g;
    if (!goldOut.ok) {
      gold.delete(key);
      return { invalid: { score: 0, valid: false, reason: `the gold query failed: ${goldOut.error}` } };
    }
    return { database, goldSql, gold: goldOut.value };
  };
}

export function sqlEvaluator(opts: SqlOptions = {}): Evaluator & { close(): Promise<void> } {
  const timeoutMs = opts.timeout_ms ?? 5000;
  const maxRows = opts.max_rows ?? 10_000;
  let pool: WorkerPool<SqlTask, SqlResult> | undefined;
  const getPool = () => (pool ??= sqlSandbox({ size: opts.workers ?? 1, timeoutMs }));
  const goldSide = goldResolver('sql', opts.database, getPool, maxRows);
  const metrics = (e: number, c: number, r: number) => ({ executes: { score: e }, columns: { score: round(c) }, rows: { score: round(r) } });

  return {
    name: 'sql',
    evaluate: async ({ row, output }): Promise<EvaluationResult> => {
      const side = await goldSide(row);
      if ('invalid' in side) return side.invalid;
      const { database, goldSql } = side;
      const candidate = extractSql(output);
      if (candidate === '') return { score: 0, valid: true, reason: 'no SQL in the output', metrics: metrics(0, 0, 0) };
      const cand = await getPool().run({ database, sql: candidate, maxRows });
      if (!cand.ok) {
        if (cand.cause === 'closed') return { score: 0, valid: false, reason: cand.error };
        return { score: 0, valid: true, reason: `the query failed: ${cand.error}`, metrics: metrics(0, 0, 0) };
      }
      const cmp = compareResults(side.gold, cand.value, hasTopLevelOrderBy(goldSql));
      return { score: round(cmp.score), valid: true, reason: cmp.reason, metrics: metrics(1, cmp.columns, cmp.rows) };
    },
    close: async () => {
      await pool?.close();
      pool = undefined;
    },
  };
}

export function parseSql(o: Options): SqlOptions {
  return {
    database: o.string('database'),
    timeout_ms: o.number('timeout_ms', { min: 1 }),
    max_rows: o.number('max_rows', { min: 1, integer: true }),
    workers: o.number('workers', { min: 1, max: 64, integer: true }),
  };
}
