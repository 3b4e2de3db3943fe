/**
 * Public API of rft (`import … from 'rft'`): the contracts (rows, evaluation results, the policy
 * engine), the kernels in use, and the evaluators. The other layers have their own entry points:
 * 'rft/data', 'rft/evaluators', 'rft/model', 'rft/engine', 'rft/train' (see package.json "exports").
 */
export type * from './contracts/row.js';
export type * from './contracts/evaluation.js';
export type * from './contracts/policy-engine.js';
export type { Kernels } from './engine/kernels.js';
export { kernels } from './engine/backend.js';
export * from './evaluators/index.js';
export type * from './contracts/trajectory.js';
export { defineAgent, AbortRollout, isToolAgent, isClientAgent, type Agent, type ToolAgent, type ClientAgent, type AgentTool, type ToolContext, type ClientAgentContext } from './rollout/agent.js';
export type { ClientAgentRun } from './rollout/client-agent.js';
export { createAgentSource, agentSource, type AgentSourceOptions, type GatewayAgentSource, type AgentSource } from './cli/agent-source.js';
export { RolloutGateway, type GatewayOptions } from './server/gateway.js';
