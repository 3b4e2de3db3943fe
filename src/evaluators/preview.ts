/**
 * Scoring given responses against a dataset, for `rft evaluator preview`: line i of the responses
 * file answers dataset row i (a JSON string, or an array of strings for several samples).
 */
import { readFileSync } from 'node:fs';
import type { EvaluationResult, Evaluator, MetricResult, Rollout } from '../contracts/evaluation.js';
import type { ChatMessage, Row } from '../contracts/row.js';
import { runEvaluations, type RunOptions } from './isolation/evaluator-pool.js';
import { parseJsonlText, promptMessages, resolveRowPaths } from '../data/index.js';

export class InputError extends Error {}

/** Non-blank lines of a JSONL file with their 1-based line numbers, each parsed; every bad line is reported. */
export function readJsonLines(path: string, what: string): { line: number; value: unknown }[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read the ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: { line: number; value: unknown }[] = [];
  const problems: string[] = [];
  for (const rec of parseJsonlText(text)) {
    if (rec.error !== undefined) problems.push(`${path}:${rec.line}: ${rec.error}`);
    else out.push({ line: rec.line, value: rec.value });
  }
  if (problems.length) throw new InputError(`${what} file has lines that are not JSON:\n${problems.slice(0, 20).join('\n')}${problems.length > 20 ? `\n… and ${problems.length - 20} more` : ''}`);
  return out;
}

export function readDataset(path: string): Row[] {
  const lines = readJsonLines(path, 'dataset');
  const problems: string[] = [];
  const rows = lines.map(({ line, value }) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) problems.push(`${path}:${line}: a row must be a JSON object`);
    else if (!Array.isArray((value as Row).messages)) problems.push(`${path}:${line}: the row has no "messages" array`);
    return value as Row;
  });
  if (problems.length) throw new InputError(`invalid dataset rows:\n${problems.slice(0, 20).join('\n')}`);
  // a row's relative file paths (the SQL task's database) are relative to the dataset file
  return resolveRowPaths(rows, path);
}

export function readResponses(path: string): string[][] {
  const lines = readJsonLines(path, 'responses');
  const problems: string[] = [];
  const out = lines.map(({ line, value }) => {
    if (typeof value === 'string') return [value];
    if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return value as string[];
    problems.push(`${path}:${line}: expected a JSON string or a non-empty array of strings`);
    return [];
  });
  if (problems.length) throw new InputError(`invalid responses:\n${problems.slice(0, 20).join('\n')}`);
  return out;
}

/** The rollout of one response: the row's prompt (a trailing assistant turn dropped) + the response. */
export function rolloutFor(row: Row, response: string): Rollout {
  const messages: ChatMessage[] = [...promptMessages(row.messages, 'sft'), { role: 'assistant', content: response }];
  return { row, messages, output: response };
}

export interface PreviewResult extends EvaluationResult {
  /** 1-based row number (line i of the responses file answers row i). */
  row: number;
  /** Which response of the row (0-based) when a line holds several. */
  sample: number;
  response: string;
}

export interface PreviewSummary {
  rows: number;
  responses: number;
  valid: number;
  invalid: number;
  /** Over valid results. */
  mean_score: number | null;
  min_score: number | null;
  max_score: number | null;
  /** Valid results that scored 1. */
  perfect: number;
  /** Mean of each metric over the valid results that report it. */
  metrics: Record<string, number>;
  evaluations_per_second: number;
}

export async function previewEvaluations(
  evaluator: Evaluator,
  rows: Row[],
  responses: string[][],
  opts: RunOptions = {},
): Promise<{ results: PreviewResult[]; summary: PreviewSummary }> {
  if (rows.length !== responses.length) {
    throw new InputError(`the dataset has ${rows.length} rows but the responses file has ${responses.length} lines; line i of the responses answers row i`);
  }
  const index: { row: number; sample: number; response: string }[] = [];
  const rollouts: Rollout[] = [];
  rows.forEach((row, i) =>
    responses[i]!.forEach((response, j) => {
      index.push({ row: i + 1, sample: j, response });
      rollouts.push(rolloutFor(row, response));
    }),
  );
  const t0 = performance.now();
  const scored = await runEvaluations(evaluator, rollouts, opts);
  const seconds = (performance.now() - t0) / 1000;
  const results = scored.map((r, k) => ({ ...index[k]!, ...r }));
  return { results, summary: summarize(rows.length, results, seconds) };
}

export function summarize(rows: number, results: PreviewResult[], seconds: number): PreviewSummary {
  const valid = results.filter((r) => r.valid);
  const scores = valid.map((r) => r.score);
  const sums = new Map<string, [number, number]>();
  for (const r of valid) {
    for (const [k, m] of Object.entries(r.metrics ?? {})) {
      const s = sums.get(k) ?? [0, 0];
      sums.set(k, [s[0] + m.score, s[1] + 1]);
    }
  }
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    rows,
    responses: results.length,
    valid: valid.length,
    invalid: results.length - valid.length,
    mean_score: scores.length ? r4(scores.reduce((a, b) => a + b, 0) / scores.length) : null,
    min_score: scores.length ? Math.min(...scores) : null,
    max_score: scores.length ? Math.max(...scores) : null,
    perfect: scores.filter((s) => s === 1).length,
    metrics: Object.fromEntries([...sums].map(([k, [s, n]]) => [k, r4(s / n)])),
    evaluations_per_second: seconds > 0 ? Math.round((results.length / seconds) * 10) / 10 : 0,
  };
}

function cut(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

function metricText(m: Record<string, MetricResult> | undefined): string {
  return Object.entries(m ?? {})
    .map(([k, v]) => `${k}=${Math.round(v.score * 1000) / 1000}`)
    .join(' ');
}

/** A plain-text table (row, sample, score, valid, reason, metrics) and the summary under it. */
export function formatPreview(results: PreviewResult[], summary: PreviewSummary): string {
  const multi = results.some((r) => r.sample > 0);
  const header = ['row', ...(multi ? ['#'] : []), 'score', 'valid', 'reason', 'metrics'];
  const body = results.map((r) => [
    String(r.row),
    ...(multi ? [String(r.sample)] : []),
    r.score.toFixed(3),
    r.valid ? 'yes' : 'NO',
    cut(r.reason ?? '', 60),
    cut(metricText(r.metrics), 80),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  const s = summary;
  out.push('');
  out.push(`${s.responses} responses for ${s.rows} rows: ${s.valid} valid, ${s.invalid} invalid; ${s.perfect} scored 1`);
  out.push(`score: mean ${s.mean_score ?? '-'}  min ${s.min_score ?? '-'}  max ${s.max_score ?? '-'}   (${s.evaluations_per_second} evaluations/s)`);
  const ms = Object.entries(s.metrics);
  if (ms.length) out.push(`metric means: ${ms.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return out.join('\n') + '\n';
}
