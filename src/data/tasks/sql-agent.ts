/**
 * The SQL task as an agent task: the same questions over the bundled shop database, answered by
 * calling tools — `list_tables`, `describe_table`, `run_sql` (the built-in agent in
 * src/rollout/agents/sql.ts runs them read-only through the SQL sandbox) — and then answering
 * with the values inside <answer></answer>. The prompt carries no schema: the model looks it up
 * or knows it.
 *
 * SFT rows are teacher traces built from the gold SQL: the question, an assistant turn calling
 * run_sql with the gold query, the tool's result (rendered exactly as the agent's run_sql renders
 * it), and the answer. Both carry `tools` (the schemas), ground_truth { sql }, `database`, `template`, `level`.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { ChatMessage, Tool } from '../../contracts/row.js';
import type { Rng } from '../random.js';
import { writeShopDatabase } from './shop-db.js';
import { DATABASE_FILE, selectSqlTemplates, sqlKnobs } from './sql.js';
import type { SqlTemplate } from './sql-templates.js';
import type { TaskExample, TaskGenerator } from './types.js';

export const SQL_AGENT_SYSTEM_PROMPT =
  'You answer questions about a SQLite shop database. Call run_sql with one SELECT query (list_tables and describe_table show the schema), then give the values of the result inside <answer></answer>.';

/** The tools' schemas, as the model is shown them. */
export const SQL_AGENT_TOOLS: Tool[] = [
  { type: 'function', function: { name: 'list_tables', description: 'the names of the tables', parameters: { type: 'object', properties: {}, additionalProperties: false } } },
  {
    type: 'function',
    function: { name: 'describe_table', description: 'the CREATE TABLE statement of a table', parameters: { type: 'object', properties: { table: { type: 'string' } }, required: ['table'], additionalProperties: false } },
  },
  {
    type: 'function',
    function: { name: 'run_sql', description: 'run one read-only SQLite SELECT query', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'], additionalProperties: false } },
  },
];

/** Rows shown to the model at most; the rest are counted. */
export const RESULT_ROWS_SHOWN = 20;

/** A cell as the model reads and writes it: integers as they are, other numbers rounded to 2 decimals, NULL as "null". */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
  return String(v);
}

/** A query result as run_sql returns it to the model: a header line, then one line per row (cells separated by " | "). */
export function formatQueryResult(columns: string[], rows: unknown[][], shown = RESULT_ROWS_SHOWN): string {
  const lines = [columns.join(' | '), ...rows.slice(0, shown).map((r) => r.map(formatCell).join(' | '))];
  if (rows.length > shown) lines.push(`… ${rows.length - shown} more rows`);
  if (rows.length === 0) lines.push('(no rows)');
  return lines.join('\n');
}

/** The answer the teacher gives for a result: every cell, cells of a row separated by ", ", rows by "; ". */
export function formatAnswer(rows: unknown[][]): string {
  return `<answer>${rows.map((r) => r.map(formatCell).join(', ')).join('; ')}</answer>`;
}

export function makeSqlAgentQuestion(rng: Rng, db: Database.Database, templates: readonly SqlTemplate[], databasePath: string): TaskExample {
  for (let attempt = 0; attempt < 200; attempt++) {
    const t = rng.pick(templates);
    const q = t.make(rng, db);
    const stmt = db.prepare(q.sql).raw(true);
    const columns = stmt.columns().map((c) => c.name);
    const rows = stmt.all() as unknown[][];
    // short answers only: a result the model can read back and state in full
    if (rows.length === 0 || rows.length > 10 || rows.every((r) => r.every((v) => v === null))) continue;
    const prompt: ChatMessage[] = [{ role: 'system', content: SQL_AGENT_SYSTEM_PROMPT }, { role: 'user', content: q.question }];
    const call = { id: 'call_0_0', type: 'function' as const, function: { name: 'run_sql', arguments: JSON.stringify({ query: q.sql }) } };
    const trace: ChatMessage[] = [
      ...prompt,
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, name: 'run_sql', content: formatQueryResult(columns, rows) },
      { role: 'assistant', content: formatAnswer(rows) },
    ];
    // the rows carry the tools, so SFT renders the same system turn (tool list) the agent's rollouts start from
    const extra = { tools: SQL_AGENT_TOOLS, database: databasePath, template: t.id, level: t.level };
    return { rft: { messages: prompt, ground_truth: { sql: q.sql }, ...extra }, sft: { messages: trace, ground_truth: { sql: q.sql }, ...extra } };
  }
  throw new RangeError('could not find a SQL question with a short non-empty answer in 200 tries');
}

export const sqlAgent: TaskGenerator = {
  name: 'sql-agent',
  description: 'the sql questions answered by calling tools (list_tables, describe_table, run_sql) then answering; SFT rows are tool-call traces of the gold query',
  knobs: sqlKnobs,
  async setup(k, rng, ctx) {
    const templates = selectSqlTemplates(k);
    const path = join(ctx.outDir, DATABASE_FILE);
    await writeShopDatabase(path, rng.fork());
    const db = new Database(path, { readonly: true, fileMustExist: true });
    return { make: (r) => makeSqlAgentQuestion(r, db, templates, path), files: [path], close: () => db.close() };
  },
};
