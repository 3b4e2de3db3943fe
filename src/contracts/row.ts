/**
 * A dataset row: OpenAI / Fireworks chat JSONL. Extra fields pass through to the evaluator.
 * @example {"messages":[{"role":"user","content":"2+2?"}],"ground_truth":"4"}
 */
export type Role = 'system' | 'user' | 'assistant' | 'tool' | 'developer';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: Role;
  content: string | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface Tool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export interface Row {
  messages: ChatMessage[];
  ground_truth?: unknown;
  tools?: Tool[];
  [extra: string]: unknown;
}
