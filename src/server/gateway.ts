/**
 * The rollout gateway: an OpenAI-compatible endpoint on 127.0.0.1 serving the policy being trained
 * to agents (client-form agents in process, remote agents over eval-protocol's `/init`), recording
 * for every rollout each request's prompt token ids, sampled ids, log-probs, parsed tool calls
 * and messages, so the agent never handles tokens and nothing is re-tokenised for training.
 *
 * Each rollout gets its own base URL, eval-protocol's `model_base_url` shape:
 *   {gateway}/rollout_id/{id}/invocation_id/{id}/experiment_id/{id}/run_id/{id}/row_id/{id}
 * followed by the OpenAI paths, with or without `/v1` (the official clients append
 * `/chat/completions` to whatever base URL they are given). A bare `/v1/chat/completions?rollout_id=…`
 * works too. Routes (after the prefix): `POST /v1/chat/completions` (streaming too),
 * `POST /v1/completions`, `GET /v1/models`. Without a prefix: `POST /logs` and `/v1/logs` (status
 * logs in the shape eval-protocol's tracing handler posts), `GET /v1/status?rollout_id=…`,
 * `GET /health`.
 *
 * Sampling parameters come from the run (`open()`): a request may lower `max_tokens` and add stop
 * strings; its temperature, top_p, seed and any other parameter are ignored. One choice per request (n = 1). Unknown
 * and finished rollouts get 404; with an API key, requests without `Authorization: Bearer KEY` get 401.
 * Requests are batched together into `PolicyEngine.sample` calls (see PolicyBatcher).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { ChatMessage, Tool } from '../contracts/row.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import { isTerminal, STATUS, type FinishedRollout, type GatewayPort, type OpenRollout, type RecordedTurn, type RolloutStatus, type StatusLog } from '../rollout/gateway-port.js';
import { ApiError, badRequest, notFound } from './errors.js';
import { readJsonBody } from './body.js';
import { PolicyBatcher } from './policy-batcher.js';
import { chatLogprobs, chatMessage, completionLogprobs, usage } from './responses.js';
import type { ChoiceResult, JobResult, TokenLogprob } from './scheduler.js';
import { parseGenerationRequest } from './validate.js';

export interface GatewayOptions {
  policy: PolicyEngine;
  tokenizer: ChatTokenizer;
  /** The model name reported by /v1/models and handed to agents (default "policy"); requests may name any model. */
  modelName?: string;
  /** When set, every route but /health needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** The policy's context length: longer prompts get 400, max_tokens is cut to what fits. */
  contextLength?: number;
  /** Token ids must be below this (completions with token-id prompts). */
  vocabSize?: number;
  /** Prompts per sample() call at most (default 32). */
  maxBatch?: number;
  /** How long a request waits for others to join its batch when the policy is idle (default 5 ms). */
  batchWindowMs?: number;
  seed?: number;
  /** Largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number;
}

/** What the gateway counted: the §6 outcomes of misbehaving agents among them. */
export interface GatewayCounters {
  requests: number;
  /** Generation requests for a rollout id the gateway never opened. */
  unknownRollout: number;
  /** Generation requests for a rollout that was already finished. */
  finishedRollout: number;
  unauthorized: number;
  badRequests: number;
  statusLogs: number;
  /** A second terminal status for a rollout that already had one (ignored, 409). */
  duplicateStatus: number;
  /** A status log for a rollout that was already finished (404). */
  lateStatus: number;
  /** Malformed status logs (400). */
  badLogs: number;
}

interface Live {
  open: OpenRollout;
  turns: RecordedTurn[];
  status?: StatusLog;
  cancels: Set<(reason?: ApiError) => void>;
}

/** Request fields the gateway reads; the rest (temperature, top_p, seed, vendor extras) is the run's business and ignored. */
const READ = ['model', 'messages', 'prompt', 'max_tokens', 'max_completion_tokens', 'stop', 'stream', 'stream_options', 'tools', 'tool_choice', 'n', 'logprobs', 'top_logprobs', 'response_format'];

/** The request's messages as the evaluator reads them: text parts joined, tool calls exactly as sent (arguments as JSON strings). */
function recordedMessages(parsed: readonly unknown[], raw: unknown): ChatMessage[] {
  const sent = raw as { tool_calls?: unknown }[];
  return parsed.map((p, i) => {
    const m = structuredClone(p) as ChatMessage;
    if (Array.isArray(sent[i]?.tool_calls)) m.tool_calls = structuredClone(sent[i]!.tool_calls) as ChatMessage['tool_calls'];
    return m;
  });
}

const PREFIX = /^\/rollout_id\/([^/]+)\/invocation_id\/([^/]+)\/experiment_id\/([^/]+)\/run_id\/([^/]+)\/row_id\/([^/]+)(\/.*)?$/;

export class RolloutGateway implements GatewayPort {
  readonly http: Server;
  readonly modelName: string;
  readonly apiKey?: string;
  private readonly batcher: PolicyBatcher;
  private readonly live = new Map<string, Live>();
  /** Finished rollouts: id → last status (kept so late calls get a clear 404 and /v1/status answers). */
  private readonly done = new Map<string, { status?: StatusLog }>();
  private readonly maxBody: number;
  private readonly created = Math.floor(Date.now() / 1000);
  private address = '';
  private closed = false;
  readonly counters: GatewayCounters = { requests: 0, unknownRollout: 0, finishedRollout: 0, unauthorized: 0, badRequests: 0, statusLogs: 0, duplicateStatus: 0, lateStatus: 0, badLogs: 0 };

  constructor(private readonly opts: GatewayOptions) {
    this.modelName = opts.modelName ?? 'policy';
    this.apiKey = opts.apiKey;
    this.maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
    this.batcher = new PolicyBatcher(opts.policy, { maxBatch: opts.maxBatch, seed: opts.seed, windowMs: opts.batchWindowMs });
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((e) => this.sendError(res, e));
    });
    this.http.keepAliveTimeout = 65_000;
  }

  /** Starts listening (a free port by default) on 127.0.0.1; returns the gateway URL. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.address = `http://${host}:${(this.http.address() as AddressInfo).port}`;
    return this.address;
  }

  get url(): string {
    if (!this.address) throw new Error('the rollout gateway is not listening yet: call listen() first');
    return this.address;
  }

  get batching(): PolicyBatcher['stats'] {
    return this.batcher.stats;
  }

  open(r: OpenRollout): string {
    if (this.closed) throw new Error('open: the rollout gateway is closed');
    const m = r.metadata;
    const id = m.rollout_id;
    if (!id) throw new Error('open: metadata.rollout_id is empty');
    if (this.live.has(id) || this.done.has(id)) throw new Error(`open: rollout id "${id}" was already used`);
    if (!(Number.isInteger(r.sampling.maxNewTokens) && r.sampling.maxNewTokens > 0)) throw new Error(`open: sampling.maxNewTokens must be a positive integer, got ${r.sampling.maxNewTokens}`);
    this.live.set(id, { open: r, turns: [], cancels: new Set() });
    const seg = (k: keyof typeof m) => `${k}/${encodeURIComponent(m[k])}`;
    return `${this.url}/${seg('rollout_id')}/${seg('invocation_id')}/${seg('experiment_id')}/${seg('run_id')}/${seg('row_id')}`;
  }

  finish(rolloutId: string, status?: RolloutStatus): FinishedRollout {
    const l = this.live.get(rolloutId);
    if (!l) throw new Error(`finish: no open rollout "${rolloutId}"`);
    this.live.delete(rolloutId);
    const gone = notFound(`rollout "${rolloutId}" finished while this request waited`, null, 'rollout_finished');
    for (const c of l.cancels) c(gone);
    const final = l.status ?? (status ? { status, tags: [`rollout_id:${rolloutId}`] } : undefined);
    this.done.set(rolloutId, { status: final });
    // Remembered so late calls get a clear answer; the oldest are forgotten past 100 000 (a long run's worth).
    if (this.done.size > 100_000) this.done.delete(this.done.keys().next().value!);
    return { turns: l.turns, status: l.status };
  }

  /** Stops listening; queued requests fail with 503. Open rollouts stay open until finish(), so their sources still get what was recorded. */
  async close(): Promise<void> {
    this.closed = true;
    this.batcher.close();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    setTimeout(() => this.http.closeAllConnections(), 500).unref();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/health') return this.sendJson(res, 200, { status: 'ok', open_rollouts: this.live.size });
    if (this.apiKey !== undefined) {
      const auth = req.headers.authorization ?? '';
      if (auth !== `Bearer ${this.apiKey}`) {
        this.counters.unauthorized++;
        throw new ApiError(401, auth ? 'incorrect API key provided' : 'missing API key: send "Authorization: Bearer <key>" (the api_key rft gave the agent)', 'authentication_error', null, 'invalid_api_key');
      }
    }
    let rolloutId: string | null = url.searchParams.get('rollout_id');
    let rest = path;
    const m = PREFIX.exec(path);
    if (m) {
      try {
        rolloutId = decodeURIComponent(m[1]!);
      } catch {
        throw badRequest(`the rollout id in the URL is not valid percent-encoding: ${m[1]}`, null, 'invalid_url');
      }
      rest = m[6] ?? '/';
    }
    const op = rest.replace(/^\/v1(?=\/|$)/, '') || '/';
    const route = `${req.method} ${op}`;
    switch (route) {
      case 'GET /models':
        return this.sendJson(res, 200, { object: 'list', data: [this.model()] });
      case 'POST /chat/completions':
      case 'POST /completions':
        return this.generate(req, res, op === '/chat/completions' ? 'chat' : 'completion', rolloutId);
      case 'POST /logs':
        return this.postLog(req, res, m ? rolloutId : null);
      case 'GET /status':
        return this.getStatus(res, rolloutId);
    }
    if (op.startsWith('/models/') && req.method === 'GET') {
      let id = op.slice('/models/'.length);
      try {
        id = decodeURIComponent(id);
      } catch {
        /* shown as sent */
      }
      if (id !== this.modelName) throw notFound(`the model "${id}" does not exist; the gateway serves "${this.modelName}"`, 'model', 'model_not_found');
      return this.sendJson(res, 200, this.model());
    }
    if (['/models', '/chat/completions', '/completions', '/logs', '/status'].includes(op))
      throw new ApiError(405, `${req.method} is not allowed on ${path}`, 'invalid_request_error', null, 'method_not_allowed');
    throw notFound(`no route ${req.method} ${path}`, null, 'unknown_url');
  }

  private model() {
    return { id: this.modelName, object: 'model' as const, created: this.created, owned_by: 'rft' };
  }

  /** The open rollout a generation request is for, or a 404 saying why not. */
  private rollout(id: string | null): Live {
    if (id === null) {
      this.counters.unknownRollout++;
      throw notFound('no rollout in the URL: send requests to the model_base_url rft gave the agent ({gateway}/rollout_id/{id}/…/row_id/{id}/v1/chat/completions)', null, 'rollout_not_found');
    }
    const l = this.live.get(id);
    if (l) return l;
    if (this.done.has(id)) {
      this.counters.finishedRollout++;
      throw notFound(`rollout "${id}" is finished; it takes no more requests`, null, 'rollout_finished');
    }
    this.counters.unknownRollout++;
    throw notFound(`no rollout "${id}" is open on this gateway`, null, 'rollout_not_found');
  }

  private async generate(req: IncomingMessage, res: ServerResponse, kind: 'chat' | 'completion', rolloutId: string | null): Promise<void> {
    this.counters.requests++;
    this.rollout(rolloutId); // 404 before reading the body
    const body = await this.readJson(req);
    const live = this.rollout(rolloutId); // it may have finished while the body arrived
    let r;
    try {
      r = parseGenerationRequest(Object.fromEntries(Object.entries(body).filter(([k]) => READ.includes(k))), kind);
      if (r.n !== 1) throw badRequest(`n = ${r.n}: the rollout gateway samples one choice per request`, 'n');
      if (r.jsonMode) throw badRequest('response_format json is not supported by the rollout gateway (it samples the policy unconstrained)', 'response_format');
      if (r.topLogprobs > 0) throw badRequest('top_logprobs is not supported by the rollout gateway', 'top_logprobs');
      if (kind === 'completion' && r.prompt === undefined) throw badRequest('several prompts in one request: the rollout gateway takes one prompt per request', 'prompt');
    } catch (e) {
      this.counters.badRequests++;
      throw e;
    }
    const tok = this.opts.tokenizer;
    const tools = r.tools && r.toolChoice !== 'none' ? (r.tools as Tool[]) : undefined;
    let prompt: number[];
    try {
      // null content (an assistant message with tool calls, as OpenAI clients send it) renders as '' (simple templates concatenate it).
      if (kind === 'chat') prompt = tok.applyChatTemplate((r.messages as unknown as ChatMessage[]).map((m) => (m.content === null ? { ...m, content: '' } : m)), { addGenerationPrompt: true, tools });
      else if (typeof r.prompt === 'string') prompt = tok.encode(r.prompt);
      else prompt = r.prompt!;
    } catch (e) {
      this.counters.badRequests++;
      throw badRequest(`messages: ${(e as Error).message}`, 'messages');
    }
    const param = kind === 'chat' ? 'messages' : 'prompt';
    const V = this.opts.vocabSize;
    const bad = V === undefined ? -1 : prompt.findIndex((id) => id >= V);
    if (bad >= 0) throw badRequest(`prompt[${bad}]: token id ${prompt[bad]} is outside the vocabulary (0..${V! - 1})`, 'prompt');
    if (prompt.length === 0) throw badRequest('the prompt encodes to no tokens', param);
    const run = live.open.sampling;
    let maxNewTokens = Math.min(run.maxNewTokens, r.maxTokens ?? run.maxNewTokens);
    const ctx = this.opts.contextLength;
    if (ctx !== undefined) {
      if (prompt.length >= ctx) {
        this.counters.badRequests++;
        throw badRequest(`the prompt has ${prompt.length} tokens; the policy's context length is ${ctx} tokens`, param, 'context_length_exceeded');
      }
      maxNewTokens = Math.min(maxNewTokens, ctx - prompt.length);
    }
    const stopTokens = [...new Set([...(run.stopTokens ?? []), ...tok.stopTokenIds])];
    const stopStrings = [...new Set([...(run.stopStrings ?? []), ...r.stop])];
    const sampling = { ...run, maxNewTokens, stopTokens, stopStrings: stopStrings.length ? stopStrings : undefined };
    const job = this.batcher.submit({ prompt, sampling, reference: live.open.reference === true });
    live.cancels.add(job.cancel);
    res.on('close', () => {
      if (!res.writableFinished) job.cancel();
    });
    let sample;
    try {
      sample = await job.result;
    } finally {
      live.cancels.delete(job.cancel);
    }
    // The stop token is part of what the policy sampled (and is trained on), not of the reply text.
    const textTokens = sample.finishReason === 'stop' && stopTokens.includes(sample.tokens[sample.tokens.length - 1]!) ? sample.tokens.slice(0, -1) : sample.tokens;
    let text = tok.decode(textTokens);
    for (const s of stopStrings) {
      const at = text.indexOf(s);
      if (at >= 0) text = text.slice(0, at);
    }
    const choice: ChoiceResult = {
      index: 0,
      text,
      tokens: sample.tokens,
      logprobs: sample.tokens.map((id, i): TokenLogprob => ({ id, token: tok.decode([id]), logprob: sample.logprobs[i]!, top: [] })),
      finishReason: sample.finishReason,
    };
    const toolNames = tools ? new Set(tools.map((t) => t.function.name)) : null;
    const out = kind === 'chat' ? chatMessage(choice, toolNames) : { message: { role: 'assistant' as const, content: text }, finishReason: sample.finishReason };
    const reply: ChatMessage = { role: 'assistant', content: out.message.content, ...('tool_calls' in out.message && out.message.tool_calls ? { tool_calls: out.message.tool_calls } : {}) };
    live.turns.push({
      kind,
      promptTokens: prompt,
      sampledTokens: sample.tokens,
      logprobs: sample.logprobs,
      finishReason: sample.finishReason,
      messages: kind === 'chat' ? recordedMessages(r.messages!, body.messages) : [],
      reply,
      toolCalls: reply.tool_calls ?? [],
    });
    const result: JobResult = { choices: [choice], promptTokens: prompt.length, completionTokens: sample.tokens.length };
    const base = { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`, created: Math.floor(Date.now() / 1000), model: r.model, system_fingerprint: 'rft' };
    if (!r.stream) {
      if (kind === 'chat')
        return this.sendJson(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message: out.message, logprobs: r.logprobs ? chatLogprobs(choice.logprobs) : null, finish_reason: out.finishReason }], usage: usage(result) });
      return this.sendJson(res, 200, { ...base, object: 'text_completion', choices: [{ index: 0, text, logprobs: r.logprobs ? completionLogprobs(choice.logprobs) : null, finish_reason: out.finishReason }], usage: usage(result) });
    }
    // Streaming: the reply is sampled whole (one batched sample() call), then sent as SSE chunks.
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const write = (o: unknown) => {
      if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(o)}\n\n`);
    };
    const extra = r.includeUsage ? { usage: null } : {};
    if (kind === 'chat') {
      const object = 'chat.completion.chunk';
      const msg = out.message as { content: string | null; tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[] };
      write({ ...base, object, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...extra });
      const delta = msg.tool_calls ? { content: msg.content, tool_calls: msg.tool_calls.map((t, i) => ({ index: i, ...t })) } : { content: msg.content };
      write({ ...base, object, choices: [{ index: 0, delta, logprobs: r.logprobs ? chatLogprobs(choice.logprobs) : null, finish_reason: null }], ...extra });
      write({ ...base, object, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: out.finishReason }], ...extra });
    } else {
      const object = 'text_completion';
      write({ ...base, object, choices: [{ index: 0, text, logprobs: r.logprobs ? completionLogprobs(choice.logprobs) : null, finish_reason: null }], ...extra });
      write({ ...base, object, choices: [{ index: 0, text: '', logprobs: null, finish_reason: out.finishReason }], ...extra });
    }
    if (r.includeUsage) write({ ...base, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', choices: [], usage: usage(result) });
    res.end('data: [DONE]\n\n');
  }

  /** A status log, as eval-protocol's tracing handler posts it: {status: {code, message}, tags: ["rollout_id:…"], message, extras}. */
  private async postLog(req: IncomingMessage, res: ServerResponse, fromUrl: string | null): Promise<void> {
    let body: Record<string, unknown>;
    try {
      body = await this.readJson(req);
    } catch (e) {
      this.counters.badLogs++;
      throw e;
    }
    const badLog = (msg: string, param: string | null) => {
      this.counters.badLogs++;
      return badRequest(msg, param, 'invalid_log');
    };
    const tags = body.tags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw badLog('tags: must be an array of strings like "rollout_id:abc"', 'tags');
    const tagged = (tags as string[]).find((t) => t.startsWith('rollout_id:'))?.slice('rollout_id:'.length);
    const id = tagged ?? (typeof body.rollout_id === 'string' ? body.rollout_id : null) ?? fromUrl;
    if (!id) throw badLog('no rollout id: add a "rollout_id:<id>" tag', 'tags');
    let status: RolloutStatus | undefined;
    if (body.status !== undefined && body.status !== null && typeof body.status !== 'string') {
      const s = body.status as Record<string, unknown>;
      if (typeof s !== 'object' || Array.isArray(s) || !Number.isInteger(s.code)) throw badLog('status: must be {code: integer, message?: string}', 'status.code');
      if (s.message !== undefined && s.message !== null && typeof s.message !== 'string') throw badLog('status.message: must be a string', 'status.message');
      status = { code: s.code as number, message: (s.message as string | undefined) ?? undefined, details: Array.isArray(s.details) ? s.details : undefined };
    }
    if (body.extras !== undefined && body.extras !== null && (typeof body.extras !== 'object' || Array.isArray(body.extras))) throw badLog('extras: must be an object', 'extras');
    const live = this.live.get(id);
    if (!live) {
      if (this.done.has(id)) {
        this.counters.lateStatus++;
        throw notFound(`rollout "${id}" is already finished; the log came too late`, 'tags', 'rollout_finished');
      }
      this.counters.badLogs++;
      throw notFound(`no rollout "${id}" is open on this gateway`, 'tags', 'rollout_not_found');
    }
    this.counters.statusLogs++;
    if (!status) return this.sendJson(res, 200, { ok: true });
    const log: StatusLog = { status, tags: tags as string[], message: typeof body.message === 'string' ? body.message : undefined, extras: (body.extras as Record<string, unknown> | undefined) ?? undefined };
    if (live.status && isTerminal(live.status.status.code)) {
      this.counters.duplicateStatus++;
      throw new ApiError(409, `rollout "${id}" already reported status ${live.status.status.code}; this one (${status.code}) is ignored`, 'invalid_request_error', 'status', 'duplicate_status');
    }
    live.status = log;
    try {
      live.open.onStatus?.(log);
    } catch {
      /* a listener's failure is not the agent's */
    }
    return this.sendJson(res, 200, { ok: true });
  }

  /** eval-protocol's `GET /v1/status?rollout_id=…`: the last status posted (101 RUNNING while open without one). */
  private getStatus(res: ServerResponse, id: string | null): void {
    if (!id) throw badRequest('rollout_id: required query parameter', 'rollout_id');
    const live = this.live.get(id);
    const done = this.done.get(id);
    if (!live && !done) throw notFound(`no rollout "${id}" on this gateway`, 'rollout_id', 'rollout_not_found');
    const log = live ? live.status : done!.status;
    const status = log?.status ?? (live ? { code: STATUS.RUNNING, message: 'running' } : { code: STATUS.FINISHED, message: 'finished' });
    return this.sendJson(res, 200, { rollout_id: id, status, extras: log?.extras ?? {} });
  }

  private readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    return readJsonBody(req, this.maxBody);
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(status === 413 ? { connection: 'close' } : {}) });
    res.end(text);
  }

  private sendError(res: ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`, 'server_error', null, 'internal_error');
    if (err.status === 499) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    this.sendJson(res, err.status, err.toJSON());
  }
}
