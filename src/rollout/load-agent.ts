/**
 * Loading an agent module by path (`.js`/`.mjs`/`.cjs`, or `.ts` through tsx, as evaluator modules
 * load): its default export — or a named export `agent` — is a `defineAgent(...)` definition,
 * tools form or client form. Every problem with the definition is reported with the file.
 */
import { importUserModule } from '../evaluators/isolation/load-module.js';
import { agentProblems, type Agent } from './agent.js';

export async function loadAgentModule(path: string): Promise<Agent> {
  const { mod, abs } = await importUserModule(path, 'agent module');
  let a: unknown = mod.default ?? mod.agent;
  // CommonJS / transpiled interop may nest the default export once more.
  if (a && typeof a === 'object' && 'default' in a && !('tools' in a) && !('run' in a)) a = (a as { default: unknown }).default;
  // A bare function is a client-form agent's run (`export default async function run(ctx) { ... }`).
  if (typeof a === 'function') a = { run: a };
  if (a === undefined) throw new Error(`agent module ${abs} must export default an agent: export default defineAgent({ tools: [...] }) or defineAgent({ run })`);
  const problems = agentProblems(a);
  if (problems.length) throw new Error(`agent module ${abs}: ${problems.join('; ')}`);
  return a as Agent;
}
