/**
 * Recorded gateway turns → a contract Trajectory, without re-tokenising anything.
 *
 * Segments: each turn's prompt is compared with the tokens of the segments built so far (prompt +
 * completion); when it extends one of them (the longest such, usually the previous turn), the
 * extension — tool results, chat-template tokens, whatever the agent appended — is added to that
 * segment as inserted tokens (mask 0, log-prob 0) followed by the turn's sampled tokens (mask 1).
 * A prompt that extends none (the agent rewrote or trimmed its history, or a side conversation)
 * starts a new segment. Every segment is trained on as its own sequence.
 *
 * Messages: the longest conversation among the chat turns (its request messages plus the reply;
 * the latest one on a tie), as eval-protocol's `filter_longest_conversation` picks it.
 */
import type { ChatMessage, Row } from '../contracts/row.js';
import type { RolloutFinish, TokenSegment, Trajectory } from '../contracts/trajectory.js';
import { promptMessages } from '../data/index.js';
import type { RecordedTurn } from './gateway-port.js';

function startsWith(a: readonly number[], prefix: readonly number[]): boolean {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

/** Token segments of the turns, in order (see the file comment). */
export function segmentsOf(turns: readonly RecordedTurn[]): TokenSegment[] {
  const segments: TokenSegment[] = [];
  for (const t of turns) {
    let best: TokenSegment | null = null;
    let bestLen = -1;
    for (const s of segments) {
      const len = s.promptTokens.length + s.completionTokens.length;
      if (len > bestLen && startsWith(t.promptTokens, s.promptTokens) && startsWith(t.promptTokens.slice(s.promptTokens.length), s.completionTokens)) {
        best = s;
        bestLen = len;
      }
    }
    if (!best) {
      segments.push({ promptTokens: [...t.promptTokens], completionTokens: [...t.sampledTokens], completionMask: t.sampledTokens.map(() => 1), logprobs: [...t.logprobs] });
      continue;
    }
    const inserted = t.promptTokens.slice(bestLen);
    for (const id of inserted) {
      best.completionTokens.push(id);
      best.completionMask.push(0);
      best.logprobs.push(0);
    }
    for (let i = 0; i < t.sampledTokens.length; i++) {
      best.completionTokens.push(t.sampledTokens[i]!);
      best.completionMask.push(1);
      best.logprobs.push(t.logprobs[i]!);
    }
  }
  return segments;
}

/** The turn whose conversation (request messages + reply) is longest; the latest on a tie. */
function longestTurn(turns: readonly RecordedTurn[]): RecordedTurn | undefined {
  let best: RecordedTurn | undefined;
  for (const t of turns) if (!best || t.messages.length >= best.messages.length) best = t;
  return best;
}

export interface FromTurnsOptions {
  /** Overrides the finish reason (the source's verdict: 'error', 'timeout'). */
  finishReason?: RolloutFinish;
  error?: string;
}

/**
 * The trajectory of one rollout from what the gateway recorded. A rollout that never called the
 * model has no tokens to train on: it gets an error (invalid) unless the caller already gave one.
 */
export function trajectoryFromTurns(row: Row, rowIndex: number, turns: readonly RecordedTurn[], opts: FromTurnsOptions = {}): Trajectory {
  const segments = segmentsOf(turns);
  const chat = turns.filter((t) => t.kind === 'chat');
  const last = longestTurn(chat.length ? chat : turns);
  let messages: ChatMessage[];
  if (!last) messages = [...promptMessages(row.messages, 'sft')];
  else if (last.kind === 'chat') messages = [...last.messages, last.reply];
  else messages = [...promptMessages(row.messages, 'sft'), last.reply];
  const sampledTokens = segments.reduce((a, s) => a + s.completionMask.reduce((x, m) => x + m, 0), 0);
  const insertedTokens = segments.reduce((a, s) => a + s.completionMask.length, 0) - sampledTokens;
  let error = opts.error;
  let finishReason: RolloutFinish | undefined = opts.finishReason;
  if (!last && !error) {
    error = 'the agent finished without calling the model (no tokens to train on)';
    finishReason = 'error';
  }
  return {
    row,
    messages,
    output: last?.reply.content ?? '',
    rowIndex,
    segments,
    finishReason: finishReason ?? last?.finishReason ?? 'error',
    ...(error !== undefined ? { error } : {}),
    stats: { turns: turns.length, toolCalls: turns.reduce((a, t) => a + t.toolCalls.length, 0), toolErrors: 0, sampledTokens, insertedTokens },
  };
}
