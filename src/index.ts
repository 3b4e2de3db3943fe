/** Public API of rft. */
export type * from './contracts/row.js';
export type * from './contracts/evaluation.js';
export type { Kernels } from './engine/kernels.js';
export { kernels } from './engine/backend.js';
export * from './evaluators/index.js';
export type { ClientAgent, ClientAgentContext, ClientAgentRun } from './rollout/client-agent.js';
export { createAgentSource, type AgentSourceOptions, type GatewayAgentSource } from './cli/agent-source.js';
export { RolloutGateway, type GatewayOptions } from './server/gateway.js';
