/**
 * Remote agents, eval-protocol compatible (its RemoteRolloutProcessor, as Fireworks RFT drives
 * agents): per rollout rft `POST`s `{agent}/init` with an InitRequest
 *   { completion_params: {model, temperature, top_p, top_k, max_tokens, stop?}, messages (role,
 *     content, tool_calls, tool_call_id, name only), tools, model_base_url, metadata:
 *     {invocation_id, experiment_id, rollout_id, run_id, row_id}, api_key }
 * where model_base_url points at the rollout gateway. A 2xx starts the rollout (the body is
 * ignored); 5xx answers and connection errors are retried with exponential backoff (3 tries in
 * all); a 4xx, or no answer within the request timeout (the agent may have started the rollout,
 * so it is not sent twice), fails the rollout. The rollout is complete at the first of:
 *   (a) a status log the agent posts to the gateway (`POST /logs`, code 100 FINISHED or an error);
 *   (b) the agent's legacy `GET {agent}/status?rollout_id=…` → `{terminated, info, status}`,
 *       polled every second (a 404 means the agent does not implement it: polling stops);
 *   (c) the rollout timeout (invalid).
 * The trajectory is what the gateway recorded, so the agent never sends tokens back. Every
 * misbehaviour (down, slow, garbage, never finishing, finishing twice or late, calling a finished
 * rollout) is a counted outcome here or in the gateway's counters; nothing throws out of a rollout.
 */
import type { ChatMessage, Row } from '../contracts/row.js';
import type { Trajectory } from '../contracts/trajectory.js';
import { promptMessages } from '../data/index.js';
import { isSuccess, type GatewayPort } from './gateway-port.js';
import { newCounters, runGatewayRollouts, type RolloutCounters, type RolloutJob, type RunnerOptions, type Verdict } from './gateway-runner.js';
import type { RolloutRequest, RolloutSource } from './source.js';

export interface RemoteAgentOptions extends RunnerOptions {
  /** Tries of POST /init on 5xx or connection errors (default 3). */
  initTries?: number;
  /** Backoff before the second try (default 500 ms), doubling after. */
  initBackoffMs?: number;
  /** How often GET /status is polled (default 1000 ms). */
  statusPollMs?: number;
  /** Timeout of each /init or /status request (default 10 000 ms). */
  requestTimeoutMs?: number;
}

export interface RemoteCounters extends RolloutCounters {
  /** /init attempts that were retried (5xx, connection error). */
  initRetries: number;
  /** Rollouts whose /init was refused with a 4xx. */
  initRejected: number;
  /** Rollouts whose /init failed every try, or got no answer in time. */
  initFailed: number;
  /** Rollouts completed by a status log posted to the gateway. */
  finishedByLog: number;
  /** Rollouts completed by the agent's GET /status. */
  finishedByPoll: number;
  /** Rollouts the agent itself reported as failed (a status code other than 0 / 100). */
  agentReportedError: number;
  /** Agents answering GET /status with 404 (polling stopped for that rollout). */
  statusUnsupported: number;
  /** GET /status answers that were neither 200 {terminated: boolean} nor 404 (polling went on). */
  statusGarbage: number;
}

/** eval-protocol's message fields; anything else a row's messages carry stays on rft's side. */
function initMessage(m: ChatMessage): Partial<ChatMessage> {
  const out: Partial<ChatMessage> = { role: m.role, content: m.content };
  if (m.tool_calls) out.tool_calls = m.tool_calls;
  if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
  if (m.name !== undefined) out.name = m.name;
  return out;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class RemoteAgentSource implements RolloutSource {
  readonly counters: RemoteCounters = { ...newCounters(), initRetries: 0, initRejected: 0, initFailed: 0, finishedByLog: 0, finishedByPoll: 0, agentReportedError: 0, statusUnsupported: 0, statusGarbage: 0 };
  readonly agentUrl: string;

  constructor(
    agentUrl: string,
    private readonly gateway: GatewayPort,
    private readonly opts: RemoteAgentOptions = {},
  ) {
    let u: URL;
    try {
      u = new URL(agentUrl);
    } catch {
      throw new Error(`the remote agent URL "${agentUrl}" is not a URL (expected e.g. http://127.0.0.1:3000)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`the remote agent URL "${agentUrl}" must be http:// or https://`);
    this.agentUrl = agentUrl.replace(/\/+$/, '');
  }

  /** The InitRequest body for one rollout. */
  initRequest(req: RolloutRequest, row: Row, job: Pick<RolloutJob, 'baseUrl' | 'metadata'>): Record<string, unknown> {
    const s = req.sampling;
    const completion_params: Record<string, unknown> = { model: this.gateway.modelName, temperature: s.temperature, top_p: s.topP ?? 1, max_tokens: s.maxNewTokens };
    if (s.topK) completion_params.top_k = s.topK;
    if (s.stopStrings?.length) completion_params.stop = s.stopStrings;
    return {
      completion_params,
      // Earlier eval-protocol versions read the model name at the top level.
      model: this.gateway.modelName,
      messages: promptMessages(row.messages, 'sft').map(initMessage),
      tools: row.tools ?? null,
      model_base_url: job.baseUrl,
      metadata: job.metadata,
      api_key: this.gateway.apiKey ?? null,
    };
  }

  rollout(req: RolloutRequest): Promise<Trajectory[]> {
    return runGatewayRollouts(req, this.gateway, this.opts, this.counters, (job) => this.drive(req, job));
  }

  private async drive(req: RolloutRequest, job: RolloutJob): Promise<Verdict> {
    const started = await this.init(this.initRequest(req, job.row, job), job.signal);
    if (started !== true) return started;
    let settled = false;
    const fromLog = job.status.then((log): Verdict => {
      if (settled || job.signal.aborted) return { ok: false, finishReason: 'error', error: 'aborted' };
      settled = true;
      this.counters.finishedByLog++;
      if (isSuccess(log.status.code)) return { ok: true };
      this.counters.agentReportedError++;
      return { ok: false, finishReason: 'error', error: `the agent reported status ${log.status.code}${log.status.message ? `: ${log.status.message}` : ''}` };
    });
    return Promise.race([fromLog, this.poll(job, () => settled, () => (settled = true))]);
  }

  /** POST /init with retries: true when the agent took the rollout, else the failed verdict. */
  private async init(body: Record<string, unknown>, signal: AbortSignal): Promise<true | Verdict> {
    const tries = this.opts.initTries ?? 3;
    let backoff = this.opts.initBackoffMs ?? 500;
    let last = '';
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (attempt > 1) {
        this.counters.initRetries++;
        await sleep(backoff, signal);
        backoff *= 2;
      }
      if (signal.aborted) return { ok: false, finishReason: 'error', error: 'aborted before the agent took the rollout' };
      try {
        const r = await fetch(`${this.agentUrl}/init`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000)]),
        });
        const text = await r.text().catch(() => '');
        if (r.ok) return true;
        last = `answered ${r.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
        if (r.status < 500) {
          this.counters.initRejected++;
          return { ok: false, finishReason: 'error', error: `the agent's POST /init ${last}` };
        }
      } catch (e) {
        if (signal.aborted) return { ok: false, finishReason: 'error', error: 'aborted before the agent took the rollout' };
        const err = e as Error & { cause?: { code?: string } };
        if (err.name === 'TimeoutError') {
          // Not retried: the agent may have taken the rollout and be slow to say so; a second /init could start it twice.
          this.counters.initFailed++;
          return { ok: false, finishReason: 'error', error: `the agent's POST /init did not answer in ${this.opts.requestTimeoutMs ?? 10_000} ms` };
        }
        last = `failed: ${err.cause?.code ?? err.message}`;
      }
    }
    this.counters.initFailed++;
    return { ok: false, finishReason: 'error', error: `the agent's POST /init ${last} (${tries} tries)` };
  }

  /** Polls GET /status until the agent says terminated; never resolves if it does not implement it (404). */
  private async poll(job: RolloutJob, isSettled: () => boolean, settle: () => void): Promise<Verdict> {
    const every = this.opts.statusPollMs ?? 1000;
    const url = `${this.agentUrl}/status?rollout_id=${encodeURIComponent(job.metadata.rollout_id)}`;
    while (!job.signal.aborted && !isSettled()) {
      await sleep(every, job.signal);
      if (job.signal.aborted || isSettled()) break;
      let r: Response;
      let body: unknown;
      try {
        r = await fetch(url, { signal: AbortSignal.any([job.signal, AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000)]) });
        if (r.status === 404) {
          await r.body?.cancel();
          this.counters.statusUnsupported++;
          break;
        }
        body = r.ok ? await r.json() : undefined;
      } catch {
        if (!job.signal.aborted) this.counters.statusGarbage++;
        continue;
      }
      const b = body as { terminated?: unknown; status?: { code?: unknown; message?: unknown } | null } | undefined;
      if (!b || typeof b !== 'object' || typeof b.terminated !== 'boolean') {
        this.counters.statusGarbage++;
        continue;
      }
      if (!b.terminated || isSettled()) continue;
      settle();
      this.counters.finishedByPoll++;
      const code = b.status && typeof b.status.code === 'number' ? b.status.code : undefined;
      if (code === undefined || isSuccess(code)) return { ok: true };
      this.counters.agentReportedError++;
      return { ok: false, finishReason: 'error', error: `the agent's /status reported code ${code}${typeof b.status?.message === 'string' ? `: ${b.status.message}` : ''}` };
    }
    return new Promise<Verdict>(() => {}); // completion can still come from a status log or the timeout
  }
}
