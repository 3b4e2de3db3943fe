/**
 * Single-turn rollouts: each row's prompt messages go through the chat template, the policy
 * samples `n` completions per prompt, and each completion becomes a trajectory the evaluator
 * scores (prompt messages + the assistant reply) and the trainer learns from (token ids and
 * their sampling log-probs).
 */
import type { Row, ChatMessage } from '../contracts/row.js';
import { promptMessages as promptOf } from '../data/index.js';
import type { Rollout } from '../contracts/evaluation.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { FinishReason, PolicyEngine, SamplingParams } from '../contracts/policy-engine.js';

export interface Trajectory extends Rollout {
  /** Index of the row within the batch given to rollout(). */
  rowIndex: number;
  promptTokens: number[];
  completionTokens: number[];
  /** Sampling log-prob of each completion token. */
  logprobs: number[];
  finishReason: FinishReason;
}

/** The prompt part of a row: every message up to (not including) a trailing assistant answer. */
export function promptMessages(row: Row): ChatMessage[] {
  return [...promptOf(row.messages, 'sft')];
}

export async function rollout(
  policy: PolicyEngine,
  tokenizer: ChatTokenizer,
  rows: Row[],
  n: number,
  sampling: SamplingParams,
  opts: { reference?: boolean } = {},
): Promise<Trajectory[]> {
  const prompts = rows.map((row) => tokenizer.applyChatTemplate(promptMessages(row), { addGenerationPrompt: true, tools: row.tools }));
  const stopTokens = [...new Set([...(sampling.stopTokens ?? []), ...tokenizer.stopTokenIds])];
  const samples = await policy.sample({ ...sampling, stopTokens, prompts, n, reference: opts.reference });
  return samples.map((s) => {
    const row = rows[s.prompt];
    // The stop token itself is part of what the policy produced (and is trained on), but not of the reply text.
    const textTokens = s.finishReason === 'stop' && stopTokens.includes(s.tokens[s.tokens.length - 1]) ? s.tokens.slice(0, -1) : s.tokens;
    const output = tokenizer.decode(textTokens);
    const messages: ChatMessage[] = [...promptMessages(row), { role: 'assistant', content: output }];
    return {
      row,
      messages,
      output,
      rowIndex: s.prompt,
      promptTokens: prompts[s.prompt],
      completionTokens: s.tokens,
      logprobs: s.logprobs,
      finishReason: s.finishReason,
    };
  });
}
