/**
 * Pipelined rollouts (`--async`): the next step's rollouts are requested before the current step
 * trains, so a fleet samples step t+1 while the trainer updates on step t.
 *
 * Given the trainer's `plan` (step → its rollout request), every training request (one tagged
 * with a step) returns its trajectories and launches the next `maxStaleness` steps' requests
 * before returning, waiting until they are on the wire (the training step that follows blocks
 * the event loop). `rollout(req_{t+1})` then returns the prefetched trajectories (a request that
 * matches nothing prefetched, like a held-out evaluation, is sampled on the spot). Each request
 * records the policy version current when it was launched, so the off-policy-ness is exact: with
 * `maxStaleness` 1, step t+1 is sampled from the weights after step t−1 while it trains the
 * weights after step t — `policyLag()` = 1 (0 for the first step, sampled on the spot). The
 * trainer corrects for the lag with its own log-probs (train/grpo/rollout-correction.ts).
 */
import type { Trajectory } from '../contracts/trajectory.js';
import type { RolloutRequest, RolloutSource } from './source.js';

export interface PipelineOptions {
  /** Requests sampled ahead at most (≥ 1). */
  maxStaleness: number;
  /** The policy version now (e.g. the number of optimizer steps taken); recorded per request. */
  version: () => number;
  /** The request of a training step, or null past the last step; without it only prefetch() launches requests. */
  plan?: (step: number) => RolloutRequest | null;
}

/** A source that can say when the requests it started have been sent (FleetRolloutSource). */
interface Dispatching extends RolloutSource {
  dispatched?(): Promise<void>;
}

export interface PipelineStats {
  prefetched: number;
  /** rollout() calls answered by a prefetched request. */
  hits: number;
  /** rollout() calls sampled on the spot. */
  misses: number;
  /** Prefetched requests thrown away because the trainer asked for something else. */
  discarded: number;
  /** Time rollout() spent waiting for a prefetched request still running. */
  waitedMs: number;
}

interface Pending {
  req: RolloutRequest;
  version: number;
  result: Promise<Trajectory[]>;
}

/** Same step, seed, group size, reference flag and rows (by identity or by content). */
function sameRequest(a: RolloutRequest, b: RolloutRequest): boolean {
  if (a.seed !== b.seed || a.n !== b.n || !!a.reference !== !!b.reference || a.tags?.step !== b.tags?.step || a.rows.length !== b.rows.length) return false;
  if (JSON.stringify(a.sampling) !== JSON.stringify(b.sampling)) return false;
  return a.rows.every((r, i) => r === b.rows[i] || JSON.stringify(r) === JSON.stringify(b.rows[i]));
}

export class PipelinedSource implements RolloutSource {
  readonly stats: PipelineStats = { prefetched: 0, hits: 0, misses: 0, discarded: 0, waitedMs: 0 };
  private readonly pending: Pending[] = [];
  /** The policy version the last rollout() result was sampled with. */
  lastVersion: number | null = null;

  constructor(
    private readonly inner: RolloutSource,
    private readonly opts: PipelineOptions,
  ) {
    if (!Number.isInteger(opts.maxStaleness) || opts.maxStaleness < 1) throw new Error(`maxStaleness must be an integer >= 1, got ${opts.maxStaleness}`);
  }

  /** Requests outstanding now. */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Starts sampling `req` now; false (and nothing started) when maxStaleness requests are already outstanding. */
  prefetch(req: RolloutRequest): boolean {
    if (this.pending.length >= this.opts.maxStaleness) return false;
    const result = this.inner.rollout(req);
    result.catch(() => {
      /* surfaced by rollout(); a discarded request's failure is nobody's business */
    });
    this.pending.push({ req, version: this.opts.version(), result });
    this.stats.prefetched++;
    return true;
  }

  async rollout(req: RolloutRequest): Promise<Trajectory[]> {
    const step = req.tags?.step;
    const i = this.pending.findIndex((p) => sameRequest(p.req, req));
    let out: Trajectory[];
    if (i < 0) {
      // Not prefetched (the first step, a held-out evaluation, a plan that changed): sampled now.
      this.stats.misses++;
      if (typeof step === 'number') this.drop((p) => (p.req.tags?.step ?? Infinity) <= step);
      const version = this.opts.version();
      out = await this.inner.rollout(req);
      this.lastVersion = version;
    } else {
      this.stats.discarded += this.pending.splice(0, i).length;
      const p = this.pending.shift()!;
      this.stats.hits++;
      const t0 = performance.now();
      out = await p.result;
      this.stats.waitedMs += performance.now() - t0;
      this.lastVersion = p.version;
    }
    if (this.opts.plan && typeof step === 'number') {
      for (let k = 1; k <= this.opts.maxStaleness; k++) {
        const next = this.opts.plan(step + k);
        if (!next) break;
        if (!this.pending.some((p) => sameRequest(p.req, next))) this.prefetch(next);
      }
      await (this.inner as Dispatching).dispatched?.();
    }
    return out;
  }

  private drop(which: (p: Pending) => boolean): void {
    for (let j = this.pending.length - 1; j >= 0; j--)
      if (which(this.pending[j]!)) {
        this.pending.splice(j, 1);
        this.stats.discarded++;
      }
  }

  /** How many versions behind `now` the last result was sampled (0 when synchronous). */
  policyLag(now = this.opts.version()): number {
    return this.lastVersion === null ? 0 : now - this.lastVersion;
  }

  async close(): Promise<void> {
    const left = this.pending.splice(0);
    this.stats.discarded += left.length;
    await Promise.allSettled(left.map((p) => p.result));
    await this.inner.close?.();
  }
}
