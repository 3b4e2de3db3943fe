/**
 * Prompt-style rows (Predibase / TRL) <-> chat rows.
 *
 *   { "prompt": "2+2?", "completion": "4", ...extra }                  standard (text)
 *   { "prompt": [{ "role": "user", "content": "2+2?" }], "completion": [...], ...extra }   TRL conversational
 *     -> { "messages": [{ "role": "user", "content": "2+2?" }, { "role": "assistant", "content": "4" }], ...extra }
 *
 * Rows that already have `messages` pass through unchanged, so converting twice is harmless.
 * Rows with neither (a table of fields, such as the public Countdown-Tasks `{nums, target}`) get
 * their prompt from a template: `{{field}}` is the row's field, strings as they are, other values
 * as JSON; the fields stay on the row for the evaluator.
 */
import type { ChatMessage, Row } from '../contracts/row.js';

/** Where a prompt row's `completion` goes: an assistant message (an SFT row), `ground_truth`, or nowhere. */
export type CompletionTarget = 'assistant' | 'ground-truth' | 'drop';

export interface ConvertOptions {
  completion?: CompletionTarget;
  /** A system message to put first (only when the prompt has none). */
  system?: string;
  /** The prompt of rows that have neither `messages` nor `prompt`, from their fields: `{{field}}`. */
  promptTemplate?: string;
}

const FIELD_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The template with each `{{field}}` replaced by the row's own field (strings as they are, others as JSON). */
export function renderPromptTemplate(template: string, row: Record<string, unknown>): string {
  return template.replace(FIELD_RE, (_, name: string) => {
    if (!Object.hasOwn(row, name)) {
      throw new ConvertError(`--prompt-template refers to {{${name}}}, but the row has no field "${name}" (it has ${Object.keys(row).map((k) => `"${k}"`).join(', ') || 'no fields'})`);
    }
    const v = row[name];
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}

/** A row that cannot be converted; the message says why and what to do. */
export class ConvertError extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function asMessages(v: unknown, field: string, defaultRole: 'user' | 'assistant'): ChatMessage[] {
  if (typeof v === 'string') return [{ role: defaultRole, content: v }];
  if (Array.isArray(v) && v.every((m) => isObject(m) && typeof m.role === 'string')) return (v as ChatMessage[]).slice(); // never mutate the input
  throw new ConvertError(`"${field}" must be a string or an array of chat messages ({ role, content }), got ${Array.isArray(v) ? 'an array of non-messages' : typeof v}`);
}

/** Converts one prompt-style row to a chat row (extra fields kept); chat rows are returned as they are. */
export function convertPromptRow(value: unknown, opts: ConvertOptions = {}): Row {
  if (!isObject(value)) throw new ConvertError('a row must be a JSON object');
  if ('messages' in value) return value as Row;
  if (!('prompt' in value)) {
    if (opts.promptTemplate === undefined) throw new ConvertError('row has neither "messages" nor "prompt": give --prompt-template "... {{field}} ..." to build the prompt from its fields');
    return convertPromptRow({ ...value, prompt: renderPromptTemplate(opts.promptTemplate, value) }, { ...opts, promptTemplate: undefined });
  }
  const { prompt, completion, ...extra } = value;
  const messages = asMessages(prompt, 'prompt', 'user');
  if (opts.system !== undefined && !messages.some((m) => m.role === 'system' || m.role === 'developer')) {
    messages.unshift({ role: 'system', content: opts.system });
  }
  const out: Row = { messages, ...extra };
  if (completion !== undefined && completion !== null) {
    const target = opts.completion ?? 'assistant';
    if (target === 'assistant') {
      messages.push(...asMessages(completion, 'completion', 'assistant'));
    } else if (target === 'ground-truth') {
      if ('ground_truth' in extra) throw new ConvertError('row has both "completion" and "ground_truth": choose --completion assistant or drop');
      const answer = asMessages(completion, 'completion', 'assistant').at(-1)?.content;
      out.ground_truth = answer ?? null;
    }
  }
  return out;
}

/**
 * Converts a chat row back to prompt style: a final assistant message becomes `completion`;
 * the prompt is a plain string when it is a single user message, else the message list
 * (TRL conversational form). Extra fields are kept.
 */
export function toPromptRow(row: Row): Record<string, unknown> {
  const { messages, ...extra } = row;
  if (!Array.isArray(messages) || messages.length === 0) throw new ConvertError('row has no "messages" to convert');
  const last = messages[messages.length - 1]!;
  const hasAnswer = last.role === 'assistant' && messages.length > 1 && typeof last.content === 'string' && !last.tool_calls;
  const prompt = hasAnswer ? messages.slice(0, -1) : messages;
  const simple = prompt.length === 1 && prompt[0]!.role === 'user' && typeof prompt[0]!.content === 'string' && Object.keys(prompt[0]!).length === 2;
  const out: Record<string, unknown> = { prompt: simple ? prompt[0]!.content : prompt };
  if (hasAnswer) out.completion = last.content;
  return { ...out, ...extra };
}
