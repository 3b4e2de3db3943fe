/**
 * The tool-call parser lives in the model layer (src/model/tool-calls.ts), shared by the server's
 * responses and the agent loop in src/rollout/; this module re-exports it for server code.
 */
export { parseToolCalls, type ToolCall, type ParsedToolOutput, type ToolCallFormat } from '../model/tool-calls.js';
