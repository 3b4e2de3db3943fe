/** Public API of rft. */
export type * from './contracts/row.js';
export type * from './contracts/evaluation.js';
export type { Kernels } from './engine/kernels.js';
export { kernels } from './engine/backend.js';
export * from './evaluators/index.js';
export type * from './contracts/trajectory.js';
export { defineAgent, AbortRollout, isToolAgent, isClientAgent, type Agent, type ToolAgent, type ClientAgent, type AgentTool, type ToolContext, type ClientAgentContext } from './rollout/agent.js';
