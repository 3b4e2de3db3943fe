/**
 * The OpenAI-compatible HTTP server on node:http: `/v1/chat/completions`, `/v1/completions`,
 * `/v1/models`, vLLM's `/v1/load_lora_adapter` and `/v1/unload_lora_adapter`, and `/health`.
 * Requests are validated into a JobSpec and handed to the Scheduler (continuous batching).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { existsSync, statSync } from 'node:fs';
import { readDetachedAdapter, type DetachedAdapter } from '../model/decode-batch.js';
import type { ModelTokenizer } from '../model/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import { ApiError, badRequest, notFound } from './errors.js';
import { readJsonBody } from './body.js';
import { Scheduler, type JobResult, type SchedulerOptions, type TokenLogprob } from './scheduler.js';
import { parseGenerationRequest, type GenerationRequest } from './validate.js';
import { chatLogprobs, chatMessage, completionLogprobs, usage } from './responses.js';

export interface ServerOptions extends SchedulerOptions {
  model: Transformer;
  tokenizer: ModelTokenizer;
  /** The id the base model is served under (e.g. its folder name). */
  modelName: string;
  /** Adapters to load at start: name → PEFT folder. */
  adapters?: Record<string, string>;
  /** When set, /v1/* needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest request body in bytes (default 4 MiB); larger gets 413. */
  maxBodyBytes?: number;
  /**
   * Serve vLLM's runtime LoRA routes (`/v1/load_lora_adapter`, `/v1/unload_lora_adapter`); off by
   * default, as in vLLM (VLLM_ALLOW_RUNTIME_LORA_UPDATING), since they read any folder the server can.
   */
  allowRuntimeLora?: boolean;
}

interface LoadedAdapter {
  name: string;
  path: string;
  weights: DetachedAdapter;
  created: number;
}

const NAME_RE = /^[A-Za-z0-9._:/-]{1,128}$/;

export class InferenceServer {
  readonly scheduler: Scheduler;
  readonly http: Server;
  private readonly adapters = new Map<string, LoadedAdapter>();
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly maxBody: number;

  constructor(private readonly opts: ServerOptions) {
    if (!NAME_RE.test(opts.modelName)) throw new Error(`model name "${opts.modelName}" must be 1-128 letters, digits or ._:/-`);
    this.scheduler = new Scheduler(opts.model, opts.tokenizer, opts);
    this.maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
    for (const [name, path] of Object.entries(opts.adapters ?? {})) this.loadAdapter(name, path);
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((e) => this.sendError(res, e));
    });
    // Longer than clients' idle timeouts, so a client never reuses a socket the server is closing;
    // close() ends idle sockets itself.
    this.http.keepAliveTimeout = 65_000;
  }

  async listen(port = 8000, host = '127.0.0.1'): Promise<{ port: number; host: string }> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    return { port: (this.http.address() as AddressInfo).port, host };
  }

  /** Graceful stop: no new connections or requests; running ones finish (up to graceMs) or are cancelled. */
  async close(graceMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await this.scheduler.close(graceMs);
    this.http.closeIdleConnections();
    setTimeout(() => this.http.closeAllConnections(), 1000).unref();
    await closed;
  }

  /**
   * Loads an adapter under a name; a name already loaded is an error unless `inplace` (vLLM's
   * load_inplace), which replaces its weights. Running requests keep the weights they started with.
   */
  loadAdapter(name: string, path: string, inplace = false): void {
    if (!NAME_RE.test(name)) throw badRequest(`lora_name "${name}" must be 1-128 letters, digits or ._:/-`, 'lora_name');
    if (name === this.opts.modelName) throw badRequest(`lora_name "${name}" is the base model's name`, 'lora_name');
    if (this.adapters.has(name) && !inplace)
      throw badRequest(`The lora adapter '${name}' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to true.`, 'lora_name', 'adapter_already_loaded');
    if (!existsSync(path) || !statSync(path).isDirectory()) throw notFound(`lora_path ${path}: no such folder on the server (expected a PEFT adapter folder with adapter_config.json)`, 'lora_path', 'adapter_not_found');
    let weights: DetachedAdapter;
    try {
      weights = readDetachedAdapter(this.opts.model, path);
    } catch (e) {
      throw badRequest(`lora_path ${path}: ${(e as Error).message}`, 'lora_path', 'invalid_adapter');
    }
    this.adapters.set(name, { name, path, weights, created: Math.floor(Date.now() / 1000) });
  }

  unloadAdapter(name: string): void {
    if (!this.adapters.delete(name)) throw notFound(`The lora adapter '${name}' cannot be found (loaded: ${this.adapterNames.join(', ') || 'none'}).`, 'lora_name', 'adapter_not_found');
  }

  private runtimeLora(): void {
    if (!this.opts.allowRuntimeLora)
      throw notFound('runtime LoRA loading is off on this server; start it with `rft serve --allow-runtime-lora` (or VLLM_ALLOW_RUNTIME_LORA_UPDATING=1)', null, 'runtime_lora_disabled');
  }

  get adapterNames(): string[] {
    return [...this.adapters.keys()];
  }

  /**
   * Serves one request as this server would, for a server that mounts these routes in its own
   * HTTP stack (`rft server`); `body` is the already-read JSON body when the caller had to look
   * at it first (e.g. to route on `model`).
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, body?: Record<string, unknown>): Promise<void> {
    return this.handle(req, res, body).catch((e) => this.sendError(res, e));
  }

  /** The models this server answers for: the base model and its adapters (the data of GET /v1/models). */
  modelList(): ReturnType<InferenceServer['models']> {
    return this.models();
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body?: Record<string, unknown>): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/health') return this.sendJson(res, 200, { status: 'ok', ...this.scheduler.load, adapters: this.adapterNames.length, tokens: this.scheduler.stats.tokens });
    if (!path.startsWith('/v1/')) throw notFound(`no route ${req.method} ${path}`, null, 'unknown_url');
    if (this.opts.apiKey !== undefined) {
      const auth = req.headers.authorization ?? '';
      if (auth !== `Bearer ${this.opts.apiKey}`)
        throw new ApiError(401, auth ? 'incorrect API key provided' : 'missing API key: send "Authorization: Bearer <key>"', 'authentication_error', null, 'invalid_api_key');
    }
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /v1/models':
        return this.sendJson(res, 200, { object: 'list', data: this.models() });
      case 'POST /v1/chat/completions':
        return this.generate(req, res, 'chat', body);
      case 'POST /v1/completions':
        return this.generate(req, res, 'completion', body);
      // vLLM's runtime LoRA API; its success replies are plain text, as vLLM's are.
      case 'POST /v1/load_lora_adapter': {
        this.runtimeLora();
        const b = await this.readJson(req);
        if (typeof b.lora_name !== 'string' || !b.lora_name) throw badRequest('lora_name: required string', 'lora_name');
        if (typeof b.lora_path !== 'string' || !b.lora_path) throw badRequest('lora_path: required string (a PEFT adapter folder the server can read)', 'lora_path');
        if (b.load_inplace !== undefined && typeof b.load_inplace !== 'boolean') throw badRequest('load_inplace: must be true or false', 'load_inplace');
        this.loadAdapter(b.lora_name, b.lora_path, b.load_inplace === true);
        return this.sendText(res, 200, `Success: LoRA adapter '${b.lora_name}' added successfully.`);
      }
      case 'POST /v1/unload_lora_adapter': {
        this.runtimeLora();
        const b = await this.readJson(req);
        if (typeof b.lora_name !== 'string' || !b.lora_name) throw badRequest('lora_name: required string', 'lora_name');
        this.unloadAdapter(b.lora_name);
        return this.sendText(res, 200, `Success: LoRA adapter '${b.lora_name}' removed successfully.`);
      }
    }
    if (path.startsWith('/v1/models/') && req.method === 'GET') {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      const m = this.models().find((x) => x.id === id);
      if (!m) throw notFound(`the model "${id}" does not exist`, 'model', 'model_not_found');
      return this.sendJson(res, 200, m);
    }
    const known = ['/v1/models', '/v1/chat/completions', '/v1/completions', '/v1/load_lora_adapter', '/v1/unload_lora_adapter'];
    if (known.includes(path)) throw new ApiError(405, `${req.method} is not allowed on ${path}`, 'invalid_request_error', null, 'method_not_allowed');
    throw notFound(`no route ${req.method} ${path}`, null, 'unknown_url');
  }

  private models(): { id: string; object: 'model'; created: number; owned_by: string; root: string; parent: string | null }[] {
    const base = { id: this.opts.modelName, object: 'model' as const, created: this.created, owned_by: 'rft', root: this.opts.modelName, parent: null };
    return [base, ...[...this.adapters.values()].map((a) => ({ id: a.name, object: 'model' as const, created: a.created, owned_by: 'rft', root: a.path, parent: this.opts.modelName }))];
  }

  private readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    return readJsonBody(req, this.maxBody);
  }

  /** Prompt token ids of each prompt of a request (one for chat), checked against the vocabulary. */
  private promptIds(r: GenerationRequest): number[][] {
    const tok = this.opts.tokenizer;
    if (r.kind === 'chat') {
      if (!tok.hasChatTemplate) throw badRequest('this model has no chat template; use POST /v1/completions with a prompt', 'messages', 'no_chat_template');
      let ids: number[];
      try {
        ids = tok.encodeChat(r.messages!, { addGenerationPrompt: true, tools: r.toolChoice !== 'none' ? r.tools : undefined });
      } catch (e) {
        throw badRequest(`messages: ${(e as Error).message}`, 'messages');
      }
      if (ids.length === 0) throw badRequest('the prompt encodes to no tokens', 'messages');
      return [ids];
    }
    const V = this.opts.model.config.vocabSize;
    const many = r.prompts !== undefined;
    return (r.prompts ?? [r.prompt!]).map((p, i) => {
      const param = many ? `prompt[${i}]` : 'prompt';
      if (typeof p === 'string') {
        const ids = tok.encode(p);
        if (ids.length === 0) throw badRequest(`${param}: the prompt encodes to no tokens`, param);
        return ids;
      }
      const badId = p.findIndex((id) => id >= V);
      if (badId >= 0) throw badRequest(`${param}[${badId}]: token id ${p[badId]} is outside the vocabulary (0..${V - 1})`, `${param}[${badId}]`);
      return p;
    });
  }

  private async generate(req: IncomingMessage, res: ServerResponse, kind: 'chat' | 'completion', body?: Record<string, unknown>): Promise<void> {
    const r = parseGenerationRequest(body ?? (await this.readJson(req)), kind);
    let adapter: DetachedAdapter | null = null;
    if (r.model !== this.opts.modelName) {
      const a = this.adapters.get(r.model);
      if (!a) throw notFound(`the model "${r.model}" does not exist; available: ${this.models().map((m) => m.id).join(', ')}`, 'model', 'model_not_found');
      adapter = a.weights;
    }
    const prompts = this.promptIds(r);
    const ctx = this.scheduler.contextLength;
    const promptParam = kind === 'chat' ? 'messages' : 'prompt';
    for (const [i, ids] of prompts.entries()) {
      const which = prompts.length > 1 ? `prompt[${i}]` : 'the prompt';
      if (ids.length >= ctx) throw badRequest(`${which} has ${ids.length} tokens; the model's context length is ${ctx} tokens`, prompts.length > 1 ? which : promptParam, 'context_length_exceeded');
      if (r.maxTokens !== undefined && ids.length + r.maxTokens > ctx)
        throw badRequest(`max_tokens ${r.maxTokens} plus ${prompts.length > 1 ? which + "'s" : "the prompt's"} ${ids.length} tokens exceed the model's context length of ${ctx} tokens; ask for at most ${ctx - ids.length}`, 'max_tokens', 'context_length_exceeded');
    }
    const toolNames = r.tools && r.toolChoice !== 'none' ? new Set(r.tools.map((t) => t.function.name)) : null;
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const specOf = (ids: number[]) => ({
      promptIds: ids, adapter, n: r.n, maxTokens: r.maxTokens ?? ctx - ids.length, params: { temperature: r.temperature, topP: r.topP, topK: r.topK },
      seed: r.seed, stops: r.stop, logprobs: r.logprobs, topLogprobs: r.topLogprobs, jsonMode: r.jsonMode, ignoreEos: r.ignoreEos, stopTokenIds: r.stopTokenIds,
    });
    const base = { id, created, model: r.model };
    const asIds = r.tokensAsIds;

    if (!r.stream) {
      // Several prompts: one scheduler job each, choices numbered prompt by prompt (index = prompt·n + choice), as vLLM does.
      const cancels: (() => void)[] = [];
      res.on('close', () => {
        if (!res.writableFinished) for (const c of cancels) c();
      });
      let results: JobResult[];
      try {
        results = await Promise.all(
          prompts.map((ids) => new Promise<JobResult>((resolve, reject) => cancels.push(this.scheduler.submit(specOf(ids), { onDone: resolve, onError: reject })))),
        );
      } catch (e) {
        for (const c of cancels) c();
        throw e;
      }
      const total = { promptTokens: results.reduce((a, x) => a + x.promptTokens, 0), completionTokens: results.reduce((a, x) => a + x.completionTokens, 0), choices: [] };
      if (kind === 'chat') {
        const result = results[0]!;
        return this.sendJson(res, 200, {
          ...base, object: 'chat.completion', system_fingerprint: 'rft',
          choices: result.choices.map((c) => {
            const m = chatMessage(c, toolNames);
            return { index: c.index, message: m.message, logprobs: r.logprobs ? chatLogprobs(c.logprobs, asIds) : null, finish_reason: m.finishReason, ...(r.returnTokenIds ? { token_ids: c.tokens } : {}) };
          }),
          usage: usage(result),
          ...(r.returnTokenIds ? { prompt_token_ids: prompts[0] } : {}),
        });
      }
      return this.sendJson(res, 200, {
        ...base, object: 'text_completion', system_fingerprint: 'rft',
        choices: results.flatMap((result, p) =>
          result.choices.map((c) => ({
            index: p * r.n + c.index, text: c.text, logprobs: r.logprobs ? completionLogprobs(c.logprobs, 0, asIds) : null, finish_reason: c.finishReason,
            ...(r.returnTokenIds ? { prompt_token_ids: prompts[p], token_ids: c.tokens } : {}),
          })),
        ),
        usage: usage(total),
      });
    }
    const ids = prompts[0]!;
    const spec = specOf(ids);

    // Streaming (SSE). Headers go out once the request is queued, so queue errors are still plain JSON errors.
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const write = (o: unknown) => {
      if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(o)}\n\n`);
    };
    const chunkUsage = r.includeUsage ? { usage: null } : {};
    const bufferTools = toolNames !== null; // tool calls are parsed from the whole output, then sent at the end
    const textSoFar = new Map<number, string>();
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      if (kind === 'chat') for (let i = 0; i < r.n; i++) write({ ...base, object, system_fingerprint: 'rft', choices: [{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...chunkUsage, ...(i === 0 ? chatPromptIds : {}) });
    };
    // return_token_ids: each chunk carries the ids sampled since the previous chunk of its choice
    // (ids whose text is held back wait for the next chunk); the first chunk of a choice carries the prompt's ids.
    const pendingIds = new Map<number, number[]>();
    const promptIdsSent = new Set<number>();
    const idFields = (index: number): Record<string, unknown> => {
      if (!r.returnTokenIds) return {};
      const token_ids = pendingIds.get(index) ?? [];
      pendingIds.set(index, []);
      if (kind === 'chat' || promptIdsSent.has(index)) return { token_ids };
      promptIdsSent.add(index);
      return { prompt_token_ids: ids, token_ids };
    };
    const chatPromptIds = r.returnTokenIds && kind === 'chat' ? { prompt_token_ids: ids } : {};
    const onDelta = (index: number, text: string, lps: TokenLogprob[], tokens: number[]) => {
      if (r.returnTokenIds) pendingIds.set(index, [...(pendingIds.get(index) ?? []), ...tokens]);
      if (bufferTools || (!text && !(r.logprobs && lps.length))) return;
      const offset = textSoFar.get(index) ?? '';
      textSoFar.set(index, offset + text);
      if (kind === 'chat') write({ ...base, object, system_fingerprint: 'rft', choices: [{ index, delta: { content: text }, logprobs: r.logprobs ? chatLogprobs(lps, asIds) : null, finish_reason: null, ...idFields(index) }], ...chunkUsage });
      else write({ ...base, object, system_fingerprint: 'rft', choices: [{ index, text, logprobs: r.logprobs ? completionLogprobs(lps, offset.length, asIds) : null, finish_reason: null, ...idFields(index) }], ...chunkUsage });
    };
    const onDone = (result: JobResult) => {
      for (const c of result.choices) {
        if (kind === 'chat') {
          const m = chatMessage(c, toolNames);
          if (bufferTools) {
            const delta = m.message.tool_calls
              ? { content: m.message.content, tool_calls: m.message.tool_calls.map((t, i) => ({ index: i, ...t })) }
              : { content: m.message.content };
            write({ ...base, object, system_fingerprint: 'rft', choices: [{ index: c.index, delta, logprobs: r.logprobs ? chatLogprobs(c.logprobs, asIds) : null, finish_reason: null, ...idFields(c.index) }], ...chunkUsage });
          }
          write({ ...base, object, system_fingerprint: 'rft', choices: [{ index: c.index, delta: {}, logprobs: null, finish_reason: m.finishReason, ...idFields(c.index) }], ...chunkUsage });
        } else write({ ...base, object, system_fingerprint: 'rft', choices: [{ index: c.index, text: '', logprobs: null, finish_reason: c.finishReason, ...idFields(c.index) }], ...chunkUsage });
      }
      if (r.includeUsage) write({ ...base, object, system_fingerprint: 'rft', choices: [], usage: usage(result) });
      if (!res.writableEnded) res.end('data: [DONE]\n\n');
    };
    const onError = (e: ApiError) => {
      if (!started) return this.sendError(res, e);
      write(e.toJSON());
      if (!res.writableEnded) res.end('data: [DONE]\n\n');
    };
    const cancel = this.scheduler.submit(spec, { onDelta, onDone, onError });
    start();
    res.on('close', () => {
      if (!res.writableFinished) cancel();
    });
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private sendText(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendError(res: ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`, 'server_error', null, 'internal_error');
    const headers: Record<string, string> = {};
    if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
    // After a 413 the rest of the body is not read: close the connection instead of reusing it.
    if (err.status === 413) headers.connection = 'close';
    this.sendJson(res, err.status, err.toJSON(), headers);
  }
}
