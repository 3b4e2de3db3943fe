/**
 * The row schema (zod) and the per-row checks that a schema cannot express (which message may
 * come last, tool results answering earlier tool calls). Every problem is returned as data with
 * a JSON path, zod-style, never thrown: `rft dataset validate` reports them all at once.
 *
 * Row shape (src/contracts/row.ts):
 *   { messages: [{ role, content: string | null, name?, tool_calls?, tool_call_id? }, ...],
 *     ground_truth?: any, tools?: [{ type: "function", function: { name, description?, parameters? } }],
 *     ...extra fields, passed through untouched }
 */
import { z } from 'zod';
import type { ChatMessage, Role } from '../contracts/row.js';

export const ROLES: readonly Role[] = ['system', 'developer', 'user', 'assistant', 'tool'];

/** What a row is for: an RFT row ends with the prompt; an SFT row ends with the teacher's answer. */
export type RowKind = 'rft' | 'sft';

export type IssueCode =
  | 'bad_json'
  | 'not_object'
  | 'missing_messages'
  | 'empty_messages'
  | 'unknown_role'
  | 'bad_content'
  | 'empty_prompt'
  | 'bad_tool_call'
  | 'bad_tool_result'
  | 'bad_tools'
  | 'last_message'
  | 'oversized'
  | 'duplicate'
  | 'no_rows'
  | 'schema';

/** A problem inside one row: `path` is a JSON path into the row such as `messages[2].role`. */
export interface RowProblem {
  code: IssueCode;
  path: string;
  message: string;
}

const toolCallSchema = z.object(
  {
    id: z.string({ error: 'tool call id must be a string' }).min(1, { error: 'tool call id must not be empty' }),
    type: z.literal('function', { error: 'tool call type must be "function"' }),
    function: z.object(
      {
        name: z.string({ error: 'tool call function name must be a string' }).min(1, { error: 'tool call function name must not be empty' }),
        arguments: z.string({ error: 'tool call arguments must be a JSON-encoded string (OpenAI format), not an object' }),
      },
      { error: 'tool call function must be an object { name, arguments }' },
    ),
  },
  { error: 'each tool call must be an object { id, type: "function", function: { name, arguments } }' },
);

const messageSchema = z
  .object(
    {
      role: z.enum(ROLES as [Role, ...Role[]], {
        error: (iss) => `unknown role ${JSON.stringify(iss.input)}: expected one of ${ROLES.join(', ')}`,
      }),
      content: z.union([z.string(), z.null()], {
        error: (iss) =>
          Array.isArray(iss.input)
            ? 'content must be a string (content-part arrays are not supported: join the text parts into one string)'
            : iss.input === undefined
              ? 'content is missing (use a string, or null for an assistant message that only makes tool calls)'
              : `content must be a string or null, got ${typeof iss.input}`,
      }),
      name: z.string({ error: 'name must be a string' }).optional(),
      tool_calls: z.array(toolCallSchema, { error: 'tool_calls must be an array' }).optional(),
      tool_call_id: z.string({ error: 'tool_call_id must be a string' }).optional(),
    },
    { error: 'each message must be an object { role, content }' },
  )
  .loose(); // extra message keys (e.g. "weight") pass through

const toolSchema = z
  .object(
    {
      type: z.literal('function', { error: 'tool type must be "function"' }),
      function: z
        .object(
          {
            name: z.string({ error: 'tool function name must be a string' }).min(1, { error: 'tool function name must not be empty' }),
            description: z.string({ error: 'tool description must be a string' }).optional(),
            parameters: z.record(z.string(), z.unknown(), { error: 'tool parameters must be a JSON Schema object' }).optional(),
          },
          { error: 'tool function must be an object { name, description?, parameters? }' },
        )
        .loose(),
    },
    { error: 'each tool must be an object { type: "function", function: { name, ... } }' },
  )
  .loose();

export const rowSchema = z
  .object({
    messages: z.array(messageSchema, {
      error: (iss) => (iss.input === undefined ? 'missing "messages"' : '"messages" must be an array of chat messages'),
    }),
    tools: z.array(toolSchema, { error: '"tools" must be an array of tool definitions' }).optional(),
  })
  .loose();

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(row)';
}

function codeFor(path: readonly PropertyKey[], input: unknown): IssueCode {
  const keys = path.filter((p) => typeof p === 'string');
  if (path.length === 1 && path[0] === 'messages') return input === undefined ? 'missing_messages' : 'schema';
  if (keys.includes('tool_calls')) return 'bad_tool_call';
  if (keys[0] === 'tools') return 'bad_tools';
  if (keys.at(-1) === 'role') return 'unknown_role';
  if (keys.at(-1) === 'content') return 'bad_content';
  if (keys.at(-1) === 'tool_call_id') return 'bad_tool_result';
  return 'schema';
}

const PROMPT_ROLES: ReadonlySet<Role> = new Set(['user', 'tool']);
const INSTRUCTION_ROLES: ReadonlySet<Role> = new Set(['system', 'developer']);

/**
 * Every problem with one parsed JSONL value as a row of the given kind.
 *
 * Rules beyond the schema:
 *  - `messages` is non-empty;
 *  - content is null only on an assistant message that makes tool calls; only assistants make tool calls;
 *  - tool call arguments are valid JSON; a tool message answers an earlier, still open tool call id;
 *  - RFT rows end with the prompt: the last message is `user` or `tool`; a row made only of
 *    system/developer messages is accepted too (a pure instruction prompt); the last user message
 *    is not blank;
 *  - SFT rows end with the teacher's answer: the last message is `assistant`, preceded by a prompt.
 */
export function checkRow(value: unknown, kind: RowKind = 'rft'): RowProblem[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ code: 'not_object', path: '(row)', message: `a row must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` }];
  }
  const parsed = rowSchema.safeParse(value);
  const problems: RowProblem[] = [];
  if (!parsed.success) {
    for (const iss of parsed.error.issues) {
      const input = getPath(value, iss.path);
      const code = codeFor(iss.path, input);
      const hint = code === 'missing_messages' && 'prompt' in value ? ' (this is a prompt-style row: `rft dataset convert` turns it into a chat row)' : '';
      problems.push({ code, path: formatPath(iss.path), message: iss.message + hint });
    }
  }
  const messages = (value as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) return problems;
  if (messages.length === 0) {
    problems.push({ code: 'empty_messages', path: 'messages', message: '"messages" is empty: a row needs at least one prompt message' });
    return problems;
  }
  problems.push(...checkConversation(messages, kind));
  return problems;
}

function isMessageLike(m: unknown): m is ChatMessage {
  return m !== null && typeof m === 'object' && typeof (m as ChatMessage).role === 'string' && ROLES.includes((m as ChatMessage).role);
}

function checkConversation(messages: unknown[], kind: RowKind): RowProblem[] {
  const problems: RowProblem[] = [];
  const open = new Set<string>(); // tool call ids made and not yet answered
  messages.forEach((m, i) => {
    if (!isMessageLike(m)) return; // the schema already reported it
    const at = `messages[${i}]`;
    const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
    if (m.content === null && !(m.role === 'assistant' && calls.length > 0)) {
      problems.push({ code: 'bad_content', path: `${at}.content`, message: `content is null: only an assistant message that makes tool calls may have null content` });
    }
    if (m.tool_calls !== undefined && m.role !== 'assistant') {
      problems.push({ code: 'bad_tool_call', path: `${at}.tool_calls`, message: `only assistant messages make tool calls, this one is "${m.role}"` });
    }
    calls.forEach((c, j) => {
      const args = (c as { function?: { arguments?: unknown } })?.function?.arguments;
      if (typeof args === 'string') {
        try {
          JSON.parse(args);
        } catch {
          problems.push({ code: 'bad_tool_call', path: `${at}.tool_calls[${j}].function.arguments`, message: `tool call arguments are not valid JSON: ${truncate(args)}` });
        }
      }
      const id = (c as { id?: unknown })?.id;
      if (typeof id === 'string' && id !== '') {
        if (open.has(id)) problems.push({ code: 'bad_tool_call', path: `${at}.tool_calls[${j}].id`, message: `tool call id "${id}" is used twice` });
        open.add(id);
      }
    });
    if (m.role === 'tool') {
      if (typeof m.tool_call_id !== 'string') {
        if (m.tool_call_id === undefined) problems.push({ code: 'bad_tool_result', path: `${at}.tool_call_id`, message: 'a tool message needs "tool_call_id", the id of the assistant tool call it answers' });
      } else if (!open.has(m.tool_call_id)) {
        problems.push({ code: 'bad_tool_result', path: `${at}.tool_call_id`, message: `tool_call_id "${m.tool_call_id}" answers no earlier assistant tool call` });
      } else open.delete(m.tool_call_id);
    }
  });

  const last = messages[messages.length - 1];
  if (!isMessageLike(last)) return problems;
  const lastAt = `messages[${messages.length - 1}]`;
  if (kind === 'rft') {
    const onlyInstructions = messages.every((m) => isMessageLike(m) && INSTRUCTION_ROLES.has(m.role));
    if (!PROMPT_ROLES.has(last.role) && !onlyInstructions) {
      const hint = last.role === 'assistant'
        ? ': an RFT row ends with the prompt the model answers (this looks like an SFT row; `rft dataset from-sft` converts it, or validate it with --sft)'
        : ': an RFT row ends with a user or tool message, the prompt the model answers';
      problems.push({ code: 'last_message', path: `${lastAt}.role`, message: `last message is "${last.role}"${hint}` });
    }
    const lastUser = [...messages].reverse().find((m) => isMessageLike(m) && m.role === 'user') as ChatMessage | undefined;
    if (lastUser && typeof lastUser.content === 'string' && lastUser.content.trim() === '') {
      problems.push({ code: 'empty_prompt', path: `messages[${messages.lastIndexOf(lastUser)}].content`, message: 'the last user message is blank' });
    }
  } else {
    if (last.role !== 'assistant') {
      const hint = last.role === 'user' || last.role === 'tool' ? ' (this looks like an RFT row, a prompt without its answer: SFT needs the teacher\'s answer, e.g. the .sft.jsonl of `rft dataset generate`)' : '';
      problems.push({ code: 'last_message', path: `${lastAt}.role`, message: `last message is "${last.role}": an SFT row ends with the assistant's (teacher's) answer${hint}` });
    } else if (messages.length < 2 || !messages.slice(0, -1).some((m) => isMessageLike(m) && (m.role === 'user' || m.role === 'tool'))) {
      problems.push({ code: 'last_message', path: 'messages', message: 'an SFT row needs a user prompt before the assistant answer' });
    } else if ((typeof last.content !== 'string' || last.content.trim() === '') && !(last.tool_calls && last.tool_calls.length > 0)) {
      problems.push({ code: 'bad_content', path: `${lastAt}.content`, message: 'the final assistant answer is empty' });
    }
  }
  return problems;
}

function getPath(value: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function truncate(s: string, n = 60): string {
  return s.length <= n ? JSON.stringify(s) : `${JSON.stringify(s.slice(0, n))}…`;
}

/** The messages that make up the prompt: all of an RFT row, all but the final answer of an SFT row. */
export function promptMessages(messages: readonly ChatMessage[], kind: RowKind): readonly ChatMessage[] {
  return kind === 'sft' && messages.at(-1)?.role === 'assistant' ? messages.slice(0, -1) : messages;
}
