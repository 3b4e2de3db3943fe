/**
 * The client form of an agent: `run({ row, client, signal })`, where `client` is an official
 * `openai` client bound to the rollout's base URL on the rollout gateway, so an agent written
 * against the OpenAI API (the `openai` package, the Vercel AI SDK, LangChain.js or plain fetch on
 * `baseUrl`) trains unchanged. Whatever `run` returns is ignored: the trajectory is what the
 * gateway recorded (the longest conversation), token for token. `run` throwing or outliving the
 * rollout timeout makes that rollout invalid; the others go on.
 */
import OpenAI from 'openai';
import type { Row } from '../contracts/row.js';
import type { Trajectory } from '../contracts/trajectory.js';
import type { GatewayPort, RolloutMetadata } from './gateway-port.js';
import { newCounters, runGatewayRollouts, type RolloutCounters, type RunnerOptions } from './gateway-runner.js';
import type { RolloutRequest, RolloutSource } from './source.js';

export interface ClientAgentContext {
  /** The dataset row (its tools and extra fields included). */
  row: Row;
  /** An OpenAI client bound to this rollout's gateway URL (no retries; it is aborted with the rollout). */
  client: OpenAI;
  /** Aborted when the rollout times out or the run stops: pass it on to long calls. */
  signal: AbortSignal;
  /** The same endpoint for other clients: `${baseUrl}/chat/completions`. Ends in /v1. */
  baseUrl: string;
  apiKey: string;
  /** The model name to put in requests (any name is accepted). */
  model: string;
  metadata: RolloutMetadata;
}

export type ClientAgentRun = (ctx: ClientAgentContext) => Promise<unknown> | unknown;

/** An in-process agent in client form, as an agent module exports it. */
export interface ClientAgent {
  run: ClientAgentRun;
}

export class ClientAgentSource implements RolloutSource {
  readonly counters: RolloutCounters = newCounters();

  constructor(
    private readonly agent: ClientAgent,
    private readonly gateway: GatewayPort,
    private readonly opts: RunnerOptions = {},
  ) {
    if (typeof agent?.run !== 'function') throw new Error('a client-form agent needs a run({ row, client, signal }) function');
  }

  rollout(req: RolloutRequest): Promise<Trajectory[]> {
    const apiKey = this.gateway.apiKey ?? 'rft-gateway';
    return runGatewayRollouts(req, this.gateway, this.opts, this.counters, async (job) => {
      const baseUrl = `${job.baseUrl}/v1`;
      const signalled: typeof fetch = (url, init) => fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, job.signal]) : job.signal });
      const client = new OpenAI({ baseURL: baseUrl, apiKey, maxRetries: 0, fetch: signalled });
      await this.agent.run({ row: job.row, client, signal: job.signal, baseUrl, apiKey, model: this.gateway.modelName, metadata: job.metadata });
      return { ok: true };
    });
  }
}
