/**
 * A training run's view of its fleet: a RolloutSource that samples on the fleet from the
 * trainer's current weights. The trainer's policy is wrapped (`policy`) so every change of its
 * weights (an optimizer step, a loaded checkpoint or adapter) bumps a version; the next policy
 * rollout first publishes that version — the adapter saved and loaded on every server by
 * AdapterSync — and samples from it. Reference rollouts sample the fleet's reference model.
 *
 * Publishing happens when sampling needs it, not at every optimizer step, so mini-batches and
 * policy updates within one GRPO step cost one sync.
 */
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { Trajectory } from '../contracts/trajectory.js';
import type { AdapterSync } from './adapter-sync.js';
import type { FleetRolloutSource } from './fleet.js';
import type { RolloutRequest, RolloutSource } from './source.js';

export interface FleetSessionStats {
  /** Versions published to the fleet. */
  publishes: number;
  /** Time spent saving and loading adapters. */
  publishMs: number;
}

export class FleetSession implements RolloutSource {
  readonly policy: PolicyEngine;
  readonly stats: FleetSessionStats = { publishes: 0, publishMs: 0 };
  private current = 0;
  private published: number | null = null;
  private publishing: { version: number; done: Promise<void> } | null = null;

  constructor(
    readonly fleet: FleetRolloutSource,
    readonly sync: AdapterSync,
    inner: PolicyEngine,
  ) {
    const bump = <T>(p: Promise<T>) =>
      p.then((v) => {
        this.current++;
        return v;
      });
    this.policy = {
      sample: (r) => inner.sample(r),
      logprobs: (s, o) => inner.logprobs(s, o),
      forwardBackward: (s, l, o) => inner.forwardBackward(s, l, o),
      optimStep: (p) => bump(inner.optimStep(p)),
      saveAdapter: (d) => inner.saveAdapter(d),
      loadAdapter: (d) => bump(inner.loadAdapter(d)),
      saveTrainingState: (d) => inner.saveTrainingState(d),
      loadTrainingState: (d) => bump(inner.loadTrainingState(d)),
    };
    this.save = (dir) => inner.saveAdapter(dir);
  }

  private readonly save: (dir: string) => Promise<void>;

  /** The policy version: weight changes so far. */
  get version(): number {
    return this.current;
  }

  async rollout(req: RolloutRequest): Promise<Trajectory[]> {
    if (!req.reference) await this.ensurePublished();
    return this.fleet.rollout(req);
  }

  /** Resolves once a publish in progress is done and the fleet's requests are on the wire. */
  async dispatched(): Promise<void> {
    await this.publishing?.done.catch(() => {});
    await this.fleet.dispatched();
  }

  async close(): Promise<void> {
    await this.fleet.close();
  }

  private ensurePublished(): Promise<void> {
    const v = this.current;
    if (this.published === v) return Promise.resolve();
    if (this.publishing?.version === v) return this.publishing.done;
    const t0 = performance.now();
    // save() runs synchronously up to its first await, so the adapter written is version v even if training resumes meanwhile.
    const done = this.sync.publish(this.save, v).then((r) => {
      this.fleet.setModel(r.name);
      this.published = v;
      this.stats.publishes++;
      this.stats.publishMs += performance.now() - t0;
    });
    this.publishing = { version: v, done };
    done.then(
      () => {
        if (this.publishing?.done === done) this.publishing = null;
      },
      () => {
        if (this.publishing?.done === done) this.publishing = null;
      },
    );
    return done;
  }
}
