/**
 * A tools-form agent (`defineAgent({ tools })`, e.g. the built-in SQL agent) served as an
 * eval-protocol remote agent, so the same agent can run out of process: `rft agent serve
 * --agent sql-agent --port 3000`, then `rft train --agent http://127.0.0.1:3000`.
 *
 *   POST /init   InitRequest {completion_params, messages, tools, model_base_url, metadata, api_key}
 *                → 200 at once (400 for a body that is not one, 409 for a rollout id seen before); then in
 *                the background an ordinary OpenAI tool loop through model_base_url (the rollout
 *                gateway): ask, run the tool calls (errors go back to the model as "Error: ..."), append
 *                the results, ask again — until a reply without tool calls or the agent's maxTurns;
 *                finally a status log to the gateway: 100 FINISHED, or 103 with the message when the
 *                rollout failed (a tool threw AbortRollout, the model endpoint failed).
 *   GET /status?rollout_id=…  → {terminated, info, status} (eval-protocol's legacy endpoint).
 *
 * The tools see a row made of the request's messages and tools plus `rowFields` (InitRequest
 * carries no dataset fields: the SQL agent's database is given to the server). The agent's
 * maxTokens budget is not enforced here (a remote agent does not see tokens); the gateway's
 * per-request max_tokens still is.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { ChatMessage, Row, Tool } from '../contracts/row.js';
import { AbortRollout, toolSchemas, type ToolAgent } from '../rollout/agent.js';
import { AGENT_DEFAULTS } from '../rollout/tool-loop.js';

interface InitRequest {
  completion_params?: { model?: string; temperature?: number; top_p?: number; max_tokens?: number; top_k?: number; stop?: string[] };
  model?: string;
  messages: ChatMessage[];
  tools?: Tool[] | null;
  model_base_url: string;
  metadata: { invocation_id?: string; experiment_id?: string; rollout_id: string; run_id?: string; row_id?: string };
  api_key?: string | null;
}

export interface ToolAgentServerOptions {
  /** Extra fields of every rollout's row (e.g. `{ database: PATH }` for the SQL agent). */
  rowFields?: Record<string, unknown>;
  /** Rollouts remembered for GET /status (oldest forgotten first; default 10 000). */
  remember?: number;
}

export interface ToolAgentServerCounters {
  started: number;
  finished: number;
  failed: number;
  rejected: number;
  toolCalls: number;
  toolErrors: number;
}

interface State {
  terminated: boolean;
  error?: string;
  turns: number;
}

export class ToolAgentServer {
  readonly counters: ToolAgentServerCounters = { started: 0, finished: 0, failed: 0, rejected: 0, toolCalls: 0, toolErrors: 0 };
  private readonly rollouts = new Map<string, State>();
  private readonly server: Server;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly agent: ToolAgent,
    private readonly opts: ToolAgentServerOptions = {},
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** Starts listening (port 0: a free one) and resolves with the base URL. */
  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address() as AddressInfo;
        resolve(`http://${host}:${a.port}`);
      });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.running]);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (req.method === 'POST' && url.pathname === '/init') {
        let init: InitRequest;
        try {
          init = JSON.parse(await readBody(req)) as InitRequest;
        } catch {
          this.counters.rejected++;
          return send(res, 400, { error: 'the body is not JSON' });
        }
        const problem = initProblem(init);
        if (problem) {
          this.counters.rejected++;
          return send(res, 400, { error: `not an InitRequest: ${problem}` });
        }
        const id = init.metadata.rollout_id;
        if (this.rollouts.has(id)) {
          this.counters.rejected++;
          return send(res, 409, { error: `rollout ${id} was already started` });
        }
        const state: State = { terminated: false, turns: 0 };
        this.rollouts.set(id, state);
        if (this.rollouts.size > (this.opts.remember ?? 10_000)) this.rollouts.delete(this.rollouts.keys().next().value!);
        this.counters.started++;
        const p = this.run(init, state).finally(() => this.running.delete(p));
        this.running.add(p);
        return send(res, 200, { status: 'started', rollout_id: id });
      }
      if (req.method === 'GET' && url.pathname === '/status') {
        const s = this.rollouts.get(url.searchParams.get('rollout_id') ?? '');
        if (!s) return send(res, 404, { error: 'unknown rollout' });
        const status = !s.terminated ? { code: 101, message: 'running' } : s.error ? { code: 103, message: s.error } : { code: 100, message: 'finished' };
        return send(res, 200, { terminated: s.terminated, info: { turns: s.turns }, status });
      }
      send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    } catch (e) {
      send(res, 500, { error: (e as Error).message });
    }
  }

  private async run(init: InitRequest, state: State): Promise<void> {
    const agent = this.agent;
    const tools = init.tools?.length ? init.tools : toolSchemas(agent);
    const row: Row = { messages: init.messages, tools, ...this.opts.rowFields };
    const client = new OpenAI({ baseURL: init.model_base_url, apiKey: init.api_key ?? 'none', maxRetries: 0 });
    const cp = init.completion_params ?? {};
    const messages: ChatMessage[] = [...init.messages];
    const byName = new Map(agent.tools.map((t) => [t.function.name, t]));
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error('rollout timeout')), agent.rolloutTimeoutMs ?? AGENT_DEFAULTS.rolloutTimeoutMs);
    try {
      const maxTurns = agent.maxTurns ?? AGENT_DEFAULTS.maxTurns;
      for (let turn = 0; turn < maxTurns; turn++) {
        state.turns++;
        const r = await client.chat.completions.create(
          {
            model: cp.model ?? init.model ?? 'policy',
            messages: messages as OpenAI.Chat.ChatCompletionMessageParam[],
            tools: tools as OpenAI.Chat.ChatCompletionTool[],
            ...(cp.max_tokens !== undefined ? { max_tokens: cp.max_tokens } : {}),
            ...(cp.temperature !== undefined ? { temperature: cp.temperature } : {}),
            ...(cp.top_p !== undefined ? { top_p: cp.top_p } : {}),
          },
          { signal: abort.signal },
        );
        const m = r.choices[0]?.message;
        if (!m) throw new Error('the model endpoint answered without a choice');
        const calls = (m.tool_calls ?? []).filter((c) => c.type === 'function');
        messages.push({ role: 'assistant', content: m.content ?? '', ...(calls.length ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.function.name, arguments: c.function.arguments } })) } : {}) });
        if (!calls.length || turn === maxTurns - 1) break;
        for (const c of calls) {
          this.counters.toolCalls++;
          const content = await this.callTool(byName.get(c.function.name), c.function.name, c.function.arguments, row, abort.signal, turn);
          messages.push({ role: 'tool', tool_call_id: c.id, name: c.function.name, content });
        }
      }
      this.counters.finished++;
    } catch (e) {
      state.error = e instanceof AbortRollout ? `the rollout was aborted: ${e.message}` : (e as Error).message;
      this.counters.failed++;
    } finally {
      clearTimeout(timer);
    }
    state.terminated = true;
    await postStatus(init, state.error ? { code: 103, message: state.error } : { code: 100, message: 'finished' }, state.turns);
  }

  /** A tool's result for the model; its mistakes as "Error: ..." (AbortRollout ends the rollout). */
  private async callTool(tool: ToolAgent['tools'][number] | undefined, name: string, args: string, row: Row, signal: AbortSignal, turn: number): Promise<string> {
    const error = (msg: string) => {
      this.counters.toolErrors++;
      return `Error: ${msg}`;
    };
    if (!tool) return error(`unknown tool "${name}"; the tools are ${this.agent.tools.map((t) => t.function.name).join(', ')}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch (e) {
      return error(`the arguments of ${name} are not valid JSON (${(e as Error).message})`);
    }
    const limit = this.agent.toolTimeoutMs ?? AGENT_DEFAULTS.toolTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      const run = Promise.resolve().then(() => tool.run(parsed, { row, signal, rollout: 0, turn }));
      const v = await Promise.race([run, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${name} timed out after ${limit} ms`)), limit)))]);
      return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
    } catch (e) {
      if (e instanceof AbortRollout) throw e;
      return error((e as Error)?.message ?? String(e));
    } finally {
      clearTimeout(timer);
    }
  }
}

function initProblem(init: InitRequest): string | null {
  if (!init || typeof init !== 'object') return 'expected a JSON object';
  if (typeof init.metadata?.rollout_id !== 'string' || init.metadata.rollout_id === '') return 'metadata.rollout_id is missing';
  if (typeof init.model_base_url !== 'string' || !/^https?:\/\//.test(init.model_base_url)) return 'model_base_url must be an http(s) URL';
  if (!Array.isArray(init.messages)) return 'messages must be a list';
  if (init.tools != null && !Array.isArray(init.tools)) return 'tools must be a list or null';
  return null;
}

/** A status log to the gateway (model_base_url up to /rollout_id/), as eval-protocol's tracing handler posts it. */
async function postStatus(init: InitRequest, status: { code: number; message: string }, turns: number): Promise<void> {
  const base = init.model_base_url;
  const i = base.indexOf('/rollout_id/');
  const gateway = i >= 0 ? base.slice(0, i) : base.replace(/\/v1\/?$/, '');
  const m = init.metadata;
  const tags = Object.entries(m).filter(([, v]) => typeof v === 'string').map(([k, v]) => `${k}:${v}`);
  try {
    await fetch(`${gateway}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(init.api_key ? { authorization: `Bearer ${init.api_key}` } : {}) },
      body: JSON.stringify({ program: 'rft-agent-serve', message: `rollout ${m.rollout_id}: ${status.message}`, status, tags, extras: { turns } }),
    });
  } catch {
    // the gateway is gone (the run ended); rft's poll of GET /status or its timeout covers this
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) s += chunk;
  return s;
}
