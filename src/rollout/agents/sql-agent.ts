/**
 * The built-in SQL agent (`--agent sql-agent`): answers questions about the bundled shop database
 * (src/data/tasks/sql-agent.ts) with three tools, run read-only in the SQL sandbox the `sql`
 * evaluator uses (a child process that opens the file read-only, runs one SELECT/WITH statement
 * SQLite reports as read-only, and is killed after its timeout: src/evaluators/isolation/sql-worker.ts):
 *
 *   list_tables()            → the table names, one per line
 *   describe_table({table})  → "column TYPE" per line
 *   run_sql({sql})           → the column names, then up to 20 rows, cells separated by " | "
 *
 * The database is the row's `database` field (absolute once the dataset is read; see
 * data/row-paths.ts). A mistake of the model (bad SQL, a write, an unknown table, a slow query)
 * is thrown as an Error, which the tool loop returns to the model as the tool message
 * "Error: ..."; a row without a usable database aborts the rollout (AbortRollout: invalid, counted).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Row } from '../../contracts/row.js';
import { SQL_AGENT_TOOLS, formatResult } from '../../data/tasks/sql-agent.js';
import { WorkerPool } from '../../evaluators/isolation/pool.js';
import type { SqlResult, SqlTask } from '../../evaluators/isolation/sql-worker.js';
import { AbortRollout, defineAgent, type AgentTool, type ToolAgent } from '../agent.js';

export interface SqlToolsOptions {
  /** The database for every row (default: each row's `database` field). */
  database?: string;
  /** Per query (default 2000 ms); the worker is killed and the model told. */
  queryTimeoutMs?: number;
  /** Rows a query may return before it is refused (default 1000). */
  maxRows?: number;
  /** Child processes running queries (default 2). */
  workers?: number;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The three tools over one sandbox pool, and `close()` for the pool (idle workers never keep the process alive). */
export function sqlTools(opts: SqlToolsOptions = {}): { tools: AgentTool[]; close(): Promise<void> } {
  const timeoutMs = opts.queryTimeoutMs ?? 2000;
  const maxRows = opts.maxRows ?? 1000;
  let pool: WorkerPool<SqlTask, SqlResult> | undefined;
  const getPool = () =>
    (pool ??= new WorkerPool<SqlTask, SqlResult>({
      kind: 'process',
      script: new URL('../../evaluators/isolation/sql-worker.js', import.meta.url),
      size: opts.workers ?? 2,
      timeoutMs,
      memoryMb: 256,
    }));
  const databaseOf = (row: Row): string => {
    const field = opts.database ?? row.database;
    if (typeof field !== 'string' || field === '') throw new AbortRollout('the row has no "database" field (the path of the SQLite file the tools query)');
    const path = resolve(field);
    if (!existsSync(path)) throw new AbortRollout(`the database ${path} does not exist`);
    return path;
  };
  const query = async (row: Row, sql: string): Promise<SqlResult> => {
    const out = await getPool().run({ database: databaseOf(row), sql, maxRows });
    if (out.ok) return out.value;
    if (out.cause === 'closed') throw new AbortRollout(out.error);
    if (out.cause === 'timeout') throw new Error(`the query took longer than ${timeoutMs} ms`);
    throw new Error(out.error);
  };
  const schema = (name: string) => SQL_AGENT_TOOLS.find((t) => t.function.name === name)!;
  const tools: AgentTool[] = [
    {
      ...schema('list_tables'),
      type: 'function',
      run: async (_args: Record<string, never>, ctx) => {
        const r = await query(ctx.row, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
        return r.rows.map((x) => String(x[0])).join('\n');
      },
    },
    {
      ...schema('describe_table'),
      type: 'function',
      run: async ({ table }: { table: string }, ctx) => {
        const r = await query(ctx.row, `SELECT name, type FROM pragma_table_info(${lit(table)})`);
        if (r.rows.length === 0) {
          const names = await query(ctx.row, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
          throw new Error(`no table "${table}"; the tables are ${names.rows.map((x) => String(x[0])).join(', ')}`);
        }
        return r.rows.map((x) => `${x[0]} ${x[1]}`).join('\n');
      },
    },
    {
      ...schema('run_sql'),
      type: 'function',
      run: async ({ sql }: { sql: string }, ctx) => {
        const r = await query(ctx.row, sql);
        return formatResult(r.columns, r.rows);
      },
    },
  ];
  return {
    tools,
    close: async () => {
      await pool?.close();
      pool = undefined;
    },
  };
}

/** The SQL agent with its own tools (see sqlTools for the options). */
export function makeSqlAgent(opts: SqlToolsOptions = {}): ToolAgent & { close(): Promise<void> } {
  const { tools, close } = sqlTools(opts);
  // One call to run the query and one to answer are all a trace needs; four turns leave room to look around.
  return { ...defineAgent({ tools, maxTurns: 4, maxTokens: 420, toolTimeoutMs: 5000, rolloutTimeoutMs: 60_000 }), close };
}

/** The built-in agent `--agent sql-agent` resolves to. */
export const sqlAgent = makeSqlAgent();
export default sqlAgent;
