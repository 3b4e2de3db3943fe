/**
 * `--rollout-server URL[,URL…]`: sampling on an inference fleet that speaks vLLM's protocol, the
 * adapter synced to every server before each step's rollouts, and with `--async` the next step
 * sampled while this one trains (README "Scaling out"). What the fleet did is written to
 * `fleet.json` in the run directory when the run lets go of it.
 */
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { CliError } from './errors.js';
import { rftLoopConfig } from '../train/run-config.js';
import { rowsForStep, totalSteps } from '../train/grpo/trainer.js';
import { stepRolloutRequest } from '../train/grpo/step.js';
import { writeFileAtomic } from '../train/run-dir.js';
import { FleetRolloutSource } from '../rollout/fleet.js';
import { AdapterSync, requireLoraForFleet } from '../rollout/adapter-sync.js';
import { FleetSession } from '../rollout/fleet-session.js';
import { PipelinedSource } from '../rollout/pipeline.js';
import type { RolloutSource } from '../rollout/source.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { Row } from '../contracts/row.js';
import type { RftLoopConfig } from '../train/grpo/trainer.js';

type Cfg = Record<string, any>;

export interface Fleet {
  source: RolloutSource;
  /** The policy the trainer sees: syncs the adapter to the fleet after each optimizer step. */
  policy: PolicyEngine;
  /** What the fleet did, for fleet.json in the run directory. */
  report(): Record<string, unknown>;
  /** One line for the terminal. */
  summary(): string;
  /** Writes fleet.json (when the run directory exists) and lets go of the fleet. */
  close(): Promise<void>;
}

/** The servers of `--rollout-server` (a list, each item may itself be comma-separated). */
export function rolloutServers(c: Cfg): string[] {
  return (c.rolloutServer as string[] | undefined)?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) ?? [];
}

/** Null without `--rollout-server`. */
export function makeFleet(c: Cfg, base: PolicyEngine, tokenizer: ChatTokenizer, train: Row[], vocabSize?: number): Fleet | null {
  const servers = rolloutServers(c);
  if (servers.length === 0) {
    if (c.async) throw new CliError('--async pipelines sampling on an inference fleet; give the servers with --rollout-server URL[,URL…]');
    return null;
  }
  try {
    requireLoraForFleet({ full: c.full === true });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  return fleetFor({
    servers, base, tokenizer, train, loop: rftLoopConfig(c), vocabSize, out: c.out, baseModel: c.rolloutModel ?? basename(resolve(c.model)),
    adapterDir: c.rolloutAdapterDir, timeoutMs: c.rolloutTimeoutMs, async: c.async === true, maxStaleness: c.maxStaleness,
  });
}

export interface FleetSettings {
  servers: string[];
  base: PolicyEngine;
  tokenizer: ChatTokenizer;
  train: Row[];
  loop: RftLoopConfig;
  vocabSize?: number;
  /** The run directory (fleet.json; the adapters under fleet-adapters/ unless adapterDir). */
  out: string;
  /** The id the servers serve the base model under. */
  baseModel: string;
  adapterDir?: string;
  timeoutMs: number;
  async: boolean;
  maxStaleness: number;
}

/** The fleet of a run given its parts (makeFleet reads them from a config; the quickstart has its own plan). */
export function fleetFor(o: FleetSettings): Fleet {
  const { servers, base, tokenizer, train, loop, vocabSize } = o;
  const c = { out: o.out };
  const apiKey = process.env.RFT_ROLLOUT_API_KEY;
  const fleet = new FleetRolloutSource({ servers, tokenizer, baseModel: o.baseModel, timeoutMs: o.timeoutMs, apiKey, vocabSize });
  const sync = new AdapterSync({ servers, sharedDir: resolve(o.adapterDir ?? join(o.out, 'fleet-adapters')), prefix: `rft-${randomBytes(3).toString('hex')}`, keep: o.maxStaleness + 1, apiKey });
  const session = new FleetSession(fleet, sync, base);
  const total = totalSteps(loop, train.length);
  const pipe = o.async
    ? new PipelinedSource(session, {
        maxStaleness: o.maxStaleness,
        version: () => session.version,
        plan: (step) => (step < total ? stepRolloutRequest(rowsForStep(train, loop.promptsPerStep, loop.seed, step), loop, loop.seed, step) : null),
      })
    : null;
  const report = () => ({ servers, fleet: fleet.stats, sync: sync.stats, session: session.stats, ...(pipe ? { pipeline: pipe.stats } : {}) });
  return {
    source: pipe ?? session,
    policy: session.policy,
    report,
    summary: () => {
      const f = fleet.stats;
      return `fleet: ${f.requests} requests, ${f.failures} failed (${f.timeouts} timed out), ${f.retries} retried, ${f.rowsFailed} rows lost`;
    },
    close: async () => {
      try {
        if (existsSync(c.out)) writeFileAtomic(join(c.out, 'fleet.json'), JSON.stringify(report(), null, 2) + '\n');
      } finally {
        await (pipe ?? session).close();
      }
    },
  };
}
