/**
 * Child process that runs SQL read-only against SQLite files (forked by WorkerPool; killed on
 * timeout, which is the only reliable way to stop a runaway query such as an endless
 * `WITH RECURSIVE`). Task `{ database, sql, maxRows }` → `{ columns: string[], rows: unknown[][] }`.
 * Defences: the file is opened read-only; only one SELECT/WITH statement that SQLite itself
 * reports as read-only and returning rows is run; at most `maxRows` rows are read.
 */
import Database from 'better-sqlite3';
import { serve } from './worker-protocol.js';

export interface SqlTask {
  database: string;
  sql: string;
  maxRows: number;
}

export interface SqlResult {
  columns: string[];
  rows: unknown[][];
}

const open = new Map<string, Database.Database>();

function db(path: string): Database.Database {
  let d = open.get(path);
  if (!d) {
    d = new Database(path, { readonly: true, fileMustExist: true });
    open.set(path, d);
  }
  return d;
}

/** The statement's first keyword, after comments and opening parentheses. */
export function firstKeyword(sql: string): string {
  const s = sql.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/, '');
  return (/^[A-Za-z]+/.exec(s)?.[0] ?? '').toUpperCase();
}

serve((task: SqlTask): SqlResult => {
  const sql = task.sql.trim().replace(/;\s*$/, '');
  const kw = firstKeyword(sql);
  if (kw !== 'SELECT' && kw !== 'WITH') throw new Error(`only SELECT / WITH queries are allowed, got ${kw || 'no statement'}`);
  const stmt = db(task.database).prepare(sql); // throws on more than one statement
  if (!stmt.readonly) throw new Error('the statement would write to the database');
  if (!stmt.reader) throw new Error('the statement returns no rows');
  stmt.raw(true);
  const columns = stmt.columns().map((c) => c.name);
  const rows: unknown[][] = [];
  for (const r of stmt.iterate() as Iterable<unknown[]>) {
    if (rows.length >= task.maxRows) throw new Error(`the query returns more than ${task.maxRows} rows`);
    rows.push(r.map((v) => (v instanceof Uint8Array ? `x'${Buffer.from(v).toString('hex')}'` : typeof v === 'bigint' ? v.toString() : v)));
  }
  return { columns, rows };
});
