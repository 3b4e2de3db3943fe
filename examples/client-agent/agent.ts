/**
 * An example client-form agent: a plain OpenAI tool-calling loop, written against the official
 * `openai` client and nothing of rft. rft hands it a client bound to the policy being trained
 * (through the rollout gateway, which records every token), so the same code runs against
 * OpenAI or any OpenAI-compatible server outside training.
 *
 *   rft train --agent examples/client-agent/agent.ts …
 *
 * The row's `tools` (OpenAI function schemas) are offered to the model when the row has them;
 * this file implements `add` and `multiply`. A tool that fails returns its error to the model.
 */
import type OpenAI from 'openai';

interface Ctx {
  row: { messages: OpenAI.Chat.ChatCompletionMessageParam[]; tools?: OpenAI.Chat.ChatCompletionTool[] };
  client: OpenAI;
  model: string;
  signal: AbortSignal;
}

const IMPLEMENTATIONS: Record<string, (args: { a: number; b: number }) => number> = {
  add: ({ a, b }) => a + b,
  multiply: ({ a, b }) => a * b,
};

const MAX_TURNS = 4;

export default async function run({ row, client, model, signal }: Ctx): Promise<void> {
  // The prompt only: a trailing assistant message in the row is the reference answer, not history.
  const messages = row.messages.at(-1)?.role === 'assistant' ? row.messages.slice(0, -1) : [...row.messages];
  for (let turn = 0; turn < MAX_TURNS; turn++) {
    const r = await client.chat.completions.create({ model, messages, ...(row.tools?.length ? { tools: row.tools } : {}) }, { signal });
    const m = r.choices[0]!.message;
    messages.push({ role: 'assistant', content: m.content ?? '', ...(m.tool_calls?.length ? { tool_calls: m.tool_calls } : {}) });
    if (!m.tool_calls?.length) return;
    for (const call of m.tool_calls) {
      if (call.type !== 'function') continue;
      let content: string;
      try {
        const fn = IMPLEMENTATIONS[call.function.name];
        if (!fn) throw new Error(`unknown tool ${call.function.name}`);
        content = String(fn(JSON.parse(call.function.arguments)));
      } catch (e) {
        content = `error: ${(e as Error).message}`;
      }
      messages.push({ role: 'tool', tool_call_id: call.id, content });
    }
  }
}
