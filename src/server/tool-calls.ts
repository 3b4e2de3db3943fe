/**
 * Tool calls in model output, in the format of Qwen / Hermes chat templates:
 *   <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>
 * parsed into OpenAI `tool_calls` (arguments as a JSON string). Text outside the blocks is the content.
 */
import { randomBytes } from 'node:crypto';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ParsedToolOutput {
  content: string | null;
  toolCalls: ToolCall[];
}

const BLOCK = /<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g;

/** Splits output into content and tool calls; a block that is not `{name, arguments}` JSON stays in the content. */
export function parseToolCalls(text: string, knownNames?: ReadonlySet<string>): ParsedToolOutput {
  const toolCalls: ToolCall[] = [];
  let content = '';
  let last = 0;
  for (const m of text.matchAll(BLOCK)) {
    const call = parseCall(m[1]!, knownNames);
    if (!call) continue;
    content += text.slice(last, m.index);
    last = m.index + m[0].length;
    toolCalls.push(call);
  }
  content += text.slice(last);
  const trimmed = content.trim();
  return { content: toolCalls.length && !trimmed ? null : toolCalls.length ? trimmed : text, toolCalls };
}

function parseCall(body: string, knownNames?: ReadonlySet<string>): ToolCall | null {
  let v: unknown;
  try {
    v = JSON.parse(body.trim());
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const { name, arguments: args } = v as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string' || !name) return null;
  if (knownNames && !knownNames.has(name)) return null;
  const argText = typeof args === 'string' ? args : JSON.stringify(args ?? {});
  return { id: `call_${randomBytes(12).toString('hex')}`, type: 'function', function: { name, arguments: argText } };
}
