/**
 * `sql_answer`: the reward of the SQL agent task (src/data/tasks/sql-agent.ts). The agent's final
 * reply is its answer — the result rows, one per line, cells separated by " | " — and is compared
 * with what the gold query (ground_truth `{"sql": ...}`) returns, run by this evaluator in the
 * read-only SQL sandbox (the `sql` evaluator's child process; the row's `database` field or the
 * `database` option):
 *
 *   score = query_weight × ran + (1 − query_weight) × answer        (query_weight default 0.1)
 *   answer = ½ row F1 + ½ cell F1
 *
 * Row F1 compares the answer's lines with the gold rows as multisets (order-insensitive), cell F1
 * all their cells, so a half-right answer gets half credit; cells compare as numbers when both
 * parse as numbers (to 9 significant digits), else as trimmed, case-insensitive text.
 * `ran` is 1 when a `run_sql` call the model made executes without error — the evaluator re-runs
 * the calls' SQL from the assistant messages' `tool_calls` itself and does not read the tool
 * results, so nothing in the conversation (the model's text, a tool message) can vouch for a query.
 * Model output is hostile: an answer of more than max_lines lines (default 200) scores 0.
 * Metrics: `answer`, `rows`, `cells`, `ran`.
 */
import type { ChatMessage } from '../../contracts/row.js';
import type { EvaluationResult, Evaluator } from '../../contracts/evaluation.js';
import { CELL_SEPARATOR, cellText } from '../../data/tasks/sql-agent.js';
import type { WorkerPool } from '../isolation/pool.js';
import type { SqlResult, SqlTask } from '../isolation/sql-worker.js';
import type { Options } from '../spec/issues.js';
import { round } from './common.js';
import { goldResolver, sqlSandbox } from './sql.js';

export interface SqlAnswerOptions {
  database?: string;
  /** Weight of "a run_sql call executed" (default 0.1); the answer gets the rest. */
  query_weight?: number;
  timeout_ms?: number;
  max_lines?: number;
  /** The tool whose calls count as queries (default run_sql). */
  tool?: string;
  workers?: number;
}

/** Queries re-run per rollout at most (the last ones made). */
const MAX_REPLAYED = 4;

/** A cell as a comparable key. */
export function cellKey(text: string): string {
  const t = text.trim();
  const n = t === '' ? NaN : Number(t);
  return Number.isFinite(n) ? `n:${Number(n.toPrecision(9))}` : `s:${t.toLowerCase()}`;
}

/** Multiset F1 of two lists of keys (1 when both are empty). */
export function multisetF1(gold: string[], cand: string[]): number {
  if (gold.length === 0 && cand.length === 0) return 1;
  if (gold.length === 0 || cand.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const k of gold) counts.set(k, (counts.get(k) ?? 0) + 1);
  let common = 0;
  for (const k of cand) {
    const c = counts.get(k) ?? 0;
    if (c > 0) {
      common++;
      counts.set(k, c - 1);
    }
  }
  if (common === 0) return 0;
  const p = common / cand.length;
  const r = common / gold.length;
  return (2 * p * r) / (p + r);
}

/** The answer's rows: non-empty lines split on "|", each cell a key. */
export function answerRows(answer: string): string[][] {
  return answer
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.split(CELL_SEPARATOR.trim()).map(cellKey));
}

/** Answer credit of an answer against the gold rows: ½ row F1 + ½ cell F1. */
export function answerCredit(goldRows: unknown[][], answer: string): { answer: number; rows: number; cells: number } {
  const gold = goldRows.map((r) => r.map((v) => cellKey(cellText(v))));
  const cand = answerRows(answer);
  const rows = multisetF1(gold.map((r) => JSON.stringify(r)), cand.map((r) => JSON.stringify(r)));
  const cells = multisetF1(gold.flat(), cand.flat());
  return { answer: (rows + cells) / 2, rows, cells };
}

/** The SQL of the model's calls to `tool`, last ones first (arguments that are not {"sql": string} are skipped). */
export function calledQueries(messages: readonly ChatMessage[], tool = 'run_sql'): string[] {
  const out: string[] = [];
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const c of m.tool_calls ?? []) {
      if (c?.function?.name !== tool) continue;
      try {
        const a = JSON.parse(c.function.arguments) as { sql?: unknown };
        if (a && typeof a.sql === 'string' && a.sql.trim() !== '') out.push(a.sql);
      } catch {
        // malformed arguments are not a query that ran
      }
    }
  }
  return out.reverse();
}

export function sqlAnswerEvaluator(opts: SqlAnswerOptions = {}): Evaluator & { close(): Promise<void> } {
  const wq = opts.query_weight ?? 0.1;
  const maxLines = opts.max_lines ?? 200;
  const tool = opts.tool ?? 'run_sql';
  let pool: WorkerPool<SqlTask, SqlResult> | undefined;
  const getPool = () => (pool ??= sqlSandbox({ size: opts.workers ?? 1, timeoutMs: opts.timeout_ms ?? 5000 }));
  const goldSide = goldResolver('sql_answer', opts.database, getPool, 10_000);

  return {
    name: 'sql_answer',
    evaluate: async ({ row, messages, output }): Promise<EvaluationResult> => {
      const side = await goldSide(row);
      if ('invalid' in side) return side.invalid;
      const { database, gold } = side;
      let ran = 0;
      let ranNote = 'no run_sql call';
      for (const sql of calledQueries(messages ?? [], tool).slice(0, MAX_REPLAYED)) {
        const r = await getPool().run({ database, sql, maxRows: 10_000 });
        if (r.ok) {
          ran = 1;
          ranNote = 'a query ran';
          break;
        }
        if (r.cause === 'closed') return { score: 0, valid: false, reason: r.error };
        ranNote = `the query failed: ${r.error}`;
      }
      const lines = output.split('\n').filter((l) => l.trim() !== '').length;
      const credit = lines > maxLines ? { answer: 0, rows: 0, cells: 0 } : answerCredit(gold.rows, output);
      const score = round(wq * ran + (1 - wq) * credit.answer);
      const what = lines > maxLines ? `the answer has ${lines} lines (more than ${maxLines})` : credit.answer === 1 ? 'the right answer' : `rows F1 ${credit.rows.toFixed(2)}, cells F1 ${credit.cells.toFixed(2)} (${lines} lines vs ${gold.rows.length} rows expected)`;
      return {
        score,
        valid: true,
        reason: `${what}; ${ranNote}`,
        metrics: { answer: { score: round(credit.answer) }, rows: { score: round(credit.rows) }, cells: { score: round(credit.cells) }, ran: { score: ran } },
      };
    },
    close: async () => {
      await pool?.close();
      pool = undefined;
    },
  };
}

export function parseSqlAnswer(o: Options): SqlAnswerOptions {
  return {
    database: o.string('database'),
    query_weight: o.number('query_weight', { min: 0, max: 1 }),
    timeout_ms: o.number('timeout_ms', { min: 1 }),
    max_lines: o.number('max_lines', { min: 1, integer: true }),
    tool: o.string('tool'),
    workers: o.number('workers', { min: 1, max: 64, integer: true }),
  };
}
