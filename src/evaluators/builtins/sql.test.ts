import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqlEvaluator } from './sql.js';
import { compareResults, hasTopLevelOrderBy } from './sql-compare.js';
import { rollout } from '../test-helpers.js';

let dir: string;
let dbPath: string;
let ev: ReturnType<typeof sqlEvaluator>;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rft-sql-'));
  dbPath = join(dir, 'shop.sqlite');
  const db = new Database(dbPath);
  db.exec(`
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL);
    INSERT INTO customers VALUES (1, 'Ada', 'Berlin'), (2, 'Bob', 'Paris'), (3, 'Cem', 'Berlin'), (4, 'Dora', 'Rome');
    INSERT INTO orders VALUES (1, 1, 10.5), (2, 1, 20), (3, 2, 7.25), (4, 3, 1);
  `);
  db.close();
  ev = sqlEvaluator({ database: dbPath, timeout_ms: 1500 });
});

after(async () => {
  await ev.close();
  rmSync(dir, { recursive: true, force: true });
});

const gold = (sql: string) => ({ sql });
const run = (output: string, goldSql: string) => ev.evaluate(rollout(output, gold(goldSql)));

test('the same result scores 1, whatever the aliases and column order', async () => {
  const g = 'SELECT c.name, SUM(o.total) AS spent FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id';
  assert.equal((await run(g, g)).score, 1);
  const r = await run('```sql\nSELECT SUM(total) AS t, name AS customer FROM orders JOIN customers ON customers.id = customer_id GROUP BY name;\n```', g);
  assert.equal(r.score, 1, r.reason);
  assert.deepEqual(r.metrics, { executes: { score: 1 }, columns: { score: 1 }, rows: { score: 1 } });
});

test('row order matters only when the gold query orders', async () => {
  assert.equal((await run("SELECT name FROM customers WHERE city = 'Berlin' ORDER BY name DESC", "SELECT name FROM customers WHERE city = 'Berlin'")).score, 1);
  const r = await run("SELECT name FROM customers WHERE city = 'Berlin' ORDER BY name DESC", "SELECT name FROM customers WHERE city = 'Berlin' ORDER BY name");
  assert.equal(r.score, 0.7); // 0.2 + 0.2 + 0.6 × 0.5
  assert.match(r.reason!, /wrong order/);
});

test('partial credit for wrong rows and extra columns', async () => {
  // gold 2 rows (Ada, Cem); candidate 3 rows (Ada, Bob, Cem): columns don't match by content, rows F1 = 0
  const rows = await run('SELECT name FROM customers WHERE id <= 3', "SELECT name FROM customers WHERE city = 'Berlin'");
  assert.equal(rows.metrics!.executes!.score, 1);
  assert.equal(rows.metrics!.columns!.score, 0);
  assert.equal(rows.score, 0.2);
  // extra column: 1 of 2 columns match, rows identical after projection → 0.2 + 0.1 + 0.6
  const extra = await run("SELECT name, city FROM customers WHERE city = 'Berlin'", "SELECT name FROM customers WHERE city = 'Berlin'");
  assert.equal(extra.score, 0.9);
});

test('a query that does not run scores 0 with the error', async () => {
  const r = await run('SELECT nme FROM customers', 'SELECT name FROM customers');
  assert.equal(r.score, 0);
  assert.equal(r.valid, true);
  assert.match(r.reason!, /no such column/);
});

test('writes, ATTACH, PRAGMA and stacked statements are refused and change nothing', async () => {
  const g = 'SELECT COUNT(*) FROM customers';
  for (const bad of [
    'DROP TABLE customers',
    "INSERT INTO customers VALUES (9, 'Eve', 'Oslo')",
    "UPDATE customers SET name = 'x'",
    `ATTACH DATABASE '${join(dir, 'evil.sqlite')}' AS evil`,
    'PRAGMA writable_schema = 1',
    'SELECT 1; DROP TABLE customers',
    'WITH x AS (SELECT 1) DELETE FROM customers',
    '/* comment */ DELETE FROM orders',
  ]) {
    const r = await run(bad, g);
    assert.equal(r.score, 0, bad);
    assert.equal(r.valid, true, bad);
    assert.equal(r.metrics!.executes!.score, 0, bad);
  }
  const db = new Database(dbPath, { readonly: true });
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM customers').get() as { n: number }).n, 4);
  db.close();
});

test('a runaway recursive query is killed at the time limit and the next query still runs', async () => {
  const r = await run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c', 'SELECT COUNT(*) FROM customers');
  assert.equal(r.score, 0);
  assert.match(r.reason!, /timed out/);
  assert.equal((await run('SELECT COUNT(*) FROM customers', 'SELECT COUNT(*) FROM customers')).score, 1);
});

test('a missing database or a failing gold query is an invalid result', async () => {
  const noDb = sqlEvaluator();
  assert.equal((await noDb.evaluate(rollout('SELECT 1', gold('SELECT 1')))).valid, false);
  assert.equal((await noDb.evaluate(rollout('SELECT 1', gold('SELECT 1'), { database: join(dir, 'missing.sqlite') }))).valid, false);
  // the row's database field is used when the options name none
  assert.equal((await noDb.evaluate(rollout('SELECT COUNT(*) FROM orders', gold('SELECT COUNT(*) FROM orders'), { database: dbPath }))).score, 1);
  await noDb.close();
  const badGold = await run('SELECT 1', 'SELECT * FROM nowhere');
  assert.equal(badGold.valid, false);
  assert.match(badGold.reason!, /gold query failed/);
});

test('compareResults and ORDER BY detection on their own', () => {
  assert.ok(hasTopLevelOrderBy('SELECT a FROM t ORDER BY a'));
  assert.ok(!hasTopLevelOrderBy('SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3)'));
  assert.ok(!hasTopLevelOrderBy("SELECT 'order by' FROM t"));
  const g = { columns: ['a'], rows: [[1], [2], [2]] };
  const c = compareResults(g, { columns: ['x'], rows: [[2], [1]] }, false);
  assert.equal(c.columns, 0); // value multisets differ ({1,2,2} vs {1,2})
  assert.equal(compareResults(g, { columns: ['x'], rows: [[2], [2], [1]] }, false).score, 1);
  assert.equal(compareResults({ columns: ['v'], rows: [[0.30000000000000004]] }, { columns: ['w'], rows: [[0.3]] }, false).score, 1);
});
