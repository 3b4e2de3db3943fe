/**
 * What the client-form and remote agent sources need from a rollout gateway (an OpenAI-compatible
 * endpoint serving the policy being trained that records, per rollout, every request's tokens).
 * The HTTP implementation lives in `src/server/gateway.ts`; this layer only sees this interface,
 * so `src/rollout` never imports `src/server`.
 */
import type { ChatMessage, ToolCall } from '../contracts/row.js';
import type { FinishReason, SamplingParams } from '../contracts/policy-engine.js';

/** eval-protocol's rollout metadata (InitRequest.metadata), also the path of the rollout's base URL. */
export interface RolloutMetadata {
  invocation_id: string;
  experiment_id: string;
  rollout_id: string;
  run_id: string;
  row_id: string;
}

/** One request the gateway served for a rollout: exactly what was fed to the policy and what it sampled. */
export interface RecordedTurn {
  kind: 'chat' | 'completion';
  /** The request's prompt as token ids (chat template applied, tools included). */
  promptTokens: number[];
  /** Every sampled token, a final stop token included. */
  sampledTokens: number[];
  /** Sampling log-prob of each sampled token. */
  logprobs: number[];
  finishReason: FinishReason;
  /** Chat requests: the request's messages; completions: empty. */
  messages: ChatMessage[];
  /** The reply as the gateway returned it (tool calls parsed when tools were offered). */
  reply: ChatMessage;
  toolCalls: ToolCall[];
}

/** eval-protocol's status (`Status` in its SDK): 100 FINISHED, 101 RUNNING, 102 SCORE_INVALID, 103 and gRPC codes 1-16 errors. */
export interface RolloutStatus {
  code: number;
  message?: string;
  details?: unknown[];
}

export const STATUS = { OK: 0, FINISHED: 100, RUNNING: 101, SCORE_INVALID: 102, ERROR: 103 } as const;

/** A status log an agent posted for a rollout (`POST /logs`), as eval-protocol's tracing handler sends it. */
export interface StatusLog {
  status: RolloutStatus;
  message?: string;
  extras?: Record<string, unknown>;
  tags: string[];
}

/** A status that ends a rollout: finished (0, 100) or failed (102, 103, 1-16); 101 and unknown codes do not. */
export function isTerminal(code: number): boolean {
  return code === STATUS.OK || code === STATUS.FINISHED || code === STATUS.SCORE_INVALID || code === STATUS.ERROR || (code >= 1 && code <= 16);
}
export function isSuccess(code: number): boolean {
  return code === STATUS.OK || code === STATUS.FINISHED;
}

export interface OpenRollout {
  metadata: RolloutMetadata;
  /** The run's sampling parameters: requests may lower max_tokens, nothing else. */
  sampling: SamplingParams;
  /** Sample from the reference policy (adapter disabled). */
  reference?: boolean;
  /** Called for every status log posted for this rollout while it is open. */
  onStatus?(log: StatusLog): void;
}

export interface FinishedRollout {
  turns: RecordedTurn[];
  /** The last terminal status posted for the rollout, if any. */
  status?: StatusLog;
}

export interface GatewayPort {
  /** The gateway's root URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** The model name requests are answered under (completion_params.model). */
  readonly modelName: string;
  /** When set, requests need `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Registers a rollout and returns its base URL (eval-protocol's model_base_url shape; OpenAI paths go after it). */
  open(r: OpenRollout): string;
  /**
   * Closes the rollout (later requests for it get 404, queued ones are cancelled) and returns what
   * was recorded. `status` is rft's verdict, reported by /v1/status when the agent posted none.
   */
  finish(rolloutId: string, status?: RolloutStatus): FinishedRollout;
}
