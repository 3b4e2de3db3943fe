/**
 * Tool calls in model output, parsed into OpenAI `tool_calls` (arguments as a JSON string) — one
 * parser for the server's responses and the agent loop. Two formats, as chat templates write them:
 *
 *   hermes (Qwen, Hermes):  text <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>
 *   llama3_json (Llama 3.1): [<|python_tag|>]{"name": "get_weather", "parameters": {"city": "Paris"}}
 *                            — the whole reply; several calls separated by ";"
 *
 * Text outside hermes blocks is the content. What looks like a call but is not one (a block whose
 * body is not `{name, arguments}` JSON, a Llama reply that does not parse) is reported in
 * `malformed`, so an agent loop can answer it with an error; the server leaves it in the content.
 */
import { randomBytes } from 'node:crypto';
import type { ToolCall } from '../contracts/row.js';

export type { ToolCall };
export type ToolCallFormat = 'hermes' | 'llama3_json';
export const TOOL_CALL_FORMATS: readonly ToolCallFormat[] = ['hermes', 'llama3_json'];

export interface MalformedToolCall {
  /** The text of the attempted call. */
  text: string;
  /** What is wrong with it. */
  error: string;
}

export interface ParsedToolOutput {
  content: string | null;
  toolCalls: ToolCall[];
  malformed: MalformedToolCall[];
}

export interface ToolCallParseOptions {
  /** Only these function names count as calls (others stay content, as unknown to the caller). */
  knownNames?: ReadonlySet<string>;
  /** Formats to recognise (default hermes only, the server's historical behaviour). */
  formats?: readonly ToolCallFormat[];
  /** Id of the i-th call of this output (default `call_` + 24 random hex digits). */
  makeId?: (index: number) => string;
}

const BLOCK = /<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g;
const PYTHON_TAG = '<|python_tag|>';

const randomId = () => `call_${randomBytes(12).toString('hex')}`;

/**
 * Splits output into content and tool calls. The second argument may be the set of known names
 * (the server's form) or the options.
 */
export function parseToolCalls(text: string, opts: ToolCallParseOptions | ReadonlySet<string> = {}): ParsedToolOutput {
  const o: ToolCallParseOptions = opts instanceof Set ? { knownNames: opts } : (opts as ToolCallParseOptions);
  const formats = o.formats ?? ['hermes'];
  let n = 0;
  const id = () => (o.makeId ?? randomId)(n++);
  if (formats.includes('hermes') && text.includes('<tool_call>')) return parseHermes(text, o.knownNames, id);
  if (formats.includes('llama3_json')) {
    const p = parseLlamaJson(text, o.knownNames, id);
    if (p) return p;
  }
  return { content: text, toolCalls: [], malformed: [] };
}

function parseHermes(text: string, knownNames: ReadonlySet<string> | undefined, id: () => string): ParsedToolOutput {
  const toolCalls: ToolCall[] = [];
  const malformed: MalformedToolCall[] = [];
  let content = '';
  let last = 0;
  for (const m of text.matchAll(BLOCK)) {
    const call = parseCall(m[1]!, 'arguments', knownNames);
    if (typeof call === 'string') {
      if (call) malformed.push({ text: m[0], error: call });
      continue;
    }
    content += text.slice(last, m.index);
    last = m.index + m[0].length;
    toolCalls.push({ id: id(), type: 'function', function: call });
  }
  content += text.slice(last);
  const trimmed = content.trim();
  return { content: toolCalls.length && !trimmed ? null : toolCalls.length ? trimmed : text, toolCalls, malformed };
}

/** A Llama 3.1 JSON reply: one or more `{name, parameters}` objects and nothing else; null when the reply is plain text. */
function parseLlamaJson(text: string, knownNames: ReadonlySet<string> | undefined, id: () => string): ParsedToolOutput | null {
  const tagged = text.trimStart().startsWith(PYTHON_TAG);
  const body = (tagged ? text.trimStart().slice(PYTHON_TAG.length) : text).trim();
  if (!body.startsWith('{')) {
    return tagged ? { content: text, toolCalls: [], malformed: [{ text, error: `after ${PYTHON_TAG} expected a JSON object {"name": ..., "parameters": {...}}` }] } : null;
  }
  // A reply that merely contains JSON is content unless it names a function with parameters.
  const looksLikeCall = tagged || (/"name"\s*:/.test(body) && /"(parameters|arguments)"\s*:/.test(body));
  const parts = splitJsonObjects(body);
  if (typeof parts === 'string') return looksLikeCall ? { content: text, toolCalls: [], malformed: [{ text, error: parts }] } : null;
  const calls: ToolCall['function'][] = [];
  for (const part of parts) {
    const call = parseCall(part, 'parameters', knownNames);
    if (typeof call === 'string') {
      if (!looksLikeCall) return null;
      return { content: text, toolCalls: [], malformed: call ? [{ text: part, error: call }] : [] };
    }
    calls.push(call);
  }
  return { content: null, toolCalls: calls.map((f) => ({ id: id(), type: 'function', function: f })), malformed: [] };
}

/**
 * `{name, arguments}` (hermes) or `{name, parameters}` (Llama; `arguments` accepted too) → the
 * call; otherwise the reason (empty string: a known-names filter dropped it, which is no error).
 */
function parseCall(body: string, argsKey: 'arguments' | 'parameters', knownNames?: ReadonlySet<string>): ToolCall['function'] | string {
  let v: unknown;
  try {
    v = JSON.parse(body.trim());
  } catch (e) {
    return `the tool call is not valid JSON (${(e as Error).message})`;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'the tool call must be a JSON object {"name": ..., "' + argsKey + '": {...}}';
  const obj = v as Record<string, unknown>;
  const name = obj.name;
  const args = obj[argsKey] ?? obj.arguments ?? obj.parameters;
  if (typeof name !== 'string' || !name) return 'the tool call has no "name" string';
  if (knownNames && !knownNames.has(name)) return '';
  if (args !== undefined && typeof args !== 'string' && (typeof args !== 'object' || args === null || Array.isArray(args))) {
    return `the "${argsKey}" of ${name} must be a JSON object`;
  }
  return { name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) };
}

/** Top-level JSON objects separated by whitespace or ";", as text; or what is wrong. */
function splitJsonObjects(s: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ';' || /\s/.test(s[i]!))) i++;
    if (i >= s.length) break;
    if (s[i] !== '{') return `unexpected ${JSON.stringify(s.slice(i, i + 20))} between tool calls (expected {"name": ..., "parameters": {...}})`;
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < s.length; j++) {
      const ch = s[j];
      if (inString) {
        if (ch === '\\') j++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) break;
    }
    if (depth !== 0 || j >= s.length) return 'the tool call JSON is not closed';
    out.push(s.slice(i, j + 1));
    i = j + 1;
  }
  return out;
}
