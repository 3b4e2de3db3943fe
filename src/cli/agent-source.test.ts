import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SamplingParams } from '../contracts/policy-engine.js';
import type { Row } from '../contracts/row.js';
import type { Trajectory } from '../contracts/trajectory.js';
import type { RemoteCounters } from '../rollout/remote.js';
import { makePolicyFixture, makeToolCallingFixture, SCRIPTED_CALL, type GatewayFixture } from '../server/gateway-fixture.js';
import { createAgentSource, type AgentSourceOptions, type GatewayAgentSource } from './agent-source.js';

let fx: GatewayFixture;
before(() => {
  fx = makePolicyFixture();
});
after(() => fx.cleanup());

const sampling: SamplingParams = { maxNewTokens: 8, temperature: 0.8 };
const rows: Row[] = [{ messages: [{ role: 'user', content: 'first' }], ground_truth: 'a' }, { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'second' }, { role: 'assistant', content: 'gold answer' }] }];
const base = (): AgentSourceOptions => ({ policy: fx.policy, tokenizer: fx.tokenizer, contextLength: fx.contextLength, modelName: 'tiny', seed: 3 });

/** Every sampled token's recorded log-prob equals the policy's teacher-forced one (1e-4); inserted ones are 0. */
async function checkTokens(t: Trajectory): Promise<void> {
  assert.ok(t.segments.length >= 1);
  const lps = await fx.policy.logprobs(t.segments.map((s) => ({ prompt: s.promptTokens, completion: s.completionTokens })), { temperature: sampling.temperature });
  t.segments.forEach((s, k) =>
    s.completionMask.forEach((m, i) => {
      if (m === 0) assert.equal(s.logprobs[i], 0);
      else assert.ok(Math.abs(lps[k]![i]! - s.logprobs[i]!) < 1e-4, `segment ${k} token ${i}: ${lps[k]![i]} vs ${s.logprobs[i]}`);
    }),
  );
  const sampled = t.segments.reduce((a, s) => a + s.completionMask.filter((m) => m === 1).length, 0);
  assert.equal(sampled, t.stats.sampledTokens);
}

test('client form: run({row, client}) over the openai client; trajectories grouped by row, tokens as sampled, concurrency bounded', async () => {
  let inFlight = 0;
  let most = 0;
  const seenRows: Row[] = [];
  const source = (await createAgentSource(
    {
      run: async ({ row, client, model }) => {
        seenRows.push(row);
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          const history = row.messages.filter((m) => m.role !== 'assistant') as { role: 'user' | 'system'; content: string }[];
          const msgs: { role: 'user' | 'system' | 'assistant'; content: string }[] = [...history];
          const r1 = await client.chat.completions.create({ model, messages: msgs });
          msgs.push({ role: 'assistant', content: r1.choices[0]!.message.content ?? '' }, { role: 'user', content: 'more' });
          await client.chat.completions.create({ model, messages: msgs });
        } finally {
          inFlight--;
        }
      },
    },
    { ...base(), maxConcurrentRollouts: 2 },
  ))!;
  try {
    assert.equal(source.kind, 'client');
    const ts = await source.rollout({ rows, n: 2, sampling, seed: 1, tags: { runId: 'run-a', step: 4 } });
    assert.deepEqual(ts.map((t) => t.rowIndex), [0, 0, 1, 1]);
    assert.ok(most <= 2 && most >= 1, `at most 2 rollouts at a time, saw ${most}`);
    for (const t of ts) {
      assert.equal(t.error, undefined);
      assert.equal(t.stats.turns, 2);
      assert.equal(t.segments.length, 1, 'the second prompt extends the first prompt + reply');
      assert.equal(t.messages.at(-2)!.content, 'more');
      assert.equal(t.output, t.messages.at(-1)!.content);
      await checkTokens(t);
    }
    assert.equal(ts[2]!.row, rows[1]);
    assert.deepEqual(source.counters, { rollouts: 4, completed: 4, errors: 0, timeouts: 0, aborted: 0, noRequests: 0 });
  } finally {
    await source.close();
  }
});

test('client form: an agent that throws or hangs gives an invalid trajectory, counted; the others are fine', async () => {
  const source = (await createAgentSource(
    async ({ row, client, model }) => {
      const what = row.messages[0]!.content;
      if (what === 'throw') {
        await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
        throw new Error('tool backend exploded');
      }
      if (what === 'hang') return new Promise(() => {}); // ignores its signal
      if (what === 'idle') return;
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: what ?? '' }] });
    },
    { ...base(), rolloutTimeoutMs: 300 },
  ))!;
  try {
    const ts = await source.rollout({ rows: ['ok', 'throw', 'hang', 'idle'].map((c) => ({ messages: [{ role: 'user', content: c }] })), n: 1, sampling, seed: 1 });
    assert.equal(ts[0]!.error, undefined);
    assert.equal(ts[1]!.finishReason, 'error');
    assert.match(ts[1]!.error!, /tool backend exploded/);
    assert.equal(ts[1]!.stats.turns, 1, 'what was recorded before the failure is kept (and not trained on)');
    assert.equal(ts[2]!.finishReason, 'timeout');
    assert.match(ts[2]!.error!, /timed out after 300 ms/);
    assert.match(ts[3]!.error!, /without calling the model/);
    assert.deepEqual(source.counters, { rollouts: 4, completed: 1, errors: 1, timeouts: 1, aborted: 0, noRequests: 1 });
  } finally {
    await source.close();
  }
});

test('aborting the request stops every rollout, closes them on the gateway and rejects; nothing is left open', async () => {
  const source = (await createAgentSource(
    async ({ client, model, signal }) => {
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    },
    { ...base(), maxConcurrentRollouts: 3 },
  ))!;
  try {
    const ctl = new AbortController();
    const run = source.rollout({ rows, n: 2, sampling, seed: 1, signal: ctl.signal });
    setTimeout(() => ctl.abort(new Error('stop')), 200);
    await assert.rejects(run, /stop/);
    const health: any = await (await fetch(`${source.gatewayUrl}/health`)).json();
    assert.equal(health.open_rollouts, 0);
    assert.equal(source.counters.rollouts, 3, 'the fourth rollout never started');
    assert.equal(source.counters.aborted, 3);
  } finally {
    await source.close();
  }
});

test('client form: an agent module (.mjs default export) loads; a tools-form module gives null; a missing file is a clear error', async () => {
  const agentPath = join(fx.dir, 'agent.mjs');
  writeFileSync(agentPath, `export default async function run({ client, model }) { await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }); }\n`);
  const toolsPath = join(fx.dir, 'tools-agent.mjs');
  writeFileSync(toolsPath, `export default { tools: [{ type: 'function', function: { name: 'f' }, run: () => 'x' }] };\n`);
  const s = (await createAgentSource(agentPath, base()))!;
  try {
    const ts = await s.rollout({ rows: [rows[0]!], n: 1, sampling, seed: 1 });
    assert.equal(ts[0]!.stats.turns, 1);
    assert.match(s.gatewayUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  } finally {
    await s.close();
  }
  assert.equal(await createAgentSource(toolsPath, base()), null);
  await assert.rejects(createAgentSource(join(fx.dir, 'nope.ts'), base()), /no such file/);
  await assert.rejects(createAgentSource('ftp://x', base()), /no such file/);
});

test('the example client agent (examples/client-agent) runs its tool loop through the gateway: tool calls parsed, results fed back, every turn recorded', async () => {
  const tfx = makeToolCallingFixture();
  const examplePath = fileURLToPath(new URL('../../examples/client-agent/agent.js', import.meta.url));
  const source = (await createAgentSource(examplePath, { policy: tfx.policy, tokenizer: tfx.tokenizer, contextLength: tfx.contextLength }))!;
  try {
    const tools = [{ type: 'function' as const, function: { name: 'add', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } } } }];
    const [t] = await source.rollout({ rows: [{ messages: [{ role: 'user', content: 'add 2 and 3' }], tools }], n: 1, sampling: { maxNewTokens: 8, temperature: 1 }, seed: 1 });
    assert.equal(t!.error, undefined);
    assert.equal(t!.stats.turns, 4, 'the scripted model calls the tool every turn, so the loop runs its 4 turns');
    assert.equal(t!.stats.toolCalls, 4);
    const toolMsgs = t!.messages.filter((m) => m.role === 'tool');
    assert.equal(toolMsgs.length, 3);
    assert.ok(toolMsgs.every((m) => m.content === '5'));
    const call = t!.messages.at(-1)!.tool_calls![0]!;
    assert.deepEqual({ name: call.function.name, args: JSON.parse(call.function.arguments) }, { name: 'add', args: JSON.parse(SCRIPTED_CALL).arguments });
    // ChatML renders an assistant message's content only, so the next prompt does not contain the
    // sampled tool-call tokens: each turn is its own segment (never re-tokenised into one).
    assert.equal(t!.segments.length, 4);
    for (const s of t!.segments) {
      assert.equal(s.completionTokens.length, 4);
      assert.deepEqual(s.completionMask, [1, 1, 1, 1]);
    }
  } finally {
    await source.close();
    tfx.cleanup();
  }
});

// --- remote agents -------------------------------------------------------------------------

const exampleAgent = fileURLToPath(new URL('../../examples/remote-agent/agent.js', import.meta.url));

async function startExampleAgent(extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [exampleAgent, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the example agent exited (${code}) before listening`)));
  });
  return { child, url };
}

for (const [name, flags, via, statusPollMs] of [
  ['a status log', [], 'finishedByLog', 60_000], // (the agent's /status would say so too, later)
  ['its GET /status (no status log)', ['--no-status-log'], 'finishedByPoll', 50],
] as const) {
  test(`remote: the example agent (a separate process, node:http + openai) trains through the gateway; completion by ${name}`, async () => {
    const { child, url } = await startExampleAgent([...flags]);
    const source = (await createAgentSource(url, { ...base(), gatewayApiKey: 'gw-key', maxConcurrentRollouts: 3, remote: { statusPollMs } }))!;
    try {
      assert.equal(source.kind, 'remote');
      const ts = await source.rollout({ rows, n: 2, sampling, seed: 1, tags: { runId: 'run-r', step: 0 } });
      assert.deepEqual(ts.map((t) => t.rowIndex), [0, 0, 1, 1]);
      for (const t of ts) {
        assert.equal(t.error, undefined, t.error);
        assert.equal(t.stats.turns, 2, 'an answer, then the check');
        assert.equal(t.messages.at(-2)!.content, 'Check your answer and give the final one.');
        // The InitRequest carried the prompt only (the row's trailing assistant answer is rft's, not the agent's).
        assert.ok(!t.messages.slice(0, -1).some((m) => m.content === 'gold answer'));
        await checkTokens(t);
      }
      const c = source.counters as RemoteCounters;
      assert.equal(c[via], 4);
      assert.equal(c.completed, 4);
      assert.equal(source.gatewayCounters.unauthorized, 0, 'the agent used the api_key it was given');
    } finally {
      await source.close();
      child.kill();
    }
  });
}

test('remote: the InitRequest has eval-protocol\'s fields; messages keep only role, content, tool_calls, tool_call_id, name', async () => {
  const bodies: any[] = [];
  const server = createServer(async (req, res) => {
    let s = '';
    for await (const c of req) s += c;
    if (req.url === '/init') {
      const init = JSON.parse(s);
      bodies.push(init);
      res.writeHead(200).end();
      await fetch(`${init.model_base_url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${init.api_key}` }, body: JSON.stringify({ model: init.completion_params.model, messages: init.messages }) });
      await fetch(`${init.model_base_url.split('/rollout_id/')[0]}/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${init.api_key}` }, body: JSON.stringify({ status: { code: 100 }, tags: [`rollout_id:${init.metadata.rollout_id}`] }) });
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const source = (await createAgentSource(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { ...base(), gatewayApiKey: 'k1' }))!;
  try {
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
    const row: Row = {
      messages: [{ role: 'system', content: 'sys', weight: 0 } as never, { role: 'user', content: 'q', name: 'ann' }, { role: 'assistant', content: 'the answer' }],
      tools, ground_truth: 'x', id: 'row-17',
    };
    const [t] = await source.rollout({ rows: [row], n: 1, sampling: { maxNewTokens: 5, temperature: 0.5, topP: 0.9, topK: 20, stopStrings: ['###'] }, seed: 1, tags: { runId: 'run-9', step: 2 } });
    assert.equal(t!.error, undefined);
    const b = bodies[0];
    assert.deepEqual(Object.keys(b).sort(), ['api_key', 'completion_params', 'messages', 'metadata', 'model', 'model_base_url', 'tools']);
    assert.deepEqual(b.completion_params, { model: 'tiny', temperature: 0.5, top_p: 0.9, max_tokens: 5, top_k: 20, stop: ['###'] });
    assert.deepEqual(b.messages, [{ role: 'system', content: 'sys' }, { role: 'user', content: 'q', name: 'ann' }]);
    assert.deepEqual(b.tools, tools);
    assert.equal(b.api_key, 'k1');
    assert.equal(b.metadata.run_id, 'run-9');
    assert.equal(b.metadata.experiment_id, 'run-9');
    assert.equal(b.metadata.row_id, 'row-17');
    assert.match(b.metadata.rollout_id, /^[0-9a-f]{12}-2-0-0$/);
    const m = b.metadata;
    assert.equal(b.model_base_url, `${source.gatewayUrl}/rollout_id/${m.rollout_id}/invocation_id/${m.invocation_id}/experiment_id/run-9/run_id/run-9/row_id/row-17`);
  } finally {
    await source.close();
    server.close();
  }
});

/**
 * A misbehaving remote agent: what it does depends on the row's first message.
 *   ok: one chat call, then FINISHED; retry2: 503 twice first; reject: 400; hang-init: never answers /init;
 *   garbage: takes the rollout, answers /status with garbage, never finishes; never: /status 404, never finishes;
 *   twice: FINISHED twice; error: reports code 103; late: finishes after the timeout and calls the finished rollout.
 */
function scriptedAgent(): Promise<{ server: Server; url: string; outcomes: Record<string, number> }> {
  const tries = new Map<string, number>();
  const outcomes: Record<string, number> = {};
  const script = new Map<string, string>();
  const send = (res: ServerResponse, code: number, body: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(body);
  };
  const post = async (url: string, body: unknown) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
  const finish = (init: any, code = 100) => post(`${init.model_base_url.slice(0, init.model_base_url.indexOf('/rollout_id/'))}/logs`, { status: { code, message: code === 100 ? 'done' : 'boom' }, tags: [`rollout_id:${init.metadata.rollout_id}`], message: 'm' });
  const chat = (init: any) => post(`${init.model_base_url}/v1/chat/completions`, { model: init.completion_params.model, messages: init.messages });
  const server = createServer(async (req: IncomingMessage, res) => {
    let s = '';
    for await (const c of req) s += c;
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/status') {
      const what = script.get(url.searchParams.get('rollout_id') ?? '');
      if (what === 'garbage') return send(res, 200, '<html>not json</html>');
      return send(res, 404, '{}');
    }
    const init = JSON.parse(s);
    const what = init.messages[0].content as string;
    script.set(init.metadata.rollout_id, what);
    const n = (tries.get(what) ?? 0) + 1;
    tries.set(what, n);
    if (what === 'retry2' && n <= 2) return send(res, 503, '{"error":"busy"}');
    if (what === 'reject') return send(res, 400, '{"error":"bad InitRequest"}');
    if (what === 'hang-init') return; // never answers
    send(res, 200, 'garbage body, ignored');
    try {
      await act(what, init);
    } catch (e) {
      outcomes.crashed = (outcomes.crashed ?? 0) + 1; // the test's gateway went away first
    }
  });
  const act = async (what: string, init: any) => {
    if (what === 'ok' || what === 'retry2') {
      await chat(init);
      await finish(init);
    } else if (what === 'twice') {
      await chat(init);
      outcomes.first = await finish(init);
      outcomes.second = await finish(init);
    } else if (what === 'error') await finish(init, 103);
    else if (what === 'late') {
      await new Promise((r) => setTimeout(r, 2300));
      outcomes.lateChat = await chat(init);
      outcomes.lateLog = await finish(init);
    }
  };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, outcomes })));
}

test('remote bad input: down, 5xx then up, 4xx, slow, garbage, never finishing, finishing twice, late, an agent error — each a clear counted outcome', async () => {
  const agent = await scriptedAgent();
  const remote = { initBackoffMs: 10, statusPollMs: 50, requestTimeoutMs: 400 };
  const source = (await createAgentSource(agent.url, { ...base(), rolloutTimeoutMs: 2000, maxConcurrentRollouts: 16, remote }))!;
  let down: GatewayAgentSource | null = null;
  try {
    const cases = ['ok', 'retry2', 'reject', 'hang-init', 'garbage', 'never', 'twice', 'error', 'late'];
    const ts = await source.rollout({ rows: cases.map((c) => ({ messages: [{ role: 'user', content: c }] })), n: 1, sampling, seed: 1 });
    const by = Object.fromEntries(cases.map((c, i) => [c, ts[i]!]));
    assert.equal(by.ok!.error, undefined);
    assert.equal(by.ok!.stats.turns, 1);
    await checkTokens(by.ok!);
    assert.equal(by.retry2!.error, undefined);
    assert.match(by.reject!.error!, /POST \/init answered 400: \{"error":"bad InitRequest"\}/);
    assert.match(by['hang-init']!.error!, /POST \/init did not answer in 400 ms$/);
    assert.equal(by.garbage!.finishReason, 'timeout');
    assert.equal(by.never!.finishReason, 'timeout');
    assert.equal(by.twice!.error, undefined);
    assert.match(by.error!.error!, /the agent reported status 103: boom/);
    assert.equal(by.late!.finishReason, 'timeout');
    const c = source.counters as RemoteCounters;
    assert.equal(c.rollouts, 9);
    assert.equal(c.completed, 3); // ok, retry2, twice
    assert.equal(c.timeouts, 3); // garbage, never, late
    assert.equal(c.errors, 3); // reject, hang-init, error
    assert.equal(c.initRejected, 1);
    assert.equal(c.initFailed, 1);
    assert.equal(c.initRetries, 2, 'retry2 twice; a slow /init is not sent again');
    assert.equal(c.agentReportedError, 1);
    assert.ok(c.statusGarbage >= 1);
    assert.ok(c.statusUnsupported >= 1);
    // The late agent's calls come after its rollout was closed: both refused (404), counted by the gateway.
    for (let i = 0; i < 100 && agent.outcomes.lateLog === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(agent.outcomes.lateChat, 404);
    assert.equal(agent.outcomes.lateLog, 404);
    assert.equal(agent.outcomes.first, 200);
    assert.ok(agent.outcomes.second === 409 || agent.outcomes.second === 404, `the second FINISHED is refused (${agent.outcomes.second})`);
    const g = source.gatewayCounters;
    assert.equal(g.finishedRollout, 1);
    assert.equal(g.lateStatus + g.duplicateStatus, 2);

    // An agent that is not there at all.
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    down = (await createAgentSource(`http://127.0.0.1:${port}`, { ...base(), remote }))!;
    const [t] = await down.rollout({ rows: [rows[0]!], n: 1, sampling, seed: 1 });
    assert.match(t!.error!, /POST \/init failed: ECONNREFUSED \(3 tries\)/);
    assert.equal((down.counters as RemoteCounters).initFailed, 1);
  } finally {
    await source.close();
    await down?.close();
    agent.server.closeAllConnections();
    agent.server.close();
  }
});

test('--agent sql-agent names the built-in SQL agent (tools run in process); a file of that name would win; unknown specs list the built-ins', async () => {
  const { agentSource, builtinAgent, BUILTIN_AGENTS } = await import('./agent-source.js');
  const { ToolAgentSource } = await import('../rollout/tool-loop.js');
  assert.deepEqual(Object.keys(BUILTIN_AGENTS), ['sql-agent']);
  const a = builtinAgent('sql-agent');
  assert.deepEqual((a as { tools: { function: { name: string } }[] }).tools.map((t) => t.function.name), ['list_tables', 'describe_table', 'run_sql']);
  await a!.close?.();
  assert.equal(builtinAgent('toString'), null, 'only own names');
  const src = await agentSource('sql-agent', fx.policy, fx.tokenizer);
  assert.ok(src.source instanceof ToolAgentSource);
  assert.equal(src.gatewayUrl, undefined);
  await src.close();
  await assert.rejects(agentSource('sql-agnt', fx.policy, fx.tokenizer), /--agent sql-agnt: .*\(built-in agents: sql-agent\)/);
});
