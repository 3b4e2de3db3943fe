/**
 * Batches concurrent generation requests into `PolicyEngine.sample` calls, for the rollout
 * gateway: requests that arrive while the policy is busy (or in the same event-loop turn) wait,
 * then go together — one `sample` call per set of identical sampling parameters, up to `maxBatch`
 * prompts each. Unlike the Scheduler (continuous batching over a bare Transformer with detached
 * adapters) it works with any PolicyEngine, so the gateway samples from exactly the policy being
 * trained, its live LoRA adapter included, and reports the engine's own sampling log-probs.
 */
import type { PolicyEngine, Sample, SamplingParams } from '../contracts/policy-engine.js';
import { ApiError } from './errors.js';

export interface BatchItem {
  prompt: number[];
  sampling: SamplingParams;
  reference: boolean;
}

interface Pending extends BatchItem {
  cancelled: boolean;
  resolve(s: Sample): void;
  reject(e: unknown): void;
}

export interface PolicyBatcherOptions {
  /** Prompts per sample() call at most (default 32). */
  maxBatch?: number;
  /** Seeds the sampling: batch k draws with seed + k·0x9e3779b1. */
  seed?: number;
  /**
   * When the policy is idle, how long the first request waits for others to join its batch
   * (default 5 ms; agents' requests reach the HTTP server a few event-loop turns apart). While
   * the policy is busy, requests queue anyway and go in the next batch.
   */
  windowMs?: number;
}

export class PolicyBatcher {
  private queue: Pending[] = [];
  private running = false;
  private closed = false;
  private batches = 0;
  readonly maxBatch: number;
  private readonly seed: number;
  private readonly windowMs: number;
  /** Counters: sample() calls, prompts sampled, the largest batch. */
  readonly stats = { calls: 0, prompts: 0, largestBatch: 0 };

  constructor(
    private readonly policy: PolicyEngine,
    opts: PolicyBatcherOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 32;
    this.seed = opts.seed ?? 0;
    this.windowMs = opts.windowMs ?? 5;
  }

  /** Queues one prompt; `cancel` drops it (its promise rejects with the reason, default 499) and discards its sample if it is running. */
  submit(item: BatchItem): { result: Promise<Sample>; cancel(reason?: ApiError): void } {
    if (this.closed) throw new ApiError(503, 'the rollout gateway is shutting down', 'service_unavailable', null, 'shutting_down');
    let pending!: Pending;
    const result = new Promise<Sample>((resolve, reject) => {
      pending = { ...item, cancelled: false, resolve, reject };
    });
    this.queue.push(pending);
    this.wake();
    return {
      result,
      cancel: (reason?: ApiError) => {
        if (pending.cancelled) return;
        pending.cancelled = true;
        pending.reject(reason ?? new ApiError(499, 'the request was cancelled', 'invalid_request_error', null, 'client_closed_request'));
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) if (!p.cancelled) p.reject(new ApiError(503, 'the rollout gateway shut down', 'service_unavailable', null, 'shutting_down'));
  }

  private wake(): void {
    if (this.running) return;
    this.running = true;
    setTimeout(() => {
      this.drain()
        .catch(() => {
          /* every failure is reported to its request in run() */
        })
        .finally(() => {
          this.running = false;
          if (this.queue.length) this.wake();
        });
    }, this.windowMs);
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const items = this.queue.splice(0).filter((p) => !p.cancelled);
      const groups = new Map<string, Pending[]>();
      for (const p of items) {
        const s = p.sampling;
        const key = JSON.stringify([p.reference, s.maxNewTokens, s.temperature, s.topP ?? 1, s.topK ?? 0, s.stopTokens ?? [], s.stopStrings ?? []]);
        const g = groups.get(key);
        if (g) g.push(p);
        else groups.set(key, [p]);
      }
      for (const group of groups.values())
        for (let i = 0; i < group.length; i += this.maxBatch) await this.run(group.slice(i, i + this.maxBatch).filter((p) => !p.cancelled));
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    const s = batch[0]!.sampling;
    const seed = (this.seed + Math.imul(++this.batches, 0x9e3779b1)) >>> 0;
    this.stats.calls++;
    this.stats.prompts += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    try {
      const out = await this.policy.sample({ ...s, seed, prompts: batch.map((p) => p.prompt), n: 1, reference: batch[0]!.reference });
      for (const sample of out) {
        const p = batch[sample.prompt];
        if (p && !p.cancelled) p.resolve({ ...sample, prompt: 0 });
      }
    } catch (e) {
      const err = new ApiError(500, `sampling failed: ${(e as Error)?.message ?? String(e)}`, 'server_error', null, 'internal_error');
      for (const p of batch) if (!p.cancelled) p.reject(err);
    }
  }
}
