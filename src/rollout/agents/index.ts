/** Built-in agents, by the name `--agent NAME` takes. */
import type { Agent } from '../agent.js';
import { sqlAgent } from './sql.js';

export const BUILTIN_AGENTS: Readonly<Record<string, { describe: string; make: () => Agent }>> = {
  sql: { describe: 'the sql-agent task\'s tools over the row\'s SQLite database: list_tables, describe_table, run_sql (read-only, sandboxed)', make: () => sqlAgent() },
};
