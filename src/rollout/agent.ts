/**
 * An agent, the third input of RFT (DESIGN.md "Agent"), in one of two forms:
 *
 *  - tools form: OpenAI function schemas with implementations. rft runs the loop (sample → parse
 *    tool calls → run the tools → append the results through the chat template → sample again)
 *    token-in/token-out; see ToolAgentSource (tool-loop.ts).
 *  - client form: `run({ row, client, signal, ... })`, any program written against an
 *    OpenAI-compatible client bound to the policy being trained (through the rollout gateway).
 *
 * `defineAgent` checks the definition once, up front, with errors that say what to fix.
 */
import type { Row, Tool } from '../contracts/row.js';
import type { ClientAgentContext } from './client-agent.js';
import type { ToolCallFormat } from '../model/tool-calls.js';

/** What a tool implementation sees besides its arguments. */
export interface ToolContext {
  /** The dataset row of this rollout: its `tools`, `ground_truth` and extra fields. */
  row: Row;
  /** Aborted when the tool call or the whole rollout runs out of time. */
  signal: AbortSignal;
  /** Which rollout of the request (index in the returned trajectories) and which turn (0-based). */
  rollout: number;
  turn: number;
}

/** An OpenAI function tool with its implementation; the result goes back to the model (objects as JSON). */
export interface AgentTool<Args = any> {
  type: 'function';
  function: { name: string; description?: string; /** JSON Schema of the arguments (checked with ajv before run). */ parameters?: Record<string, unknown> };
  run(args: Args, ctx: ToolContext): unknown | Promise<unknown>;
}

export interface ToolAgent {
  tools: AgentTool[];
  /** Model turns at most (default 8). */
  maxTurns?: number;
  /** Token budget of a rollout after its prompt: sampled plus inserted tokens (default: no budget beyond maxTurns × the run's max new tokens). */
  maxTokens?: number;
  /** Per tool call (default 10 s); a call that takes longer answers the model with a timeout error. */
  toolTimeoutMs?: number;
  /** The whole rollout (default 120 s); a rollout that takes longer is invalid. */
  rolloutTimeoutMs?: number;
  /** A system message put before the row's messages (merged with the row's own system message). */
  system?: string;
  /** Tool-call formats to read from the model's output (default both: hermes and llama3_json). */
  toolCallFormats?: ToolCallFormat[];
  /** Releases what the tools hold (connections, sandboxes); called when the source closes. */
  close?(): Promise<void> | void;
}

/** What a client-form agent's `run` receives (the row, an `openai` client bound to its rollout, the signal, …). */
export type { ClientAgentContext } from './client-agent.js';

export interface ClientAgent {
  run(ctx: ClientAgentContext): Promise<unknown>;
  /** The whole rollout (default 120 s); a rollout that takes longer is invalid. */
  rolloutTimeoutMs?: number;
}

export type Agent = ToolAgent | ClientAgent;

/**
 * Thrown by a tool when the rollout itself cannot go on (the environment broke, not the model):
 * the rollout is invalid, not trained on, and the run goes on. Any other error a tool throws is
 * returned to the model as the tool's result.
 */
export class AbortRollout extends Error {
  override readonly name = 'AbortRollout';
}

export function isToolAgent(a: unknown): a is ToolAgent {
  return !!a && typeof a === 'object' && Array.isArray((a as ToolAgent).tools);
}

export function isClientAgent(a: unknown): a is ClientAgent {
  return !!a && typeof a === 'object' && typeof (a as ClientAgent).run === 'function' && !Array.isArray((a as ToolAgent).tools);
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Every problem with an agent definition (empty when it is fine). */
export function agentProblems(a: unknown): string[] {
  if (!a || typeof a !== 'object') return ['an agent must be an object: { tools: [...] } or { run }'];
  const problems: string[] = [];
  const positive = (key: string) => {
    const v = (a as Record<string, unknown>)[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) problems.push(`${key} must be a positive number, got ${JSON.stringify(v)}`);
  };
  positive('rolloutTimeoutMs');
  if (isToolAgent(a)) {
    if ('run' in a) problems.push('give either tools (rft runs the loop) or run (your own loop over the client), not both');
    if (a.tools.length === 0) problems.push('tools is empty');
    const seen = new Set<string>();
    a.tools.forEach((t, i) => {
      const at = `tools[${i}]`;
      if (!t || typeof t !== 'object') return void problems.push(`${at} must be { type: 'function', function: { name, description, parameters }, run }`);
      if (t.type !== 'function') problems.push(`${at}.type must be "function"`);
      const name = t.function?.name;
      if (typeof name !== 'string' || !NAME.test(name)) problems.push(`${at}.function.name must be 1-64 letters, digits, _ or -, got ${JSON.stringify(name)}`);
      else if (seen.has(name)) problems.push(`${at}: a second tool named "${name}"`);
      else seen.add(name);
      const params = t.function?.parameters;
      if (params !== undefined && (!params || typeof params !== 'object' || Array.isArray(params))) problems.push(`${at}.function.parameters must be a JSON Schema object`);
      if (typeof t.run !== 'function') problems.push(`${at}.run must be a function (args, ctx) => result`);
    });
    positive('maxTurns');
    positive('maxTokens');
    positive('toolTimeoutMs');
    if (a.maxTurns !== undefined && !Number.isInteger(a.maxTurns)) problems.push(`maxTurns must be an integer, got ${a.maxTurns}`);
    if (a.system !== undefined && typeof a.system !== 'string') problems.push('system must be a string');
    if (a.toolCallFormats !== undefined && (!Array.isArray(a.toolCallFormats) || a.toolCallFormats.some((f) => f !== 'hermes' && f !== 'llama3_json'))) {
      problems.push('toolCallFormats must be a list of "hermes" and/or "llama3_json"');
    }
  } else if (!isClientAgent(a)) {
    problems.push('an agent needs tools: [...] (rft runs the tool loop) or run({ row, client, signal }) (your own loop)');
  }
  return problems;
}

/**
 * @example
 * export default defineAgent({
 *   tools: [{
 *     type: 'function',
 *     function: { name: 'add', description: 'a + b', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } },
 *     run: ({ a, b }) => String(a + b),
 *   }],
 *   maxTurns: 4,
 * });
 */
export function defineAgent<A extends Agent>(agent: A): A {
  const problems = agentProblems(agent);
  if (problems.length) throw new TypeError(`defineAgent: ${problems.join('; ')}`);
  return agent;
}

/** The schemas the model is shown (the implementations stay behind). */
export function toolSchemas(agent: ToolAgent): Tool[] {
  return agent.tools.map((t) => ({ type: 'function', function: { name: t.function.name, ...(t.function.description !== undefined ? { description: t.function.description } : {}), ...(t.function.parameters ? { parameters: t.function.parameters } : {}) } }));
}
