/**
 * The built-in SQL agent (`--agent sql`): the tools of the sql-agent task over the row's SQLite
 * `database`, all run read-only through the SQL sandbox (child processes, a time limit per query):
 *   list_tables()            → the table names
 *   describe_table({table})  → its CREATE TABLE statement
 *   run_sql({query})         → the result as the task's SFT traces show it (formatQueryResult)
 * A query that fails (syntax, a write, too slow) answers the model with the error; a row without a
 * usable database, or a sandbox that is gone, aborts the rollout (invalid).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Row } from '../../contracts/row.js';
import { sqlSandbox } from '../../evaluators/builtins/sql.js';
import { formatQueryResult, SQL_AGENT_TOOLS } from '../../data/tasks/sql-agent.js';
import { AbortRollout, type AgentTool, type ToolAgent } from '../agent.js';

export interface SqlAgentOptions {
  /** Per query (default 5 s). */
  queryTimeoutMs?: number;
  /** Rows a query may return before it is refused (default 1000; the model is shown 20). */
  maxRows?: number;
  maxTurns?: number;
  /** Sandbox processes (default 2). */
  workers?: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function sqlAgent(o: SqlAgentOptions = {}): ToolAgent & { close(): Promise<void> } {
  const timeoutMs = o.queryTimeoutMs ?? 5000;
  const maxRows = o.maxRows ?? 1000;
  const pool = sqlSandbox({ size: o.workers ?? 2, timeoutMs });
  const databaseOf = (row: Row): string => {
    if (typeof row.database !== 'string' || !row.database) throw new AbortRollout('the row has no "database" field (the SQLite file the tools query)');
    const path = resolve(row.database);
    if (!existsSync(path)) throw new AbortRollout(`the row's database ${path} does not exist`);
    return path;
  };
  const query = async (row: Row, sql: string) => {
    const out = await pool.run({ database: databaseOf(row), sql, maxRows });
    if (out.ok) return out.value;
    if (out.cause === 'closed' || out.cause === 'crash') throw new AbortRollout(`the SQL sandbox failed: ${out.error}`);
    throw new Error(out.cause === 'timeout' ? `the query took longer than ${timeoutMs} ms` : out.error);
  };
  const schema = (name: string) => SQL_AGENT_TOOLS.find((t) => t.function.name === name)!.function;
  const tools: AgentTool[] = [
    {
      type: 'function',
      function: schema('list_tables'),
      run: async (_args: unknown, ctx) => (await query(ctx.row, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).rows.map((r) => r[0]).join(', '),
    },
    {
      type: 'function',
      function: schema('describe_table'),
      run: async ({ table }: { table: string }, ctx) => {
        if (!IDENT.test(table)) throw new Error(`"${table}" is not a table name`);
        const r = await query(ctx.row, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '${table}'`);
        if (!r.rows.length) {
          const names = (await query(ctx.row, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).rows.map((x) => x[0]);
          throw new Error(`no table named ${table}; the tables are ${names.join(', ')}`);
        }
        return String(r.rows[0][0]);
      },
    },
    {
      type: 'function',
      function: schema('run_sql'),
      run: async ({ query: sql }: { query: string }, ctx) => {
        const r = await query(ctx.row, sql);
        return formatQueryResult(r.columns, r.rows);
      },
    },
  ];
  return { tools, maxTurns: o.maxTurns ?? 4, toolTimeoutMs: timeoutMs + 2000, close: () => pool.close() };
}
