/**
 * Comparing a candidate query's result with the gold query's, alias- and column-order-insensitive.
 * Columns are matched by content: a gold column matches an unused candidate column holding the
 * same multiset of values. Rows are compared as a multiset (F1) after projecting the candidate onto
 * the matched columns; when the gold query has a top-level ORDER BY, the order must agree too
 * (right rows in the wrong order score half).
 *
 * score = 0.2 × executes + 0.2 × columns + 0.6 × rows
 */

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

export interface SqlComparison {
  columns: number;
  rows: number;
  score: number;
  reason: string;
}

/** A cell as a comparable key: numbers to 12 significant digits so 0.1+0.2 equals 0.3. */
function cellKey(v: unknown): string {
  if (v === null || v === undefined) return 'n:';
  if (typeof v === 'number') return `d:${Number.isInteger(v) ? v : Number(v.toPrecision(12))}`;
  return `s:${String(v)}`;
}

function column(r: QueryResult, j: number): string[] {
  return r.rows.map((row) => cellKey(row[j])).sort();
}

function multisetF1(a: string[], b: string[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const k of a) counts.set(k, (counts.get(k) ?? 0) + 1);
  let common = 0;
  for (const k of b) {
    const c = counts.get(k) ?? 0;
    if (c > 0) {
      common++;
      counts.set(k, c - 1);
    }
  }
  if (common === 0) return 0;
  const p = common / b.length;
  const r = common / a.length;
  return (2 * p * r) / (p + r);
}

/** True when the query has ORDER BY outside any parentheses (strings and comments skipped). */
export function hasTopLevelOrderBy(sql: string): boolean {
  const stripped = sql
    .replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]/g, ' ')
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  let depth = 0;
  let top = '';
  for (const ch of stripped) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) top += ch;
  }
  return /\border\s+by\b/i.test(top);
}

export function compareResults(gold: QueryResult, cand: QueryResult, ordered: boolean): SqlComparison {
  const g = gold.columns.length;
  const c = cand.columns.length;
  const used = new Set<number>();
  const mapping: (number | undefined)[] = [];
  const candCols = Array.from({ length: c }, (_, j) => column(cand, j).join('\u0001'));
  for (let i = 0; i < g; i++) {
    const gk = column(gold, i).join('\u0001');
    const j = candCols.findIndex((ck, jj) => !used.has(jj) && ck === gk);
    if (j >= 0) used.add(j);
    mapping.push(j >= 0 ? j : undefined);
  }
  const matched = mapping.filter((m) => m !== undefined).length;
  const columns = Math.max(g, c) === 0 ? 1 : matched / Math.max(g, c);
  // Rows of the candidate projected onto the gold column order; unmatched columns never match.
  const goldRows = gold.rows.map((r) => JSON.stringify(r.map(cellKey)));
  const candRows = cand.rows.map((r) => JSON.stringify(mapping.map((j) => (j === undefined ? '\u0002' : cellKey(r[j])))));
  let rows = multisetF1(goldRows, candRows);
  let orderNote = '';
  if (ordered && rows === 1 && goldRows.some((k, i) => k !== candRows[i])) {
    rows = 0.5;
    orderNote = ' (right rows, wrong order)';
  }
  const score = 0.2 + 0.2 * columns + 0.6 * rows;
  const reason =
    columns === 1 && rows === 1
      ? 'same result as the gold query'
      : `columns ${matched}/${Math.max(g, c)} match, rows F1 ${rows.toFixed(2)}${orderNote}; ${cand.rows.length} rows vs ${gold.rows.length} expected`;
  return { columns, rows, score, reason };
}
