/**
 * SFT examples: a chat row whose last message is the assistant's answer becomes (prompt ids,
 * completion ids). The completion is what the full chat template adds after the prompt with
 * its generation prompt, so it includes the end-of-turn marker the model must learn to emit.
 *
 * An agent trace — after the last user message, assistant turns with tool calls, tool results,
 * and the final answer — trains on every one of those assistant turns: the completion runs from
 * the first of them to the end of the last, and its `mask` is 1 on the assistant turns' tokens
 * (each up to its end-of-turn token) and 0 on what lies between (tool results, template tokens),
 * so the model learns to call the tools and to answer, not to predict the tools' output.
 */
import type { Row } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';
import type { Sequence } from '../../contracts/policy-engine.js';

export interface SftExample extends Sequence {
  /** Per completion token: 1 = trained on, 0 = context only; absent = all trained on. */
  mask?: number[];
}

const startsWith = (a: number[], p: number[]) => p.length <= a.length && p.every((v, i) => a[i] === v);

export function sftExample(row: Row, tokenizer: ChatTokenizer, maxLength: number, where: string): SftExample {
  const msgs = row.messages;
  const last = msgs[msgs.length - 1];
  if (!last || last.role !== 'assistant') throw new Error(`${where}: an SFT row must end with an assistant message (the answer to learn)`);
  // The assistant turns of the final exchange (after the last user message): one for a plain answer.
  let lastUser = msgs.length - 1;
  while (lastUser >= 0 && msgs[lastUser].role !== 'user') lastUser--;
  const turns = msgs.map((m, i) => (i > lastUser && m.role === 'assistant' ? i : -1)).filter((i) => i >= 0);
  const render = (n: number, gen: boolean) => tokenizer.applyChatTemplate(msgs.slice(0, n), { addGenerationPrompt: gen, tools: row.tools });
  const prompt = render(turns[0], true);
  const full = render(msgs.length, false);
  const unstable = (at: string) => new Error(`${where}: the chat template renders the conversation differently from its prompt (${at}); cannot separate the answer`);
  for (let i = 0; i < prompt.length; i++) if (full[i] !== prompt[i]) throw unstable(`token ${i}`);
  const stop = tokenizer.stopTokenIds;
  // Templates often put a newline after the end-of-turn token; each turn is trained up to its end-of-turn token.
  const turnEnd = (from: number): number => {
    let k = from;
    while (k < full.length && !stop.includes(full[k])) k++;
    return k;
  };
  let completion: number[];
  let mask: number[] | undefined;
  if (turns.length === 1) {
    completion = full.slice(prompt.length);
    const eot = completion.findIndex((t) => stop.includes(t));
    if (eot >= 0) completion = completion.slice(0, eot + 1);
    else if (stop.length) completion = [...completion, stop[0]];
  } else {
    mask = [];
    completion = [];
    for (const t of turns) {
      const start = render(t, true);
      if (!startsWith(full, start)) throw unstable(`message ${t}`);
      const end = turnEnd(start.length);
      if (end >= full.length) throw new Error(`${where}: the chat template puts no end-of-turn token after message ${t} (assistant); cannot tell where its turn ends`);
      // context between the previous turn and this one (tool results, template tokens), then the turn
      const from = prompt.length + completion.length;
      for (let i = from; i <= end; i++) {
        completion.push(full[i]);
        mask.push(i >= start.length ? 1 : 0);
      }
    }
  }
  // Keep the answer whole when possible: truncate the prompt from the left first.
  const budget = maxLength - completion.length;
  const keptPrompt = budget >= 1 ? prompt.slice(Math.max(0, prompt.length - budget)) : prompt.slice(-1);
  if (budget < 1) {
    completion = completion.slice(0, maxLength - 1);
    mask = mask?.slice(0, maxLength - 1);
  }
  return mask ? { prompt: keptPrompt, completion, mask } : { prompt: keptPrompt, completion };
}
