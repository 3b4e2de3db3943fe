/**
 * SFT -> RFT: keep the prompt turns of a teacher-annotated row, drop the teacher's final
 * answer, and move the answer it states (e.g. inside [RESULT]…[/RESULT]) into `ground_truth`.
 */
import type { ChatMessage, Row } from '../contracts/row.js';

export interface FromSftOptions {
  /** Tag name: matches `[TAG]…[/TAG]` and `<TAG>…</TAG>`, case-insensitive. */
  answerTag?: string;
  /** A regex; the answer is its first capture group (or the whole match). Mutually exclusive with answerTag. */
  answerRegex?: string | RegExp;
  /** Stop after this many RFT rows. */
  max?: number;
  /**
   * Rows that already carry a ground_truth keep it (the answer must still be present, so rows
   * without one are skipped): for tasks whose reference is not the answer text itself, e.g.
   * countdown's {numbers, target}.
   */
  keepGroundTruth?: boolean;
}

export type SkipReason = 'not_a_row' | 'no_final_assistant' | 'no_answer' | 'empty_answer' | 'no_prompt';

export type FromSftResult = { row: Row; skip?: undefined } | { row?: undefined; skip: SkipReason };

/** Tags tried, in order, when neither answerTag nor answerRegex is given. */
export const DEFAULT_ANSWER_TAGS = ['RESULT', 'answer'] as const;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The regexes (global) that find the answer; the last match in the text wins (the final answer). */
export function answerPatterns(opts: FromSftOptions): RegExp[] {
  if (opts.answerTag !== undefined && opts.answerRegex !== undefined) throw new RangeError('give answerTag or answerRegex, not both');
  if (opts.answerRegex !== undefined) {
    const re = typeof opts.answerRegex === 'string' ? new RegExp(opts.answerRegex, 'gs') : opts.answerRegex;
    return [re.global ? re : new RegExp(re.source, re.flags + 'g')];
  }
  const tags = opts.answerTag !== undefined ? [opts.answerTag] : DEFAULT_ANSWER_TAGS;
  return tags.map((t) => {
    if (!/^[\w.-]+$/.test(t)) throw new RangeError(`answer tag must be a word like RESULT or answer, got ${JSON.stringify(t)}`);
    const e = escapeRegex(t);
    return new RegExp(`\\[${e}\\]([\\s\\S]*?)\\[/${e}\\]|<${e}>([\\s\\S]*?)</${e}>`, 'gi');
  });
}

/** The last answer any pattern finds in text (first pattern that matches at all wins), or undefined. */
export function extractAnswer(text: string, patterns: readonly RegExp[]): string | undefined {
  for (const re of patterns) {
    let last: RegExpExecArray | undefined;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      last = m;
      if (m[0] === '') re.lastIndex++; // an empty match would loop forever
    }
    if (last) return last.slice(1).find((g) => g !== undefined) ?? last[0];
  }
  return undefined;
}

/** Converts one SFT row, or says why it was skipped. */
export function fromSftRow(value: unknown, patterns: readonly RegExp[], opts: { keepGroundTruth?: boolean } = {}): FromSftResult {
  if (value === null || typeof value !== 'object' || !Array.isArray((value as Row).messages)) return { skip: 'not_a_row' };
  const { messages, ...extra } = value as Row;
  const last = messages[messages.length - 1] as ChatMessage | undefined;
  if (!last || last.role !== 'assistant' || typeof last.content !== 'string') return { skip: 'no_final_assistant' };
  const prompt = messages.slice(0, -1);
  if (!prompt.some((m) => m.role === 'user' || m.role === 'tool')) return { skip: 'no_prompt' };
  const answer = extractAnswer(last.content, patterns);
  if (answer === undefined) return { skip: 'no_answer' };
  if (answer.trim() === '') return { skip: 'empty_answer' };
  const keep = opts.keepGroundTruth && extra.ground_truth !== undefined;
  return { row: { messages: prompt, ...extra, ground_truth: keep ? extra.ground_truth : answer.trim() } };
}

export interface FromSftReport {
  rows: Row[];
  read: number;
  written: number;
  skipped: Partial<Record<SkipReason, number>>;
}

/** Converts SFT rows (in memory) to RFT rows, counting the rows skipped by reason. */
export function fromSft(values: Iterable<unknown>, opts: FromSftOptions = {}): FromSftReport {
  const patterns = answerPatterns(opts);
  const report: FromSftReport = { rows: [], read: 0, written: 0, skipped: {} };
  for (const v of values) {
    if (opts.max !== undefined && report.written >= opts.max) break;
    report.read++;
    const r = fromSftRow(v, patterns, opts);
    if (r.row) {
      report.rows.push(r.row);
      report.written++;
    } else report.skipped[r.skip] = (report.skipped[r.skip] ?? 0) + 1;
  }
  return report;
}
