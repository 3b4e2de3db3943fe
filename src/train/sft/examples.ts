/**
 * SFT examples: a chat row whose last message is the assistant's answer becomes (prompt ids,
 * completion ids, loss mask). The answer to learn is everything after the last user message: one
 * assistant reply, or an agent's turns — assistant tool calls, the tool results between them, the
 * final reply. The completion is what the full chat template adds after the prompt (rendered up to
 * the first of those messages, with its generation prompt); the mask is 1 on the assistant turns'
 * tokens (each up to and including its end-of-turn token, which the model must learn to emit) and
 * 0 on what rft inserts between them (tool results, template tokens) — the same split a rollout's
 * trajectory makes (src/rollout/turn-tokens.ts), so SFT and RFT train the same tokens.
 */
import type { Row } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';
import type { Sequence } from '../../contracts/policy-engine.js';

export interface SftExample extends Sequence {
  /** Per completion token: 1 = an assistant token (loss), 0 = context inserted between assistant turns. Absent: all 1. */
  mask?: number[];
}

const startsWith = (a: number[], prefix: number[]) => prefix.length <= a.length && prefix.every((t, i) => a[i] === t);

export function sftExample(row: Row, tokenizer: ChatTokenizer, maxLength: number, where: string): SftExample {
  const msgs = row.messages;
  const last = msgs[msgs.length - 1];
  if (!last || last.role !== 'assistant') throw new Error(`${where}: an SFT row must end with an assistant message (the answer to learn)`);
  let lastUser = -1;
  msgs.forEach((m, i) => {
    if (m.role === 'user') lastUser = i;
  });
  const first = msgs.findIndex((m, i) => i > lastUser && m.role === 'assistant');
  const render = (upTo: number, gen: boolean) => tokenizer.applyChatTemplate(msgs.slice(0, upTo), { addGenerationPrompt: gen, tools: row.tools });
  const full = render(msgs.length, false);
  const stop = tokenizer.stopTokenIds;
  // The assistant spans: [start of the reply, its end-of-turn token] for each assistant message after the last user one.
  const prompt = render(first, true);
  let completion: number[] = [];
  let mask: number[] = [];
  let pos = prompt.length;
  for (let i = first; i < msgs.length; i++) {
    if (msgs[i]!.role !== 'assistant') continue;
    const before = render(i, true);
    if (!startsWith(full, before)) {
      throw new Error(`${where}: the chat template renders the conversation differently from its prompt up to message ${i + 1}; cannot separate the answer`);
    }
    if (before.length < pos) throw new Error(`${where}: the chat template renders message ${i + 1} inside the previous one; cannot separate the answer`);
    // tokens between the previous assistant turn and this one (tool results, template): no loss
    const inserted = full.slice(pos, before.length);
    let reply = full.slice(before.length, i + 1 < msgs.length ? render(i + 1, false).length : full.length);
    // Templates often put a newline after the end-of-turn token; train up to the end-of-turn token.
    const eot = reply.findIndex((t) => stop.includes(t));
    if (eot >= 0) reply = reply.slice(0, eot + 1);
    else if (stop.length) reply = [...reply, stop[0]!];
    completion.push(...inserted, ...reply);
    mask.push(...inserted.map(() => 0), ...reply.map(() => 1));
    pos = before.length + (eot >= 0 ? eot + 1 : reply.length - (stop.length ? 1 : 0));
  }
  // Keep the answer whole when possible: truncate the prompt from the left first.
  const budget = maxLength - completion.length;
  const keptPrompt = budget >= 1 ? prompt.slice(Math.max(0, prompt.length - budget)) : prompt.slice(-1);
  if (budget < 1) {
    completion = completion.slice(0, maxLength - 1);
    mask = mask.slice(0, maxLength - 1);
  }
  return mask.every((m) => m === 1) ? { prompt: keptPrompt, completion } : { prompt: keptPrompt, completion, mask };
}

/**
 * Mean negative log-likelihood per trained token of a batch: tokens where the example's mask is 0
 * carry no loss and get zero gradient.
 */
export function maskedNll(batch: readonly SftExample[]) {
  return (logprobs: Float32Array[]) => {
    const weights = logprobs.map((l, s) => batch[s]?.mask ?? null);
    let n = 0;
    logprobs.forEach((l, s) => {
      const m = weights[s];
      for (let j = 0; j < l.length; j++) if (!m || m[j]) n++;
    });
    const scale = 1 / Math.max(n, 1);
    let loss = 0;
    const dlogp = logprobs.map((l, s) => {
      const m = weights[s];
      const d = new Float64Array(l.length);
      for (let j = 0; j < l.length; j++) {
        if (m && !m[j]) continue;
        loss -= l[j]!;
        d[j] = -scale;
      }
      return d;
    });
    return { loss: loss * scale, dlogp };
  };
}
