/**
 * Where a GRPO step's trajectories come from. The trainer asks a RolloutSource for `n`
 * trajectories per row and never learns how they were made: single-turn sampling, an agent
 * loop over tools in process, an agent written against an OpenAI-compatible client, or a remote
 * agent server driven over eval-protocol's `/init`. Every implementation returns trajectories
 * grouped by row (all of row 0's first), each with its token segments as sampled.
 */
import type { Row } from '../contracts/row.js';
import type { SamplingParams } from '../contracts/policy-engine.js';
import type { Trajectory } from '../contracts/trajectory.js';

export interface RolloutRequest {
  rows: Row[];
  /** Rollouts per row (the GRPO group size). */
  n: number;
  sampling: SamplingParams;
  /** Fixes every random choice of this request (derived by the trainer from seed and step). */
  seed: number;
  /** Sample from the reference policy (adapter disabled). */
  reference?: boolean;
  /** Names the run and step for sources that tag rollouts (remote agents' metadata). */
  tags?: { runId?: string; step?: number };
  signal?: AbortSignal;
}

export interface RolloutSource {
  rollout(req: RolloutRequest): Promise<Trajectory[]>;
  /** Releases servers, pools and connections the source holds. */
  close?(): Promise<void>;
}
