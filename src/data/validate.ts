/**
 * Dataset validation: every problem of every row, each with its line number, plus two checks
 * that span rows (exact duplicates of a prompt, a file with no rows). Streams: memory is one
 * 20-byte hash per row for duplicate detection, never the rows themselves.
 */
import { createHash } from 'node:crypto';
import type { ChatMessage } from '../contracts/row.js';
import { readJsonlRecords, type JsonlRecord } from './jsonl.js';
import { checkRow, promptMessages, type IssueCode, type RowKind } from './schema.js';

/** One problem, located: `line` is 1-based in the file (0 for problems of the whole file). */
export interface RowIssue {
  line: number;
  code: IssueCode;
  path: string;
  message: string;
}

export interface ValidateOptions {
  /** 'rft' (default): rows end with the prompt. 'sft': rows end with the teacher's answer. */
  kind?: RowKind;
  /** Largest allowed line in bytes (UTF-8, without the newline). Default 1 MiB. */
  maxBytes?: number;
  /** Report rows whose prompt messages equal an earlier row's. Default true. */
  duplicates?: boolean;
}

export interface ValidationReport {
  /** Non-blank lines seen. */
  rows: number;
  /** Rows without any problem. */
  validRows: number;
  issues: RowIssue[];
  ok: boolean;
}

export const DEFAULT_MAX_BYTES = 1 << 20;

/** Incremental validator: feed records in file order, then `finish()`. */
export class DatasetValidator {
  private readonly kind: RowKind;
  private readonly maxBytes: number;
  private readonly duplicates: boolean;
  private readonly seen = new Map<string, number>(); // prompt hash -> first line
  private rows = 0;
  private validRows = 0;
  readonly issues: RowIssue[] = [];

  constructor(opts: ValidateOptions = {}) {
    this.kind = opts.kind ?? 'rft';
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.duplicates = opts.duplicates ?? true;
    if (!(Number.isInteger(this.maxBytes) && this.maxBytes > 0)) throw new RangeError(`maxBytes must be a positive integer, got ${opts.maxBytes}`);
  }

  add(rec: JsonlRecord): void {
    this.rows++;
    const before = this.issues.length;
    if (rec.bytes > this.maxBytes) {
      this.issues.push({ line: rec.line, code: 'oversized', path: '(row)', message: `row is ${rec.bytes} bytes, over the limit of ${this.maxBytes} (raise it with --max-bytes)` });
    }
    if (rec.error !== undefined) {
      this.issues.push({ line: rec.line, code: 'bad_json', path: '(row)', message: rec.error });
    } else {
      for (const p of checkRow(rec.value, this.kind)) this.issues.push({ line: rec.line, ...p });
      if (this.duplicates && this.issues.length === before) this.checkDuplicate(rec.line, rec.value as { messages: ChatMessage[] });
    }
    if (this.issues.length === before) this.validRows++;
  }

  private checkDuplicate(line: number, row: { messages: ChatMessage[] }): void {
    const key = createHash('sha1').update(promptKey(promptMessages(row.messages, this.kind))).digest('base64');
    const first = this.seen.get(key);
    if (first === undefined) this.seen.set(key, line);
    else this.issues.push({ line, code: 'duplicate', path: 'messages', message: `same prompt as line ${first}` });
  }

  finish(): ValidationReport {
    if (this.rows === 0) this.issues.push({ line: 0, code: 'no_rows', path: '(file)', message: 'the file has no rows' });
    return { rows: this.rows, validRows: this.validRows, issues: this.issues, ok: this.issues.length === 0 };
  }
}

/** A canonical string for a prompt: the fields that reach the model, in a fixed key order. */
export function promptKey(messages: readonly ChatMessage[]): string {
  return JSON.stringify(messages.map((m) => [m.role, m.content, m.name ?? null, m.tool_calls ?? null, m.tool_call_id ?? null]));
}

/** Validates values already in memory; row i is reported as line i + 1. */
export function validateRows(rows: readonly unknown[], opts: ValidateOptions = {}): ValidationReport {
  const v = new DatasetValidator(opts);
  rows.forEach((value, i) => v.add({ line: i + 1, bytes: Buffer.byteLength(JSON.stringify(value) ?? ''), value }));
  return v.finish();
}

/** Validates a JSONL file, streaming. */
export async function validateFile(path: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const v = new DatasetValidator(opts);
  for await (const rec of readJsonlRecords(path)) v.add(rec);
  return v.finish();
}
