/**
 * Dataset statistics, accumulated one row at a time so that a file of any size streams through.
 */
import type { ChatMessage, Row } from '../contracts/row.js';
import { promptMessages, type RowKind } from './schema.js';

export interface Distribution {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface DatasetStats {
  rows: number;
  /** Lines that are not JSON objects with a messages array (not counted in `rows`). */
  skippedLines: number;
  /** Messages per role, over all rows. */
  roles: Record<string, number>;
  /** Messages per row. */
  turns: Distribution;
  /** Characters of prompt content per row (all messages of an RFT row; all but the final answer of an SFT row). */
  promptChars: Distribution;
  /** Rows whose last message is an assistant answer (SFT-style). */
  rowsEndingWithAssistant: number;
  /** Rows in which each top-level field is present. */
  fields: Record<string, number>;
  /** Rows per ground_truth type: string, number, boolean, object, array, null, missing. */
  groundTruthTypes: Record<string, number>;
  /** Rows with a non-empty tools list, and how often each tool name is offered. */
  rowsWithTools: number;
  toolNames: Record<string, number>;
  /** Assistant tool calls in the messages. */
  toolCalls: number;
}

/** Nearest-rank percentiles of a list (sorted in place). */
export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { min: values[0]!, mean: Math.round(mean * 100) / 100, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: values[values.length - 1]! };
}

function typeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function inc(rec: Record<string, number>, key: string, by = 1): void {
  rec[key] = (rec[key] ?? 0) + by;
}

export class StatsAccumulator {
  private readonly turns: number[] = [];
  private readonly promptChars: number[] = [];
  private readonly s = {
    rows: 0,
    skippedLines: 0,
    roles: {} as Record<string, number>,
    rowsEndingWithAssistant: 0,
    fields: {} as Record<string, number>,
    groundTruthTypes: {} as Record<string, number>,
    rowsWithTools: 0,
    toolNames: {} as Record<string, number>,
    toolCalls: 0,
  };

  add(value: unknown): void {
    if (value === null || typeof value !== 'object' || !Array.isArray((value as Row).messages)) {
      this.s.skippedLines++;
      return;
    }
    const row = value as Row;
    const messages = row.messages.filter((m): m is ChatMessage => m !== null && typeof m === 'object');
    this.s.rows++;
    for (const key of Object.keys(row)) inc(this.s.fields, key);
    for (const m of messages) {
      inc(this.s.roles, String(m.role));
      if (Array.isArray(m.tool_calls)) this.s.toolCalls += m.tool_calls.length;
    }
    this.turns.push(messages.length);
    const ends = messages.at(-1)?.role === 'assistant';
    if (ends) this.s.rowsEndingWithAssistant++;
    const kind: RowKind = ends ? 'sft' : 'rft';
    this.promptChars.push(promptMessages(messages, kind).reduce((a, m) => a + (typeof m.content === 'string' ? m.content.length : 0), 0));
    inc(this.s.groundTruthTypes, typeName(row.ground_truth));
    if (Array.isArray(row.tools) && row.tools.length > 0) {
      this.s.rowsWithTools++;
      for (const t of row.tools) inc(this.s.toolNames, String((t as { function?: { name?: unknown } })?.function?.name ?? '(unnamed)'));
    }
  }

  addSkipped(): void {
    this.s.skippedLines++;
  }

  finish(): DatasetStats {
    return { ...this.s, turns: distribution(this.turns), promptChars: distribution(this.promptChars) };
  }
}

export function computeStats(values: Iterable<unknown>): DatasetStats {
  const acc = new StatsAccumulator();
  for (const v of values) acc.add(v);
  return acc.finish();
}
