/**
 * `--rollout-server`: a training run whose rollouts are sampled on an inference fleet. Builds the
 * fleet source, the adapter sync and the session that publishes each policy version before the
 * rollouts that need it, and with `--async` the pipeline that samples step t+1 while step t
 * trains. The run's loss then corrects for the fleet's log-probs (rolloutCorrection in the loop
 * config, see run-config.ts).
 */
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Row } from '../contracts/row.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { RolloutSource } from '../rollout/source.js';
import { FleetRolloutSource } from '../rollout/fleet.js';
import { AdapterSync, requireLoraForFleet } from '../rollout/adapter-sync.js';
import { FleetSession } from '../rollout/fleet-session.js';
import { PipelinedSource } from '../rollout/pipeline.js';
import { stepRolloutRequest, type GrpoStepConfig } from './grpo/step.js';
import { rowsForStep, totalSteps, type RftLoopConfig } from './grpo/trainer.js';

type Cfg = Record<string, any>;

export interface Fleet {
  source: RolloutSource;
  /** The policy to train: the run's, with its weight changes counted (each is a version to publish). */
  policy: PolicyEngine;
  /** What the fleet did (fleet.json in the run directory). */
  report(): FleetReport;
  close(): Promise<void>;
}

export interface FleetReport {
  servers: string[];
  fleet: FleetRolloutSource['stats'];
  sync: AdapterSync['stats'];
  session: FleetSession['stats'];
  pipeline?: PipelinedSource['stats'];
}

/** The servers of `--rollout-server` (a list, each entry possibly comma-separated). */
export function rolloutServers(c: Cfg): string[] {
  return ((c.rolloutServer as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** The loop's rollout correction for a fleet run (undefined without a fleet or with --rollout-correction none). */
export function rolloutCorrectionOf(c: Cfg): GrpoStepConfig['rolloutCorrection'] {
  return rolloutServers(c).length && c.rolloutCorrection !== 'none' ? { level: c.rolloutCorrection, threshold: c.rolloutCorrectionThreshold } : undefined;
}

/** The fleet of a validated `rft train` config, or null without --rollout-server; throws on options it cannot honour. */
export function makeFleet(c: Cfg, base: PolicyEngine, tokenizer: ChatTokenizer, train: Row[], loop: RftLoopConfig, vocabSize?: number): Fleet | null {
  const servers = rolloutServers(c);
  if (servers.length === 0) {
    if (c.async) throw new Error('--async pipelines sampling on an inference fleet; give the servers with --rollout-server URL[,URL…]');
    return null;
  }
  requireLoraForFleet({ full: c.full === true });
  if (c.agent) throw new Error('--rollout-server samples single-turn rollouts on the fleet; it cannot be combined with --agent (agents sample through the rollout gateway)');
  const apiKey = process.env.RFT_ROLLOUT_API_KEY;
  const fleet = new FleetRolloutSource({ servers, tokenizer, baseModel: c.rolloutModel ?? basename(resolve(c.model)), timeoutMs: c.rolloutServerTimeoutMs, apiKey, vocabSize });
  const sync = new AdapterSync({ servers, sharedDir: resolve(c.rolloutAdapterDir ?? join(c.out, 'fleet-adapters')), prefix: `rft-${randomBytes(3).toString('hex')}`, keep: (c.maxStaleness ?? 1) + 1, apiKey });
  const session = new FleetSession(fleet, sync, base);
  const total = totalSteps(loop, train.length);
  const pipe = c.async
    ? new PipelinedSource(session, {
        maxStaleness: c.maxStaleness,
        version: () => session.version,
        plan: (step) => (step < total ? stepRolloutRequest(rowsForStep(train, loop.promptsPerStep, loop.seed, step), loop, loop.seed, step) : null),
      })
    : null;
  return {
    source: pipe ?? session,
    policy: session.policy,
    report: () => ({ servers, fleet: fleet.stats, sync: sync.stats, session: session.stats, ...(pipe ? { pipeline: pipe.stats } : {}) }),
    close: () => (pipe ?? session).close(),
  };
}
