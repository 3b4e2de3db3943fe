/**
 * Continuous batching: requests wait in a bounded queue, join the running batch after their
 * prefill, and every decode step advances all running sequences together (base and adapter rows
 * mixed, see DecodeBatch); a sequence leaves the batch as soon as it finishes or its client goes
 * away. Steps run one per event-loop turn (setImmediate), so HTTP I/O, new requests, cancellations
 * and adapter loads all happen between steps.
 */
import { randomInt } from 'node:crypto';
import { Rng } from '../engine/index.js';
import { DecodeBatch, prefillMany, type DetachedAdapter, type PrefillResult } from '../model/decode-batch.js';
import { chooseTokens, SamplingScratch, type SamplingParams } from '../model/sampling.js';
import type { ModelTokenizer } from '../model/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import { ApiError } from './errors.js';
import { JsonPrefix } from './json-prefix.js';
import { safeDecode, TextStream } from './text-stream.js';

export interface TokenLogprob {
  id: number;
  token: string;
  logprob: number;
  top: { id: number; token: string; logprob: number }[];
}

export type FinishReason = 'stop' | 'length';

interface TokenChoice {
  token: number;
  logprob: number;
}

export interface ChoiceResult {
  index: number;
  text: string;
  tokens: number[];
  logprobs: TokenLogprob[];
  finishReason: FinishReason;
}

export interface JobResult {
  choices: ChoiceResult[];
  promptTokens: number;
  completionTokens: number;
}

export interface JobSpec {
  promptIds: number[];
  adapter: DetachedAdapter | null;
  n: number;
  maxTokens: number;
  params: SamplingParams;
  /** Any integer; choice i draws from Rng(seed + i·0x9e3779b1) as `sample()` does, so results match `rft generate`. */
  seed?: number;
  stops: string[];
  logprobs: boolean;
  topLogprobs: number;
  /** Constrain the output to a JSON object (see JsonPrefix). */
  jsonMode: boolean;
  /** Do not stop at end-of-sequence tokens (only at max tokens or a stop string). */
  ignoreEos?: boolean;
  /** More ids that end a choice like end-of-sequence does (kept in `tokens`, as the model's eos is). */
  stopTokenIds?: number[];
}

export interface JobHandlers {
  /** New text (possibly empty), the log-probs asked for and the token ids sampled since the last call; only called when streaming. */
  onDelta?(index: number, text: string, logprobs: TokenLogprob[], tokens: number[]): void;
  onDone(r: JobResult): void;
  onError(e: ApiError): void;
}

export interface SchedulerOptions {
  /** Sequences decoded together at most (default 32). */
  maxBatch?: number;
  /** Requests waiting for a place in the batch at most; more get 429 (default 64). */
  maxQueue?: number;
  /** Prompt tokens prefilled per step at most (after the first request), bounding the pause new requests cause running ones (default 512). */
  prefillBudget?: number;
}

class Job {
  cancelled = false;
  finished = false;
  seqs: Seq[] = [];
  constructor(
    readonly spec: JobSpec,
    readonly handlers: JobHandlers,
  ) {}
}

interface Seq {
  job: Job;
  index: number;
  handle: number;
  tokens: number[];
  logprobs: TokenLogprob[];
  rng: Rng;
  text: TextStream;
  json: JsonPrefix | null;
  finish: FinishReason | null;
  /** JSON mode: text appended at the end to complete the object. */
  suffix: string;
}

export class Scheduler {
  private readonly queue: Job[] = [];
  private readonly running = new Map<number, Seq>();
  private batch: DecodeBatch;
  private scheduled = false;
  private closing = false;
  private readonly scratch = new SamplingScratch();
  private readonly tokenText = new Map<number, string>();
  private readonly eos: Set<number>;
  private readonly idle: (() => void)[] = [];
  readonly maxBatch: number;
  readonly maxQueue: number;
  readonly prefillBudget: number;
  /** Counters for /health and benchmarks. */
  readonly stats = { steps: 0, prefills: 0, tokens: 0, errors: 0 };

  constructor(
    readonly model: Transformer,
    readonly tok: ModelTokenizer,
    opts: SchedulerOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 32;
    this.maxQueue = opts.maxQueue ?? 64;
    this.prefillBudget = opts.prefillBudget ?? 512;
    this.batch = new DecodeBatch(model, model.config.maxPositionEmbeddings);
    this.eos = new Set(tok.eosTokenIds.length ? tok.eosTokenIds : model.config.eosTokenIds);
  }

  get contextLength(): number {
    return this.model.config.maxPositionEmbeddings;
  }

  get load(): { running: number; queued: number } {
    return { running: this.running.size, queued: this.queue.length };
  }

  /** Queues a request; throws 429 when the queue is full and 503 while shutting down. Returns a cancel function. */
  submit(spec: JobSpec, handlers: JobHandlers): () => void {
    if (this.closing) throw new ApiError(503, 'the server is shutting down', 'service_unavailable', null, 'shutting_down', 5);
    if (spec.n > this.maxBatch) throw new ApiError(400, `n = ${spec.n} exceeds the server's batch size ${this.maxBatch}`, 'invalid_request_error', 'n', 'invalid_value');
    if (this.queue.length >= this.maxQueue)
      throw new ApiError(429, `the server is overloaded (${this.queue.length} requests waiting); retry later`, 'rate_limit_error', null, 'overloaded', 1);
    const job = new Job(spec, handlers);
    this.queue.push(job);
    this.wake();
    return () => {
      job.cancelled = true;
      this.wake();
    };
  }

  /** Stops taking requests; lets running ones finish for up to graceMs, then cancels what is left. */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0)) this.fail(job, new ApiError(503, 'the server is shutting down', 'service_unavailable', null, 'shutting_down', 5));
    if (this.running.size === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        for (const s of this.running.values()) this.fail(s.job, new ApiError(503, 'the server shut down before this request finished', 'service_unavailable', null, 'shutting_down', 5));
        resolve();
      }, graceMs);
      this.idle.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.tick();
    });
  }

  private tick(): void {
    try {
      this.dropCancelled();
      this.admit();
      this.decode();
    } catch (e) {
      // A failing step (a bug, or memory) fails the requests in it, never the server.
      this.stats.errors++;
      const err = new ApiError(500, `generation failed: ${(e as Error).message}`, 'server_error', null, 'internal_error');
      for (const s of [...this.running.values()]) this.fail(s.job, err);
      this.batch = new DecodeBatch(this.model, this.model.config.maxPositionEmbeddings);
    }
    if (this.running.size || this.queue.length) this.wake();
    else for (const f of this.idle.splice(0)) f();
  }

  /** Drops requests whose clients went away; their handlers hear of it once (so nothing waits forever). */
  private dropCancelled(): void {
    const gone = new ApiError(499, 'the client closed the request', 'invalid_request_error', null, 'client_closed_request');
    for (const s of [...this.running.values()]) if (s.job.cancelled) this.fail(s.job, gone);
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]!.cancelled) this.fail(this.queue.splice(i, 1)[0]!, gone);
  }

  /**
   * Moves queued requests into the batch: as many as fit (batch size, prefill budget), prefilled
   * together — one batched forward per adapter among them.
   */
  private admit(): void {
    let budget = this.prefillBudget;
    let rows = this.batch.size;
    const jobs: Job[] = [];
    while (this.queue.length) {
      const job = this.queue[0]!;
      const first = rows === 0 && jobs.length === 0;
      if (!first && (rows + job.spec.n > this.maxBatch || budget <= 0)) break;
      this.queue.shift();
      budget -= job.spec.promptIds.length;
      rows += job.spec.n;
      jobs.push(job);
    }
    const groups = new Map<DetachedAdapter | null, Job[]>();
    for (const j of jobs) groups.set(j.spec.adapter, [...(groups.get(j.spec.adapter) ?? []), j]);
    for (const [adapter, group] of groups) {
      let results: PrefillResult[];
      try {
        results = prefillMany(this.model, group.map((j) => j.spec.promptIds), adapter);
      } catch (e) {
        for (const job of group) this.fail(job, new ApiError(400, `cannot run the prompt: ${(e as Error).message}`, 'invalid_request_error', null, 'invalid_prompt'));
        continue;
      }
      group.forEach((job, i) => this.start(job, results[i]!));
    }
  }

  private start(job: Job, p: PrefillResult): void {
    this.stats.prefills++;
    const handles = this.batch.join(p, job.spec.adapter, job.spec.n);
    const seed = job.spec.seed === undefined ? randomInt(2 ** 32) : ((job.spec.seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
    job.seqs = handles.map((handle, i) => ({
      job, index: i, handle, tokens: [], logprobs: [], rng: new Rng((seed + Math.imul(i + 1, 0x9e3779b1)) >>> 0),
      text: new TextStream(this.tok, job.spec.stops), json: job.spec.jsonMode ? new JsonPrefix() : null, finish: null, suffix: '',
    }));
    for (const s of job.seqs) this.running.set(s.handle, s);
    for (const s of job.seqs) this.advance(s, p.logits);
  }

  private decode(): void {
    if (this.batch.size === 0) return;
    const tokens = new Map<number, number>();
    for (const s of this.running.values()) tokens.set(s.handle, s.tokens[s.tokens.length - 1]!);
    const logits = this.batch.step(tokens);
    this.stats.steps++;
    for (const [h, l] of logits) {
      const s = this.running.get(h);
      if (s) this.advance(s, l);
    }
  }

  /** Picks the next token of s from its logits, reports it, and retires s when it is done. */
  private advance(s: Seq, logits: Float32Array): void {
    const spec = s.job.spec;
    const c = this.choose(s, logits);
    if (!c) {
      s.finish = 'length'; // JSON mode with no token that keeps the JSON valid
    } else {
      s.tokens.push(c.token);
      this.stats.tokens++;
      let lp: TokenLogprob | null = null;
      if (spec.logprobs) lp = { id: c.token, token: this.text(c.token), logprob: c.logprob, top: spec.topLogprobs ? this.top(logits, spec) : [] };
      if (lp) s.logprobs.push(lp);
      if ((this.eos.has(c.token) || spec.stopTokenIds?.includes(c.token)) && !spec.ignoreEos) s.finish = 'stop';
      else if (s.json) {
        s.json.push(this.text(c.token));
        if (s.json.complete) s.finish = 'stop';
      }
      const delta = s.text.update(s.tokens);
      if (s.text.stopped !== null) s.finish = 'stop';
      if (!s.finish && s.tokens.length >= spec.maxTokens) s.finish = 'length';
      s.job.handlers.onDelta?.(s.index, s.finish ? delta + s.text.finish(s.tokens) : delta, lp ? [lp] : [], [c.token]);
    }
    if (!s.finish) return;
    if (s.json && !s.json.complete) {
      s.suffix = s.json.closingSuffix();
      s.job.handlers.onDelta?.(s.index, s.text.finish(s.tokens) + s.suffix, [], []);
    }
    this.remove(s);
    const job = s.job;
    if (!job.finished && job.seqs.every((x) => x.finish)) {
      job.finished = true;
      const choices = job.seqs.map((x) => ({ index: x.index, text: (x.text.stopped ?? x.text.decode(x.tokens)) + x.suffix, tokens: x.tokens, logprobs: x.logprobs, finishReason: x.finish! }));
      try {
        job.handlers.onDone({ choices, promptTokens: spec.promptIds.length, completionTokens: choices.reduce((a, x) => a + x.tokens.length, 0) });
      } catch {
        /* a handler failing (e.g. writing to a closed socket) must not stop the batch */
      }
    }
  }

  private remove(s: Seq): void {
    if (this.running.delete(s.handle)) this.batch.leave(s.handle);
  }

  private fail(job: Job, e: ApiError): void {
    job.cancelled = true;
    for (const s of job.seqs) this.remove(s);
    if (job.finished) return;
    job.finished = true;
    try {
      job.handlers.onError(e);
    } catch {
      /* see advance() */
    }
  }

  private text(id: number): string {
    let t = this.tokenText.get(id);
    if (t === undefined) {
      t = safeDecode(this.tok, [id], false);
      this.tokenText.set(id, t);
    }
    return t;
  }

  /** One row's token with the model layer's sampler (as `sample()` draws it, from the same per-choice generator). */
  private pick(logits: Float32Array, params: SamplingParams, rng: Rng): TokenChoice {
    const c = chooseTokens(logits, 1, logits.length, params, [rng], this.scratch);
    return { token: c.tokens[0]!, logprob: c.logprobs[0]! };
  }

  private choose(s: Seq, logits: Float32Array): TokenChoice | null {
    const params = s.job.spec.params;
    const c = this.pick(logits, params, s.rng);
    if (!s.json || this.jsonAllows(s.json, c.token)) return c;
    // The model's pick would break the JSON: sample again among the tokens that keep it a valid
    // prefix (the others get a logit so low their probability is 0; the sampler wants finite logits).
    const masked = new Float32Array(logits.length).fill(-1e30);
    let any = false;
    for (let v = 0; v < logits.length; v++)
      if (this.jsonAllows(s.json, v)) {
        masked[v] = logits[v]!;
        any = true;
      }
    return any ? this.pick(masked, params, s.rng) : null;
  }

  private jsonAllows(json: JsonPrefix, id: number): boolean {
    if (this.eos.has(id)) return json.complete;
    const t = this.text(id);
    if (!t || t.includes('\uFFFD')) return false;
    return json.clone().push(t);
  }

  /** The k most likely tokens with log softmax(logits / T) (T = 1 when greedy), as the chosen token's log-prob. */
  private top(logits: Float32Array, spec: JobSpec): TokenLogprob['top'] {
    const invT = spec.params.temperature > 0 ? 1 / spec.params.temperature : 1;
    let max = -Infinity;
    for (const z of logits) if (z > max) max = z;
    let Z = 0;
    for (const z of logits) Z += Math.exp((z - max) * invT);
    const logZ = Math.log(Z);
    const k = Math.min(spec.topLogprobs, logits.length);
    const best: number[] = [];
    for (let v = 0; v < logits.length; v++) {
      if (best.length < k) best.push(v);
      else if (logits[v]! > logits[best[k - 1]!]!) best[k - 1] = v;
      else continue;
      best.sort((a, b) => logits[b]! - logits[a]! || a - b);
    }
    return best.map((id) => ({ id, token: this.text(id), logprob: (logits[id]! - max) * invT - logZ }));
  }
}
