/**
 * A rollout as the trainer sees it (DESIGN.md "Trajectory"): token ids exactly as the policy saw
 * and sampled them, never re-tokenised. A single-turn rollout is one segment whose completion is
 * all sampled; a multi-turn (agent) rollout interleaves sampled tokens with tokens rft inserted
 * (tool results, chat-template tokens), which carry no loss. When a later prompt does not extend
 * the tokens before it (an agent that rewrote its history), a new segment starts; each segment is
 * trained on as its own sequence.
 */
import type { Rollout } from './evaluation.js';
import type { FinishReason } from './policy-engine.js';

export interface TokenSegment {
  /** Context before the first sampled token of the segment (no loss). */
  promptTokens: number[];
  /** Everything after the prompt: sampled tokens and, between turns, inserted ones. */
  completionTokens: number[];
  /** Per completion token: 1 = sampled by the policy (trained on), 0 = inserted by rft. */
  completionMask: number[];
  /** Per completion token: its sampling log-prob where the mask is 1; 0 where it is 0. */
  logprobs: number[];
}

/** How a rollout ended. */
export type RolloutFinish =
  | FinishReason // the last turn stopped by itself ('stop') or hit its token limit ('length')
  | 'max_turns' // the agent loop ran out of turns
  | 'budget' // the rollout's token budget ran out
  | 'error' // the agent (local or remote) failed: invalid, not trained on
  | 'timeout'; // the rollout took longer than its timeout: invalid, not trained on

export interface RolloutStats {
  turns: number;
  toolCalls: number;
  toolErrors: number;
  sampledTokens: number;
  insertedTokens: number;
}

export interface Trajectory extends Rollout {
  /** Index of the row within the batch the rollouts were made for. */
  rowIndex: number;
  segments: TokenSegment[];
  finishReason: RolloutFinish;
  /** Set when the rollout itself failed (agent threw, timed out, remote error): scored invalid, not trained on. */
  error?: string;
  stats: RolloutStats;
}
