/**
 * Single-turn rollouts, the default RolloutSource: each row's prompt messages go through the chat
 * template, the policy samples `n` completions per prompt, and each completion becomes a
 * trajectory of one segment whose completion is all sampled (mask 1 everywhere) — scored by the
 * evaluator as prompt messages + the assistant reply, trained on as prompt + completion tokens.
 */
import type { Row, ChatMessage } from '../contracts/row.js';
import { promptMessages as promptOf } from '../data/index.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { Trajectory } from '../contracts/trajectory.js';
import type { RolloutRequest, RolloutSource } from './source.js';

/** The prompt part of a row: every message up to (not including) a trailing assistant answer. */
export function promptMessages(row: Row): ChatMessage[] {
  return [...promptOf(row.messages, 'sft')];
}

export class SingleTurnSource implements RolloutSource {
  constructor(
    private readonly policy: PolicyEngine,
    private readonly tokenizer: ChatTokenizer,
  ) {}

  async rollout(req: RolloutRequest): Promise<Trajectory[]> {
    const { policy, tokenizer } = this;
    const { rows, n, sampling } = req;
    const prompts = rows.map((row, i) => {
      try {
        return tokenizer.applyChatTemplate(promptMessages(row), { addGenerationPrompt: true, tools: row.tools });
      } catch (e) {
        throw new Error(`row ${i} of the batch: ${(e as Error).message}`);
      }
    });
    const stopTokens = [...new Set([...(sampling.stopTokens ?? []), ...tokenizer.stopTokenIds])];
    const samples = await policy.sample({ ...sampling, seed: req.seed, stopTokens, prompts, n, reference: req.reference });
    const out = samples.map((s): Trajectory => {
      const row = rows[s.prompt];
      // The stop token itself is part of what the policy produced (and is trained on), but not of the reply text.
      const textTokens = s.finishReason === 'stop' && stopTokens.includes(s.tokens[s.tokens.length - 1]) ? s.tokens.slice(0, -1) : s.tokens;
      const output = tokenizer.decode(textTokens);
      return {
        row,
        messages: [...promptMessages(row), { role: 'assistant', content: output }],
        output,
        rowIndex: s.prompt,
        segments: [{ promptTokens: prompts[s.prompt], completionTokens: s.tokens, completionMask: s.tokens.map(() => 1), logprobs: s.logprobs }],
        finishReason: s.finishReason,
        stats: { turns: 1, toolCalls: 0, toolErrors: 0, sampledTokens: s.tokens.length, insertedTokens: 0 },
      };
    });
    // Grouped by row, as RolloutSource promises (a stable sort keeps each row's samples in order).
    return out.sort((a, b) => a.rowIndex - b.rowIndex);
  }
}
