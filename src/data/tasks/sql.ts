/**
 * Text-to-SQL over the bundled shop database. `setup` writes `shop.sqlite` into the output
 * directory; each row stores the database path (absolute in memory, relative to the dataset file
 * once written: `shop.sqlite`, see data/row-paths.ts) and the gold query, which is executed at
 * generation time and kept only when it returns rows.
 *
 * Row: ground_truth { sql }, extra fields `database` (path), `template`, `level`.
 * Answer format: one SQLite query in a ```sql code block.
 */
import Database from 'better-sqlite3';
import { resolve } from 'node:path';
import type { Rng } from '../random.js';
import { SHOP_SCHEMA, writeShopDatabase } from './shop-db.js';
import { LEVELS, SQL_TEMPLATES, type Level, type SqlTemplate } from './sql-templates.js';
import type { KnobSpec, KnobValues, TaskExample, TaskGenerator } from './types.js';

export const SQL_SYSTEM_PROMPT = 'You write SQLite queries. Answer with exactly one query inside a ```sql code block.';
export const DATABASE_FILE = 'shop.sqlite';

export const sqlKnobs: KnobSpec[] = [
  { name: 'levels', type: 'list', description: `question levels (comma-separated): ${LEVELS.join(', ')} (filters and aggregates / group by and order by / joins and subqueries)`, default: [...LEVELS] },
];

export function selectSqlTemplates(k: KnobValues): SqlTemplate[] {
  const levels = k['levels'] as string[];
  const unknown = levels.filter((l) => !LEVELS.includes(l as Level));
  if (unknown.length > 0 || levels.length === 0) throw new RangeError(`--levels takes ${LEVELS.join(', ')}, got ${levels.join(',') || '(nothing)'}`);
  return SQL_TEMPLATES.filter((t) => levels.includes(t.level));
}

export function sqlPrompt(question: string): string {
  return `Database schema (SQLite):\n${SHOP_SCHEMA}\n\nQuestion: ${question}`;
}

export function makeSqlQuestion(rng: Rng, db: Database.Database, templates: readonly SqlTemplate[], databasePath: string): TaskExample {
  for (let attempt = 0; attempt < 200; attempt++) {
    const t = rng.pick(templates);
    const q = t.make(rng, db);
    const rows = db.prepare(q.sql).raw().all() as unknown[][];
    if (rows.length === 0 || rows.every((r) => r.every((v) => v === null))) continue;
    const prompt = [{ role: 'system' as const, content: SQL_SYSTEM_PROMPT }, { role: 'user' as const, content: sqlPrompt(q.question) }];
    const extra = { database: databasePath, template: t.id, level: t.level };
    return {
      rft: { messages: prompt, ground_truth: { sql: q.sql }, ...extra },
      sft: { messages: [...prompt, { role: 'assistant', content: '```sql\n' + q.sql + '\n```' }], ground_truth: { sql: q.sql }, ...extra },
    };
  }
  throw new RangeError('could not find a SQL question with a non-empty answer in 200 tries');
}

export const sql: TaskGenerator = {
  name: 'sql',
  description: 'natural-language questions over a bundled SQLite shop database (customers, orders, order_items, products) with gold SQL',
  knobs: sqlKnobs,
  async setup(k, rng, ctx) {
    const templates = selectSqlTemplates(k);
    // absolute in memory; generateTask writes it relative to the dataset files (which sit beside it)
    const path = resolve(ctx.outDir, DATABASE_FILE);
    await writeShopDatabase(path, rng.fork());
    const db = new Database(path, { readonly: true, fileMustExist: true });
    return { make: (r) => makeSqlQuestion(r, db, templates, path), files: [path], close: () => db.close() };
  },
};
