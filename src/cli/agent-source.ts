/**
 * `--agent SPEC` → the RolloutSource a run draws its trajectories from. The one place that maps an
 * agent to a source: a built-in agent's name (`sql`) or a tools-form module runs in process
 * (ToolAgentSource); client-form modules
 * (run over the rollout gateway) and remote agents (http(s) URLs, eval-protocol /init) are
 * recognised but not wired up yet.
 */
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { RolloutSource } from '../rollout/source.js';
import { isClientAgent, isToolAgent, type Agent } from '../rollout/agent.js';
import { loadAgentModule } from '../rollout/load-agent.js';
import { ToolAgentSource } from '../rollout/tool-loop.js';
import { BUILTIN_AGENTS } from '../rollout/agents/index.js';
import { CliError } from './errors.js';

export interface AgentSource {
  source: RolloutSource;
  agent: Agent | null;
  close(): Promise<void>;
}

export async function agentSource(spec: string, policy: PolicyEngine, tokenizer: ChatTokenizer): Promise<AgentSource> {
  if (/^https?:\/\//i.test(spec)) {
    throw new CliError(`--agent ${spec}: remote agents (an eval-protocol server reached over /init) are not wired yet; give a tools-form agent module (.ts/.js)`);
  }
  let agent: Agent;
  const builtin = BUILTIN_AGENTS[spec];
  try {
    agent = builtin ? builtin.make() : await loadAgentModule(spec);
  } catch (e) {
    throw new CliError(`--agent ${spec}: ${(e as Error).message}`);
  }
  if (isToolAgent(agent)) {
    const source = new ToolAgentSource(policy, tokenizer, agent);
    return { source, agent, close: () => source.close() };
  }
  if (isClientAgent(agent)) {
    throw new CliError(`--agent ${spec}: client-form agents (run({ row, client, signal })) need the rollout gateway, which is not wired yet; give a tools-form agent (defineAgent({ tools: [...] }))`);
  }
  throw new CliError(`--agent ${spec}: not an agent`);
}
