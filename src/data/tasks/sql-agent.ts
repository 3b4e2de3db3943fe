/**
 * The SQL agent task: the `sql` task's questions over the bundled shop database, answered by an
 * agent that calls tools (`list_tables`, `describe_table`, `run_sql`; src/rollout/agents/sql-agent.ts
 * runs them read-only in the SQL sandbox) and then replies with the result rows. The prompt carries
 * no schema: the tools are how the model finds it.
 *
 * Row: messages [user question] (the template's tool header is the instruction), `tools` (the three schemas, so the chat template lists
 * them for SFT rows, in-process rollouts and remote agents alike), ground_truth { sql }, extra
 * fields `database` (path), `template`, `level`.
 * SFT row: the teacher trace built from the gold SQL, in the shape the chat template renders and
 * the tool-call parser reads back:
 *   assistant  tool_calls [run_sql({"sql": GOLD})]
 *   tool       the gold result as run_sql formats it (formatResult)
 *   assistant  the answer: the result rows (formatAnswer)
 * Only questions whose gold result is small (≤ max-rows rows, short text) are kept, so a trace fits
 * a small character-level model's context.
 */
import Database from 'better-sqlite3';
import { resolve } from 'node:path';
import type { Row, Tool } from '../../contracts/row.js';
import type { Rng } from '../random.js';
import { writeShopDatabase } from './shop-db.js';
import { DATABASE_FILE, selectSqlTemplates, sqlKnobs } from './sql.js';
import type { SqlTemplate } from './sql-templates.js';
import type { KnobSpec, TaskExample, TaskGenerator } from './types.js';

/**
 * The tools' schemas as the model sees them (their implementations: src/rollout/agents/sql-agent.ts).
 * Terse on purpose: the chat template lists them in every prompt, and for the small character-level
 * models of the quickstart the prompt's length is most of the cost (attention is quadratic in it).
 */
export const SQL_AGENT_TOOLS: Tool[] = [
  { type: 'function', function: { name: 'list_tables', parameters: { type: 'object', properties: {} } } },
  { type: 'function', function: { name: 'describe_table', parameters: { type: 'object', properties: { table: { type: 'string' } }, required: ['table'] } } },
  { type: 'function', function: { name: 'run_sql', description: 'read-only SQLite', parameters: { type: 'object', properties: { sql: { type: 'string' } }, required: ['sql'] } } },
];

/** Rows run_sql shows at most (the rest is summarised). */
export const SHOWN_ROWS = 20;
/** Separator of the cells of a row in tool results and answers. */
export const CELL_SEPARATOR = ' | ';

/** One cell as text: NULL, numbers to 12 significant digits (so 0.1 + 0.2 prints as 0.3), strings as they are. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return String(Number.isInteger(v) ? v : Number(v.toPrecision(12)));
  return String(v);
}

const rowText = (r: unknown[]): string => r.map(cellText).join(CELL_SEPARATOR);

/** run_sql's result text: the column names, then up to SHOWN_ROWS rows, one per line. */
export function formatResult(columns: string[], rows: unknown[][]): string {
  if (rows.length === 0) return `${columns.join(CELL_SEPARATOR)}\n(no rows)`;
  const shown = rows.slice(0, SHOWN_ROWS).map(rowText);
  const more = rows.length > SHOWN_ROWS ? [`(${rows.length} rows, first ${SHOWN_ROWS} shown)`] : [];
  return [columns.join(CELL_SEPARATOR), ...shown, ...more].join('\n');
}

/** The answer to a question: its result rows, one per line, cells separated by " | ". */
export function formatAnswer(rows: unknown[][]): string {
  return rows.map(rowText).join('\n');
}

export const sqlAgentKnobs: KnobSpec[] = [
  { ...sqlKnobs[0]!, default: ['easy'] },
  { name: 'templates', type: 'list', description: 'question templates to draw from (comma-separated ids, see sql-templates.ts; default: all of the chosen levels)', default: [] },
  { name: 'max-rows', type: 'int', description: 'keep questions whose answer has at most this many rows', default: 4 },
  { name: 'max-answer-chars', type: 'int', description: 'keep questions whose answer is at most this long', default: 120 },
];

export interface SqlAgentLimits {
  maxRows: number;
  maxAnswerChars: number;
}

/**
 * Tool-call arguments in the layout chat templates' `tojson` gives them (`{"sql": "..."}`, a space after
 * ":"), which is how a server (the rollout gateway) re-renders a call it returned: a model that learned
 * this layout samples exactly the tokens the next request's prompt starts with, so a remote agent's
 * turns stay one token-in/token-out segment.
 */
export function sqlArguments(sql: string): string {
  return `{"sql": ${JSON.stringify(sql)}}`;
}

/** The teacher trace of a question: run_sql(gold) → its result → the answer. */
export function teacherTrace(prompt: Row['messages'], sql: string, columns: string[], rows: unknown[][]): Row['messages'] {
  return [
    ...prompt,
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_0_0', type: 'function', function: { name: 'run_sql', arguments: sqlArguments(sql) } }] },
    { role: 'tool', tool_call_id: 'call_0_0', name: 'run_sql', content: formatResult(columns, rows) },
    { role: 'assistant', content: formatAnswer(rows) },
  ];
}

export function makeSqlAgentQuestion(rng: Rng, db: Database.Database, templates: readonly SqlTemplate[], databasePath: string, limits: SqlAgentLimits): TaskExample {
  // A template is drawn first and retried, so templates whose answers are often too long are not crowded out.
  let t = rng.pick(templates);
  for (let attempt = 0; attempt < 500; attempt++) {
    if (attempt > 0 && attempt % 25 === 0) t = rng.pick(templates);
    const q = t.make(rng, db);
    const stmt = db.prepare(q.sql).raw(true);
    const columns = stmt.columns().map((c) => c.name);
    const rows = stmt.all() as unknown[][];
    if (rows.length === 0 || rows.every((r) => r.every((v) => v === null))) continue;
    if (rows.length > limits.maxRows || formatAnswer(rows).length > limits.maxAnswerChars) continue;
    const prompt: Row['messages'] = [{ role: 'user', content: q.question }];
    const extra = { tools: SQL_AGENT_TOOLS, ground_truth: { sql: q.sql }, database: databasePath, template: t.id, level: t.level };
    return { rft: { messages: prompt, ...extra }, sft: { messages: teacherTrace(prompt, q.sql, columns, rows), ...extra } };
  }
  throw new RangeError('could not find a SQL question with a small non-empty answer in 500 tries: raise --max-rows or --max-answer-chars, or widen --levels');
}

export const sqlAgent: TaskGenerator = {
  name: 'sql-agent',
  description: 'shop-database questions for a tool-using agent (list_tables, describe_table, run_sql); SFT rows are tool-call traces of the gold SQL',
  knobs: sqlAgentKnobs,
  async setup(k, rng, ctx) {
    let templates = selectSqlTemplates(k);
    const ids = k['templates'] as string[];
    if (ids.length) {
      const unknown = ids.filter((id) => !templates.some((t) => t.id === id));
      if (unknown.length) throw new RangeError(`--templates: ${unknown.join(', ')} not among the templates of the chosen levels (${templates.map((t) => t.id).join(', ')})`);
      templates = templates.filter((t) => ids.includes(t.id));
    }
    const limits = { maxRows: k['max-rows'] as number, maxAnswerChars: k['max-answer-chars'] as number };
    if (!(limits.maxRows >= 1)) throw new RangeError(`--max-rows must be at least 1, got ${limits.maxRows}`);
    if (!(limits.maxAnswerChars >= 1)) throw new RangeError(`--max-answer-chars must be at least 1, got ${limits.maxAnswerChars}`);
    const path = resolve(ctx.outDir, DATABASE_FILE);
    await writeShopDatabase(path, rng.fork());
    const db = new Database(path, { readonly: true, fileMustExist: true });
    return { make: (r) => makeSqlAgentQuestion(r, db, templates, path, limits), files: [path], close: () => db.close() };
  },
};
