/**
 * An example remote agent for `rft train --agent http://127.0.0.1:3000`, speaking eval-protocol's
 * remote rollout protocol with nothing but node:http and the official `openai` client.
 *
 *   POST /init    {completion_params, messages, tools, model_base_url, metadata, api_key}
 *                 → 200 at once; the rollout runs in the background:
 *                   1. ask the model (through model_base_url, rft's rollout gateway);
 *                   2. run any tool calls it made (a tiny `add` tool) and ask again, up to 3 turns;
 *                   3. ask it to check its answer once ("reflection");
 *                   4. post a status log {status: {code: 100}} to the gateway's /logs
 *                      (or {code: 103} with the error message when the rollout failed).
 *   GET /status?rollout_id=…  → {terminated, info, status} (eval-protocol's legacy endpoint)
 *
 * Usage: npx tsx examples/remote-agent/agent.ts [--port 3000] [--host 127.0.0.1] [--no-status-log]
 * It prints "listening on http://HOST:PORT" once it is ready. The gateway URL for status logs is
 * model_base_url up to "/rollout_id/" (override with RFT_GATEWAY_URL).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';

interface InitRequest {
  completion_params: { model: string; temperature?: number; top_p?: number; max_tokens?: number; stop?: string[] };
  messages: OpenAI.Chat.ChatCompletionMessageParam[];
  tools?: OpenAI.Chat.ChatCompletionTool[] | null;
  model_base_url: string;
  metadata: { invocation_id: string; experiment_id: string; rollout_id: string; run_id: string; row_id: string };
  api_key?: string | null;
}

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const port = Number(flag('--port', '3000'));
const host = flag('--host', '127.0.0.1');
const statusLog = !args.includes('--no-status-log');

/** Rollouts this process ran: rollout_id → how they ended (for GET /status). */
const rollouts = new Map<string, { terminated: boolean; error?: string; turns: number }>();

/** The tools this agent can run when the model calls them. */
const TOOLS: Record<string, (a: Record<string, unknown>) => string> = {
  add: (a) => String(Number(a.a) + Number(a.b)),
};

async function runRollout(init: InitRequest): Promise<void> {
  const id = init.metadata.rollout_id;
  const state = { terminated: false, turns: 0 } as { terminated: boolean; error?: string; turns: number };
  rollouts.set(id, state);
  const client = new OpenAI({ baseURL: init.model_base_url, apiKey: init.api_key ?? 'none', maxRetries: 1 });
  const messages = [...init.messages];
  const ask = async () => {
    state.turns++;
    const r = await client.chat.completions.create({ ...init.completion_params, messages, ...(init.tools?.length ? { tools: init.tools } : {}) });
    const m = r.choices[0]!.message;
    messages.push({ role: 'assistant', content: m.content ?? '', ...(m.tool_calls?.length ? { tool_calls: m.tool_calls } : {}) });
    return m;
  };
  try {
    for (let turn = 0; turn < 3; turn++) {
      const m = await ask();
      if (!m.tool_calls?.length) break;
      for (const call of m.tool_calls) {
        if (call.type !== 'function') continue;
        let content: string;
        try {
          const fn = TOOLS[call.function.name];
          content = fn ? fn(JSON.parse(call.function.arguments)) : `error: unknown tool ${call.function.name}`;
        } catch (e) {
          content = `error: ${(e as Error).message}`;
        }
        messages.push({ role: 'tool', tool_call_id: call.id, content });
      }
    }
    messages.push({ role: 'user', content: 'Check your answer and give the final one.' });
    await ask();
  } catch (e) {
    state.error = (e as Error).message;
  }
  state.terminated = true;
  if (statusLog) await postStatus(init, state.error ? { code: 103, message: state.error } : { code: 100, message: 'finished' });
}

/** A status log, as eval-protocol's tracing handler posts it. */
async function postStatus(init: InitRequest, status: { code: number; message: string }): Promise<void> {
  const gateway = process.env.RFT_GATEWAY_URL ?? init.model_base_url.slice(0, init.model_base_url.indexOf('/rollout_id/'));
  const m = init.metadata;
  const tags = [`rollout_id:${m.rollout_id}`, `experiment_id:${m.experiment_id}`, `run_id:${m.run_id}`, `invocation_id:${m.invocation_id}`, `row_id:${m.row_id}`];
  try {
    await fetch(`${gateway}/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(init.api_key ? { authorization: `Bearer ${init.api_key}` } : {}) },
      body: JSON.stringify({ program: 'example-remote-agent', message: `rollout ${m.rollout_id}: ${status.message}`, status, tags, extras: { turns: rollouts.get(m.rollout_id)?.turns ?? 0 } }),
    });
  } catch (e) {
    console.error(`could not post the status of ${m.rollout_id}: ${(e as Error).message}`);
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) s += chunk;
  return s;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'POST' && url.pathname === '/init') {
    let init: InitRequest;
    try {
      init = JSON.parse(await readBody(req));
    } catch {
      return send(res, 400, { error: 'the body is not JSON' });
    }
    if (!init?.metadata?.rollout_id || typeof init.model_base_url !== 'string' || !Array.isArray(init.messages)) return send(res, 400, { error: 'expected an InitRequest: metadata.rollout_id, model_base_url, messages' });
    if (rollouts.has(init.metadata.rollout_id)) return send(res, 409, { error: `rollout ${init.metadata.rollout_id} already started` });
    void runRollout(init);
    return send(res, 200, { status: 'started', rollout_id: init.metadata.rollout_id });
  }
  if (req.method === 'GET' && url.pathname === '/status') {
    const s = rollouts.get(url.searchParams.get('rollout_id') ?? '');
    if (!s) return send(res, 404, { error: 'unknown rollout' });
    return send(res, 200, { terminated: s.terminated, info: { turns: s.turns }, status: s.terminated ? (s.error ? { code: 103, message: s.error } : { code: 100, message: 'finished' }) : { code: 101, message: 'running' } });
  }
  send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
});

server.listen(port, host, () => {
  const a = server.address() as AddressInfo;
  console.log(`listening on http://${host}:${a.port}`);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => server.close(() => process.exit(0)));
