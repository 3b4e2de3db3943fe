/**
 * `--agent SPEC` → a RolloutSource behind a rollout gateway, for `rft train --agent` and dry runs:
 *   - `http://…` / `https://…`: a remote agent server (eval-protocol `/init`, RemoteAgentSource);
 *   - a `.ts`/`.js` module whose default export (or named export `agent`) is a client-form agent —
 *     a function `run(ctx)` or an object with `run` — (ClientAgentSource);
 *   - a ClientAgent object (or its run function) given directly.
 * Anything else (a tools-form module, e.g. `defineAgent({ tools })`) gives null: the caller falls
 * back to the in-process tool loop. The gateway starts on 127.0.0.1 (a free port unless
 * `gatewayPort`), and `close()` stops it.
 *
 * Built-in agents go by name (`--agent sql-agent`, see BUILTIN_AGENTS) unless a file of that name exists.
 *
 * `agentSource` is the one place that maps `--agent` to a source for `rft train` and
 * `rft agent try`: built-in agents (`sql-agent`, src/rollout/agents/) and tools-form modules run in
 * process (ToolAgentSource), client-form modules and
 * remote agents go through `createAgentSource`.
 */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import { ClientAgentSource, type ClientAgent, type ClientAgentRun } from '../rollout/client-agent.js';
import type { RolloutCounters } from '../rollout/gateway-runner.js';
import { RemoteAgentSource, type RemoteAgentOptions, type RemoteCounters } from '../rollout/remote.js';
import type { RolloutRequest, RolloutSource } from '../rollout/source.js';
import type { Trajectory } from '../contracts/trajectory.js';
import { RolloutGateway, type GatewayCounters } from '../server/gateway.js';
import { isClientAgent, isToolAgent, type Agent } from '../rollout/agent.js';
import { loadAgentModule } from '../rollout/load-agent.js';
import { ToolAgentSource } from '../rollout/tool-loop.js';
import { makeSqlAgent } from '../rollout/agents/sql-agent.js';
import { CliError } from './errors.js';

export interface AgentSourceOptions {
  policy: PolicyEngine;
  tokenizer: ChatTokenizer;
  /** The policy's context length and vocabulary size (bad prompts get a 400 instead of failing in the engine). */
  contextLength?: number;
  vocabSize?: number;
  /** The model name agents see (default "policy"). */
  modelName?: string;
  /** Default 8 (Fireworks' maxConcurrentRollouts). */
  maxConcurrentRollouts?: number;
  /** Default 120 000 ms. */
  rolloutTimeoutMs?: number;
  /** Default: a free port. */
  gatewayPort?: number;
  /** When set, the gateway requires `Authorization: Bearer KEY`; remote agents get it as InitRequest.api_key. */
  gatewayApiKey?: string;
  /** Seeds the gateway's sampling. */
  seed?: number;
  /** Remote agents only: /init retries and /status polling. */
  remote?: Pick<RemoteAgentOptions, 'initTries' | 'initBackoffMs' | 'statusPollMs' | 'requestTimeoutMs'>;
  /** eval-protocol experiment_id (default: the run id of each request). */
  experimentId?: string;
}

export interface GatewayAgentSource extends RolloutSource {
  readonly kind: 'client' | 'remote';
  readonly gatewayUrl: string;
  readonly gateway: RolloutGateway;
  /** The source's counted outcomes (remote agents: also /init and /status outcomes). */
  readonly counters: RolloutCounters | RemoteCounters;
  /** The gateway's counted outcomes (unknown/finished rollouts, bad logs, duplicates, ...). */
  readonly gatewayCounters: GatewayCounters;
  rollout(req: RolloutRequest): Promise<Trajectory[]>;
  close(): Promise<void>;
}

const MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

/** A client-form agent in a module's exports, or null (not one: a tools-form agent, say). */
export function clientAgentOf(mod: Record<string, unknown>): ClientAgent | null {
  const candidates: unknown[] = [mod.default, mod.agent, mod];
  const d = mod.default as Record<string, unknown> | undefined;
  if (d && typeof d === 'object' && 'default' in d) candidates.splice(1, 0, d.default); // CommonJS interop
  for (const c of candidates) {
    if (typeof c === 'function') return { run: c as ClientAgentRun };
    if (c && typeof c === 'object' && typeof (c as ClientAgent).run === 'function') {
      const a = c as ClientAgent;
      return { run: a.run.bind(a) };
    }
  }
  return null;
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new Error(`--agent ${path}: no such file (expected an http(s):// URL of a remote agent or a .ts/.js agent module)`);
  const ext = extname(abs).toLowerCase();
  if (!MODULE_EXTENSIONS.includes(ext)) throw new Error(`--agent ${path}: expected one of ${MODULE_EXTENSIONS.join(' ')} or an http(s):// URL`);
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
}

/**
 * @example
 *   const source = await createAgentSource('http://127.0.0.1:3000', { policy, tokenizer, maxConcurrentRollouts: 4 });
 *   const trajectories = await source!.rollout({ rows, n: 4, sampling, seed: 1, tags: { runId, step } });
 *   await source!.close();
 */
export async function createAgentSource(spec: string | ClientAgent | ClientAgentRun, opts: AgentSourceOptions): Promise<GatewayAgentSource | null> {
  let kind: 'client' | 'remote';
  let agent: ClientAgent | null = null;
  if (typeof spec === 'string' && /^https?:\/\//i.test(spec)) kind = 'remote';
  else {
    agent = typeof spec === 'string' ? clientAgentOf(await importModule(spec)) : clientAgentOf({ default: spec });
    if (!agent) return null;
    kind = 'client';
  }
  const gateway = new RolloutGateway({
    policy: opts.policy,
    tokenizer: opts.tokenizer,
    modelName: opts.modelName,
    apiKey: opts.gatewayApiKey,
    contextLength: opts.contextLength,
    vocabSize: opts.vocabSize,
    maxBatch: Math.max(1, opts.maxConcurrentRollouts ?? 8),
    seed: opts.seed,
  });
  const gatewayUrl = await gateway.listen(opts.gatewayPort ?? 0);
  const runner = { maxConcurrentRollouts: opts.maxConcurrentRollouts, rolloutTimeoutMs: opts.rolloutTimeoutMs, experimentId: opts.experimentId };
  let source: ClientAgentSource | RemoteAgentSource;
  try {
    source = kind === 'remote' ? new RemoteAgentSource(spec as string, gateway, { ...runner, ...opts.remote }) : new ClientAgentSource(agent!, gateway, runner);
  } catch (e) {
    await gateway.close();
    throw e;
  }
  return {
    kind,
    gatewayUrl,
    gateway,
    counters: source.counters,
    gatewayCounters: gateway.counters,
    rollout: (req) => source.rollout(req),
    close: () => gateway.close(),
  };
}

export interface AgentSource {
  source: RolloutSource;
  /** The in-process agent definition (null for a remote agent). */
  agent: Agent | null;
  /** The rollout gateway's URL (client-form and remote agents). */
  gatewayUrl?: string;
  close(): Promise<void>;
}

/** Agents shipped with rft, by the name `--agent` takes; each call makes a fresh one (its own SQL sandbox). */
export const BUILTIN_AGENTS: Readonly<Record<string, { description: string; make: () => Agent & { close?(): void | Promise<void> } }>> = {
  'sql-agent': { description: 'the shop-database agent: list_tables, describe_table, run_sql (read-only, in the SQL sandbox); rows from `rft dataset generate sql-agent`', make: () => makeSqlAgent() },
};

/** The built-in agent `spec` names (and no file of that name exists), else null. */
export function builtinAgent(spec: string): (Agent & { close?(): void | Promise<void> }) | null {
  const b = Object.hasOwn(BUILTIN_AGENTS, spec) ? BUILTIN_AGENTS[spec] : undefined;
  return b && !existsSync(resolve(spec)) ? b.make() : null;
}

/** `--agent SPEC` (a module path, a built-in agent's name or an http(s) URL) → the source a run draws its trajectories from. */
export async function agentSource(
  spec: string,
  policy: PolicyEngine,
  tokenizer: ChatTokenizer,
  opts: Omit<AgentSourceOptions, 'policy' | 'tokenizer'> = {},
): Promise<AgentSource> {
  if (/^https?:\/\//i.test(spec)) {
    const remote = (await createAgentSource(spec, { ...opts, policy, tokenizer }))!;
    return { source: remote, agent: null, gatewayUrl: remote.gatewayUrl, close: () => remote.close() };
  }
  let agent: Agent & { close?(): void | Promise<void> };
  const builtin = builtinAgent(spec);
  if (builtin) agent = builtin;
  else {
    try {
      agent = await loadAgentModule(spec);
    } catch (e) {
      throw new CliError(`--agent ${spec}: ${(e as Error).message}${Object.keys(BUILTIN_AGENTS).length ? ` (built-in agents: ${Object.keys(BUILTIN_AGENTS).join(', ')})` : ''}`);
    }
  }
  if (isToolAgent(agent)) {
    const own = builtin?.close?.bind(builtin);
    const source = new ToolAgentSource(policy, tokenizer, agent);
    return { source, agent, close: async () => { await source.close(); await own?.(); } };
  }
  if (isClientAgent(agent)) {
    const client = (await createAgentSource(agent, { ...opts, rolloutTimeoutMs: agent.rolloutTimeoutMs ?? opts.rolloutTimeoutMs, policy, tokenizer }))!;
    return { source: client, agent, gatewayUrl: client.gatewayUrl, close: () => client.close() };
  }
  throw new CliError(`--agent ${spec}: not an agent (expected defineAgent({ tools: [...] }) or defineAgent({ run }))`);
}
