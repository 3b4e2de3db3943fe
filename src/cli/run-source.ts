/**
 * Where a run's rollouts come from, from its validated `rft train` config: an agent (`--agent`:
 * a module in process, or a remote server through the rollout gateway), an inference fleet
 * (`--rollout-server`), or — neither given — single-turn sampling in process. `rft train` and a
 * jobs child process both use this, so a job runs what the CLI runs.
 */
import { basename, resolve } from 'node:path';
import type { TransformerPolicy } from '../model/policy.js';
import type { RunSource } from '../train/run-config.js';
import type { Row } from '../contracts/row.js';
import { agentSource } from './agent-source.js';
import { makeFleet, rolloutServers, type Fleet } from './fleet.js';
import { CliError } from './errors.js';

type Cfg = Record<string, any>;

/** The agent options of a validated config (src/train/config/agent.ts) for the policy it loaded. */
export function agentOptions(c: Cfg, policy: TransformerPolicy) {
  return {
    maxConcurrentRollouts: c.maxConcurrentRollouts as number,
    rolloutTimeoutMs: c.rolloutTimeoutMs as number,
    gatewayPort: c.gatewayPort as number,
    gatewayApiKey: c.gatewayApiKey as string | undefined,
    seed: c.seed as number,
    contextLength: policy.model.config.maxPositionEmbeddings,
    vocabSize: policy.model.config.vocabSize,
    modelName: basename(resolve(c.model as string)),
  };
}

/** The `makeSource` hook of runRftFromConfig; `onFleet` receives the fleet when there is one. */
export function runSourceFor(c: Cfg, onFleet?: (fleet: Fleet) => void): (policy: TransformerPolicy, train: Row[]) => Promise<RunSource | undefined> {
  return async (policy, train) => {
    const servers = rolloutServers(c);
    if (c.agent && servers.length) throw new CliError('--agent and --rollout-server cannot be combined yet: agents sample through the in-process rollout gateway');
    if (c.agent) return agentSource(c.agent as string, policy, policy.chat, agentOptions(c, policy));
    const fleet = makeFleet(c, policy, policy.chat, train, policy.model.config.vocabSize);
    if (fleet) onFleet?.(fleet);
    return fleet ?? undefined;
  };
}
