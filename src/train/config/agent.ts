/**
 * Options of agent rollouts (`rft train --agent …` with a client-form module or a remote agent
 * URL), declared once like the other option tables: flags, validation and the README table
 * derive from it. Merge into a command's fields with `{ ...rftFields, ...agentFields }`.
 */
import { field, type Fields } from './fields.js';

export const agentFields = {
  maxConcurrentRollouts: field.integer('agent rollouts in flight at most (Fireworks maxConcurrentRollouts)', { default: 8, min: 1, max: 1024 }),
  rolloutTimeoutMs: field.integer('a whole agent rollout taking longer is invalid (not trained on, counted); a fleet request (--rollout-server) slower than this is retried on another server', { default: 120_000, min: 1 }),
  gatewayPort: field.integer('port of the rollout gateway agents call on 127.0.0.1 (0: a free port)', { default: 0, min: 0, max: 65535, resumeMayChange: true }),
  gatewayApiKey: field.string('API key the rollout gateway requires (Authorization: Bearer KEY); remote agents get it as api_key', { resumeMayChange: true }),
} satisfies Fields;
