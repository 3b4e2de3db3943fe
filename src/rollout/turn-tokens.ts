/**
 * Token-in / token-out between turns: after the policy sampled a turn, the tokens rft appends
 * (the end of the assistant turn, tool results, the next assistant header) are the chat
 * template's rendering of the new messages *after* the conversation so far — computed as the
 * difference of two renderings, so the sampled tokens are never re-tokenised:
 *
 *   A = render(history + assistant)                  (no generation prompt)
 *   B = render(history + assistant + new messages)   (with the generation prompt)
 *   inserted = A after its last end-of-turn token (what the template puts after the turn's stop,
 *              e.g. ChatML's "\n") + B[|A|:]
 *
 * If the turn was not ended by a stop token, the template's own end-of-turn token is inserted too.
 * When B does not extend A token for token, or A has no end-of-turn token inside the assistant's
 * rendering, there is no consistent continuation: the caller starts a new segment whose prompt
 * is B (as OpenPipe ART does when a prompt stops extending the previous one).
 */
import type { ChatMessage, Tool } from '../contracts/row.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';

export function continuationTokens(
  tokenizer: ChatTokenizer,
  history: ChatMessage[],
  assistant: ChatMessage,
  added: ChatMessage[],
  opts: { tools?: Tool[]; sampledEndsWithStop: boolean },
): number[] | null {
  const before = tokenizer.applyChatTemplate(history, { addGenerationPrompt: false, tools: opts.tools });
  const a = tokenizer.applyChatTemplate([...history, assistant], { addGenerationPrompt: false, tools: opts.tools });
  const b = tokenizer.applyChatTemplate([...history, assistant, ...added], { addGenerationPrompt: true, tools: opts.tools });
  if (b.length < a.length) return null;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return null;
  const stops = new Set(tokenizer.stopTokenIds);
  let k = a.length - 1;
  while (k >= 0 && !stops.has(a[k])) k--;
  // the end-of-turn token must belong to the assistant's rendering, not to an earlier message
  if (k < before.length || !isPrefix(before, a)) return null;
  return [...a.slice(opts.sampledEndsWithStop ? k + 1 : k), ...b.slice(a.length)];
}

function isPrefix(p: number[], of: number[]): boolean {
  if (p.length > of.length) return false;
  for (let i = 0; i < p.length; i++) if (p[i] !== of[i]) return false;
  return true;
}
