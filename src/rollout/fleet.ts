/**
 * Rollouts sampled on an external inference fleet: one or more OpenAI-compatible servers that
 * speak vLLM's token-level protocol (`rft serve`, `vllm serve`, SGLang's OpenAI front end).
 *
 * Each row's prompt goes through the chat template here (as single-turn.ts does), and is sent as
 * token ids to `POST /v1/completions` with `n`, the run's sampling parameters, `logprobs: 0`,
 * `return_token_ids` and `return_tokens_as_token_ids`. The trajectory keeps the server's token ids
 * exactly and its per-token log-probs as the behaviour policy's (the trainer corrects for the
 * mismatch with its own, see train/grpo/rollout-correction.ts). Rows are spread over the servers
 * (fewest requests in flight first); a request that fails or exceeds its timeout is retried on
 * another server, and the server is avoided for a while. Everything is counted in `stats`.
 *
 * The server's reply is untrusted input: ids, log-probs and choice counts are checked, and a reply
 * that does not add up is a failure like a dropped connection.
 */
import type { Row, ChatMessage } from '../contracts/row.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { FinishReason } from '../contracts/policy-engine.js';
import type { Trajectory } from '../contracts/trajectory.js';
import http from 'node:http';
import https from 'node:https';
import type { RolloutRequest, RolloutSource } from './source.js';
import { promptMessages } from './single-turn.js';

export interface FleetOptions {
  /** Base URLs of the servers, e.g. http://10.0.0.5:8000 (a trailing /v1 is fine). */
  servers: string[];
  tokenizer: ChatTokenizer;
  /** The id the servers serve the base model under: the policy until setModel(), and the reference unless referenceModel is set. */
  baseModel: string;
  /**
   * The id sampled for `reference` requests when the reference is not the bare base model (a run
   * that started from an SFT adapter: load that adapter on the fleet and name it here).
   */
  referenceModel?: string;
  /** Sent as `Authorization: Bearer KEY`. */
  apiKey?: string;
  /** One attempt's time limit in ms (default 120 000); a slower server is abandoned and the request retried elsewhere. */
  timeoutMs?: number;
  /** Attempts per row at most (default: number of servers + 2). */
  maxAttempts?: number;
  /** Requests in flight per server at most (default 32; rft serve batches them continuously and queues 64). Rows beyond the fleet's slots wait, and are not on the wire when --async training starts. */
  maxInFlight?: number;
  /** A server that failed is tried last for this long in ms (default 5000). */
  cooldownMs?: number;
  /** The model's vocabulary size: a reply with a token id outside it is a failure (the trainer could not score it). */
  vocabSize?: number;
  /** Choices per request at most (default 16, rft serve's limit; vLLM has none); a larger n is split. */
  maxChoicesPerRequest?: number;
}

export interface ServerStats {
  requests: number;
  failures: number;
  timeouts: number;
  /** Completion tokens received. */
  tokens: number;
}

export interface FleetStats {
  requests: number;
  failures: number;
  timeouts: number;
  /** Attempts made after a first one failed. */
  retries: number;
  /** Rows whose every attempt failed (their trajectories carry `error`). */
  rowsFailed: number;
  servers: Record<string, ServerStats>;
}

/** An error that retrying elsewhere cannot fix (our request is wrong): the whole rollout fails with it. */
export class FleetRequestError extends Error {}

class TimeoutError extends Error {}

class Server {
  inFlight = 0;
  downUntil = 0;
  assigned = 0;
  constructor(
    readonly url: string,
    readonly stats: ServerStats,
  ) {}
}

interface Choice {
  tokens: number[];
  logprobs: number[];
  finishReason: FinishReason;
}

/** "http://h:8000/v1/" → "http://h:8000". */
export function normalizeBaseUrl(u: string): string {
  let s = u.trim().replace(/\/+$/, '');
  if (s.endsWith('/v1')) s = s.slice(0, -3);
  let parsed: URL;
  try {
    parsed = new URL(s);
  } catch {
    throw new Error(`rollout server "${u}" is not a URL (expected e.g. http://127.0.0.1:8000)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`rollout server "${u}": only http:// and https:// are supported`);
  return s;
}

/** A per-row seed from the request's seed (the server derives each choice's stream from it). */
export function rowSeed(seed: number, rowIndex: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(rowIndex + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

export class FleetRolloutSource implements RolloutSource {
  readonly stats: FleetStats;
  private readonly servers: Server[];
  private model: string;
  private readonly waiters: (() => void)[] = [];
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxInFlight: number;
  private readonly cooldownMs: number;
  private readonly maxChoices: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  /** Requests whose body is not yet on the wire. */
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly opts: FleetOptions) {
    if (opts.servers.length === 0) throw new Error('a fleet needs at least one rollout server URL');
    const urls = opts.servers.map(normalizeBaseUrl);
    const dup = urls.find((u, i) => urls.indexOf(u) !== i);
    if (dup) throw new Error(`rollout server ${dup} is listed twice`);
    this.stats = { requests: 0, failures: 0, timeouts: 0, retries: 0, rowsFailed: 0, servers: {} };
    this.servers = urls.map((u) => {
      const s: ServerStats = { requests: 0, failures: 0, timeouts: 0, tokens: 0 };
      this.stats.servers[u] = s;
      return new Server(u, s);
    });
    this.model = opts.baseModel;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.maxAttempts = opts.maxAttempts ?? urls.length + 2;
    this.maxInFlight = opts.maxInFlight ?? 32;
    this.cooldownMs = opts.cooldownMs ?? 5000;
    this.maxChoices = opts.maxChoicesPerRequest ?? 16;
    if (!Number.isInteger(this.maxChoices) || this.maxChoices < 1) throw new Error(`maxChoicesPerRequest must be an integer >= 1, got ${this.maxChoices}`);
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: this.maxInFlight });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: this.maxInFlight });
  }

  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /** The model id policy rollouts are sampled from: the adapter name AdapterSync loaded last, or the base model. */
  get currentModel(): string {
    return this.model;
  }

  setModel(name: string): void {
    this.model = name;
  }

  async rollout(req: RolloutRequest): Promise<Trajectory[]> {
    const tok = this.opts.tokenizer;
    const prompts = req.rows.map((row, i) => {
      try {
        return tok.applyChatTemplate(promptMessages(row), { addGenerationPrompt: true, tools: row.tools });
      } catch (e) {
        throw new Error(`row ${i} of the batch: ${(e as Error).message}`);
      }
    });
    const stopTokens = [...new Set([...(req.sampling.stopTokens ?? []), ...tok.stopTokenIds])];
    const model = req.reference ? (this.opts.referenceModel ?? this.opts.baseModel) : this.model;
    const errors: string[] = [];
    const groups = await Promise.all(
      req.rows.map(async (row, i) => {
        // n above a server's limit goes out as several requests, each with its own seed.
        const sizes: number[] = [];
        for (let left = req.n; left > 0; left -= this.maxChoices) sizes.push(Math.min(left, this.maxChoices));
        const bodyOf = (n: number, chunk: number) => ({
          model, prompt: prompts[i], n, max_tokens: req.sampling.maxNewTokens, temperature: req.sampling.temperature,
          top_p: req.sampling.topP ?? 1, top_k: req.sampling.topK ?? 0, seed: rowSeed(chunk === 0 ? req.seed : (req.seed ^ Math.imul(chunk, 0x27d4eb2d)) >>> 0, i),
          ...(req.sampling.stopStrings?.length ? { stop: req.sampling.stopStrings } : {}),
          stop_token_ids: stopTokens, logprobs: 0, return_token_ids: true, return_tokens_as_token_ids: true,
        });
        try {
          const choices = (await Promise.all(sizes.map((n, chunk) => this.complete(bodyOf(n, chunk), n, req.signal)))).flat();
          return choices.map((c) => this.trajectory(row, i, prompts[i]!, c, stopTokens));
        } catch (e) {
          if (e instanceof FleetRequestError || req.signal?.aborted) throw e;
          this.stats.rowsFailed++;
          errors.push((e as Error).message);
          return Array.from({ length: req.n }, () => this.failed(row, i, prompts[i]!, (e as Error).message));
        }
      }),
    );
    if (req.rows.length > 0 && errors.length === req.rows.length)
      throw new Error(`every rollout request failed on the fleet (${this.urls.join(', ')}); last error: ${errors[errors.length - 1]}`);
    return groups.flat();
  }

  async close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private trajectory(row: Row, rowIndex: number, promptTokens: number[], c: Choice, stopTokens: number[]): Trajectory {
    // A server that ignored stop_token_ids and went on is cut where the trainer's own sampler would have stopped.
    const stopAt = c.tokens.findIndex((t) => stopTokens.includes(t));
    if (stopAt >= 0 && stopAt < c.tokens.length - 1) c = { tokens: c.tokens.slice(0, stopAt + 1), logprobs: c.logprobs.slice(0, stopAt + 1), finishReason: 'stop' };
    const textTokens = c.finishReason === 'stop' && stopTokens.includes(c.tokens[c.tokens.length - 1]!) ? c.tokens.slice(0, -1) : c.tokens;
    const output = this.opts.tokenizer.decode(textTokens);
    const messages: ChatMessage[] = [...promptMessages(row), { role: 'assistant', content: output }];
    return {
      row, messages, output, rowIndex,
      segments: [{ promptTokens, completionTokens: c.tokens, completionMask: c.tokens.map(() => 1), logprobs: c.logprobs }],
      finishReason: c.finishReason,
      stats: { turns: 1, toolCalls: 0, toolErrors: 0, sampledTokens: c.tokens.length, insertedTokens: 0 },
    };
  }

  private failed(row: Row, rowIndex: number, promptTokens: number[], error: string): Trajectory {
    return {
      row, messages: [...promptMessages(row)], output: '', rowIndex,
      segments: [{ promptTokens, completionTokens: [], completionMask: [], logprobs: [] }],
      finishReason: 'error', error: `fleet: ${error}`,
      stats: { turns: 0, toolCalls: 0, toolErrors: 0, sampledTokens: 0, insertedTokens: 0 },
    };
  }

  /** One row's request, retried on other servers until it succeeds or attempts run out. */
  private async complete(body: Record<string, unknown>, n: number, signal?: AbortSignal): Promise<Choice[]> {
    const tried = new Set<Server>();
    let last: Error | null = null;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      if (attempt > 0) this.stats.retries++;
      if (tried.size === this.servers.length) tried.clear();
      const server = await this.acquire(tried, signal);
      tried.add(server);
      try {
        const choices = await this.attempt(server, body, n, signal);
        server.downUntil = 0;
        return choices;
      } catch (e) {
        if (e instanceof FleetRequestError || signal?.aborted) throw e;
        last = e as Error;
        server.stats.failures++;
        this.stats.failures++;
        server.downUntil = Date.now() + this.cooldownMs;
      } finally {
        this.release(server);
      }
    }
    throw new Error(`${this.maxAttempts} attempts failed; last: ${last?.message}`);
  }

  private async attempt(server: Server, body: Record<string, unknown>, n: number, signal?: AbortSignal): Promise<Choice[]> {
    server.stats.requests++;
    this.stats.requests++;
    let res: { status: number; text: string };
    try {
      res = await this.post(server, 'v1/completions', JSON.stringify(body), signal);
    } catch (e) {
      if (e instanceof TimeoutError) {
        server.stats.timeouts++;
        this.stats.timeouts++;
      }
      throw e;
    }
    if (res.status < 200 || res.status >= 300) {
      let message = res.text.slice(0, 500);
      try {
        message = (JSON.parse(res.text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        /* not JSON */
      }
      // A request the server calls malformed fails the same way everywhere; a missing model may be a server that lags.
      if (res.status === 400 || res.status === 401 || res.status === 403 || res.status === 413 || res.status === 422)
        throw new FleetRequestError(`rollout server ${server.url} refused the request (${res.status}): ${message}`);
      throw new Error(`${server.url}: HTTP ${res.status}: ${message}`);
    }
    const choices = parseChoices(res.text, n, server.url, { vocabSize: this.opts.vocabSize, maxTokens: body.max_tokens as number });
    for (const c of choices) server.stats.tokens += c.tokens.length;
    return choices;
  }

  /**
   * One POST over node:http(s) (not fetch: its request body is known to be on the wire when
   * `end`'s callback runs, which dispatched() relies on). Rejects on connection errors, a
   * response cut short (a server killed mid-reply), the timeout, or the caller's abort.
   */
  private post(server: Server, path: string, body: string, signal?: AbortSignal): Promise<{ status: number; text: string }> {
    const url = new URL(path.replace(/^\//, ''), server.url + '/');
    const lib = url.protocol === 'https:' ? https : http;
    let flushed!: () => void;
    const sent = new Promise<void>((r) => (flushed = r));
    this.sending.add(sent);
    const done = () => {
      flushed();
      this.sending.delete(sent);
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (e: Error | null, v?: { status: number; text: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        done();
        if (e) reject(e);
        else resolve(v!);
      };
      const req = lib.request(url, {
        method: 'POST', agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) },
      });
      const timer = setTimeout(() => {
        finish(new TimeoutError(`${server.url}: no reply within ${this.timeoutMs} ms`));
        req.destroy();
      }, this.timeoutMs);
      const onAbort = () => {
        finish(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e: Error & { code?: string }) => finish(new Error(`${server.url}: ${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ''}`)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish(new Error(`${server.url}: the reply broke off: ${e.message}`)));
        res.on('close', () => {
          if (!res.complete) finish(new Error(`${server.url}: the reply broke off (the connection closed)`));
          else finish(null, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(body, done);
    });
  }

  /**
   * Resolves once every request started so far is on the wire. A caller about to block the event
   * loop (a training step on the CPU) awaits it first, so the fleet samples meanwhile.
   */
  async dispatched(): Promise<void> {
    await new Promise((r) => setImmediate(r)); // let rollout()'s rows reach post()
    await Promise.all([...this.sending]);
  }

  /** A server with a free slot, not yet tried for this row; healthy ones first, then the fewest in flight. */
  private async acquire(tried: Set<Server>, signal?: AbortSignal): Promise<Server> {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const now = Date.now();
      const open = this.servers.filter((s) => !tried.has(s));
      const healthy = open.filter((s) => s.downUntil <= now);
      const pool = healthy.length ? healthy : open;
      const free = pool.filter((s) => s.inFlight < this.maxInFlight);
      if (free.length) {
        free.sort((a, b) => a.inFlight - b.inFlight || a.assigned - b.assigned);
        const s = free[0]!;
        s.inFlight++;
        s.assigned++;
        return s;
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        // A server coming out of its cooldown changes the pool without a release.
        setTimeout(resolve, Math.min(this.cooldownMs, 1000)).unref();
      });
    }
  }

  private release(s: Server): void {
    s.inFlight--;
    for (const w of this.waiters.splice(0)) w();
  }
}

/** The choices of a vLLM-style completions reply, checked: n choices, ids and log-probs of equal length, finite log-probs ≤ 0. */
export function parseChoices(text: string, n: number, from: string, limits: { vocabSize?: number; maxTokens?: number } = {}): Choice[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${from}: the reply is not JSON`);
  }
  const choices = (body as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length !== n) throw new Error(`${from}: expected ${n} choices, got ${Array.isArray(choices) ? choices.length : 'none'}`);
  const out: Choice[] = new Array(n);
  for (const raw of choices) {
    const c = raw as { index?: unknown; token_ids?: unknown; logprobs?: { tokens?: unknown; token_logprobs?: unknown } | null; finish_reason?: unknown };
    const index = c.index;
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= n || out[index as number]) throw new Error(`${from}: choice index ${JSON.stringify(index)} is missing, repeated or out of range`);
    const lps = c.logprobs?.token_logprobs;
    if (!Array.isArray(lps)) throw new Error(`${from}: choice ${index} has no logprobs.token_logprobs (the server must honour "logprobs": 0)`);
    let ids = c.token_ids;
    if (ids === undefined || ids === null) {
      // Servers without return_token_ids (vLLM < 0.10.2): the ids from return_tokens_as_token_ids names.
      const names = c.logprobs?.tokens;
      if (!Array.isArray(names)) throw new Error(`${from}: choice ${index} has neither token_ids nor logprobs.tokens`);
      ids = names.map((t) => (typeof t === 'string' && /^token_id:\d+$/.test(t) ? Number(t.slice(9)) : NaN));
    }
    if (!Array.isArray(ids) || !ids.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) throw new Error(`${from}: choice ${index}: token ids must be integers >= 0`);
    const V = limits.vocabSize;
    if (V !== undefined && ids.some((x) => (x as number) >= V)) throw new Error(`${from}: choice ${index}: token id ${ids.find((x) => (x as number) >= V)} is outside the vocabulary (0..${V - 1})`);
    if (limits.maxTokens !== undefined && ids.length > limits.maxTokens) throw new Error(`${from}: choice ${index}: ${ids.length} tokens, more than the ${limits.maxTokens} asked for`);
    if (lps.length !== ids.length) throw new Error(`${from}: choice ${index}: ${ids.length} token ids but ${lps.length} log-probs`);
    // vLLM reports -inf as -9999; anything above 0 (beyond rounding) is not a log-probability.
    if (!lps.every((x) => typeof x === 'number' && Number.isFinite(x) && x <= 1e-4)) throw new Error(`${from}: choice ${index}: log-probs must be finite numbers <= 0`);
    const fr = c.finish_reason;
    if (fr !== 'stop' && fr !== 'length') throw new Error(`${from}: choice ${index} finished with ${JSON.stringify(fr)} (expected "stop" or "length")`);
    out[index as number] = { tokens: ids as number[], logprobs: (lps as number[]).map((x) => Math.min(x, 0)), finishReason: fr };
  }
  return out;
}
