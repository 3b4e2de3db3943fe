/**
 * SFT examples: a chat row whose last message is the assistant's answer becomes (prompt ids,
 * completion ids). The completion is what the full chat template adds after the prompt with
 * its generation prompt, so it includes the end-of-turn marker the model must learn to emit.
 */
import type { Row } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';
import type { Sequence } from '../../contracts/policy-engine.js';

export function sftExample(row: Row, tokenizer: ChatTokenizer, maxLength: number, where: string): Sequence {
  const msgs = row.messages;
  const last = msgs[msgs.length - 1];
  if (!last || last.role !== 'assistant') throw new Error(`${where}: an SFT row must end with an assistant message (the answer to learn)`);
  const prompt = tokenizer.applyChatTemplate(msgs.slice(0, -1), { addGenerationPrompt: true, tools: row.tools });
  const full = tokenizer.applyChatTemplate(msgs, { addGenerationPrompt: false, tools: row.tools });
  for (let i = 0; i < prompt.length; i++) {
    if (full[i] !== prompt[i]) {
      throw new Error(`${where}: the chat template renders the conversation differently from its prompt (token ${i}); cannot separate the answer`);
    }
  }
  let completion = full.slice(prompt.length);
  const stop = tokenizer.stopTokenIds;
  // Templates often put a newline after the end-of-turn token; train up to the end-of-turn token.
  const eot = completion.findIndex((t) => stop.includes(t));
  if (eot >= 0) completion = completion.slice(0, eot + 1);
  else if (stop.length) completion = [...completion, stop[0]];
  // Keep the answer whole when possible: truncate the prompt from the left first.
  const budget = maxLength - completion.length;
  const keptPrompt = budget >= 1 ? prompt.slice(Math.max(0, prompt.length - budget)) : prompt.slice(-1);
  if (budget < 1) completion = completion.slice(0, maxLength - 1);
  return { prompt: keptPrompt, completion };
}
