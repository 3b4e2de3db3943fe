/** OpenAI response and stream-chunk objects built from scheduler results. */
import type { ChoiceResult, JobResult, TokenLogprob } from './scheduler.js';
import { parseToolCalls, type ToolCall } from '../model/tool-calls.js';

const bytes = (s: string) => [...Buffer.from(s, 'utf8')];

/**
 * How a token is named in log-probs: its text, or with vLLM's `return_tokens_as_token_ids`
 * "token_id:<id>", which names tokens whose text is not valid UTF-8 on its own (byte pieces).
 */
const tokenName = (t: { id: number; token: string }, asIds: boolean) => (asIds ? `token_id:${t.id}` : t.token);

export function chatLogprobs(lps: TokenLogprob[], asIds = false): { content: unknown[] } {
  return {
    content: lps.map((t) => {
      const name = tokenName(t, asIds);
      return { token: name, logprob: t.logprob, bytes: bytes(t.token), top_logprobs: t.top.map((a) => ({ token: tokenName(a, asIds), logprob: a.logprob, bytes: bytes(a.token) })) };
    }),
  };
}

/** Legacy completions logprobs: parallel arrays, top_logprobs as {token: logprob} maps; text_offset counts the tokens' text either way. */
export function completionLogprobs(lps: TokenLogprob[], offset = 0, asIds = false): Record<string, unknown> {
  const text_offset: number[] = [];
  let at = offset;
  for (const t of lps) {
    text_offset.push(at);
    at += t.token.length;
  }
  return {
    tokens: lps.map((t) => tokenName(t, asIds)),
    token_logprobs: lps.map((t) => t.logprob),
    top_logprobs: lps.map((t) => Object.fromEntries(t.top.map((a) => [tokenName(a, asIds), a.logprob]))),
    text_offset,
  };
}

export function usage(r: JobResult): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens };
}

export interface ChatMessageOut {
  role: 'assistant';
  content: string | null;
  tool_calls?: ToolCall[];
}

/** The assistant message of a choice, with tool calls parsed when tools were offered. */
export function chatMessage(c: ChoiceResult, toolNames: ReadonlySet<string> | null): { message: ChatMessageOut; finishReason: string } {
  if (toolNames) {
    const p = parseToolCalls(c.text, toolNames);
    if (p.toolCalls.length) return { message: { role: 'assistant', content: p.content, tool_calls: p.toolCalls }, finishReason: 'tool_calls' };
  }
  return { message: { role: 'assistant', content: c.text }, finishReason: c.finishReason };
}
