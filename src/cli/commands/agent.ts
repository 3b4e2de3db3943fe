/**
 * `rft agent try --agent FILE --model DIR --dataset FILE [--evaluator SPEC] [-n 3]`: runs an agent
 * on a few rows with the current model and prints the whole trajectories — every message, tool
 * call and tool result, how the rollout ended, its tokens, and (with an evaluator) its score — so
 * an agent can be debugged before training. `--json` prints them as one JSON object.
 *
 * `rft agent serve --agent sql-agent|FILE [--port 3000] [--database DB]`: serves a tools-form agent as
 * an eval-protocol remote agent (src/server/agent-server.ts) for `rft train --agent http://...`.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { ChatMessage } from '../../contracts/row.js';
import type { EvaluationResult } from '../../contracts/evaluation.js';
import type { Trajectory } from '../../contracts/trajectory.js';
import { loadRows, makePolicy, makeScorer, type Scorer } from '../../train/setup.js';
import { scoreAll } from '../../train/grpo/score.js';
import { agentSource, builtinAgent, BUILTIN_AGENTS, type AgentSource } from '../agent-source.js';
import { loadAgentModule } from '../../rollout/load-agent.js';
import { isToolAgent, type ToolAgent } from '../../rollout/agent.js';
import { makeSqlAgent } from '../../rollout/agents/sql-agent.js';
import { ToolAgentServer } from '../../server/agent-server.js';
import { CliError } from '../errors.js';

function positiveInt(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, got "${v}"`);
    return n;
  };
}

function nonNegative(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number ≥ 0, got "${v}"`);
    return n;
  };
}

const indent = (text: string, by: string) => text.split('\n').map((l) => by + l).join('\n');

function formatMessage(m: ChatMessage): string {
  const head = m.role === 'tool' ? `[tool${m.name ? ` ${m.name}` : ''}${m.tool_call_id ? ` ← ${m.tool_call_id}` : ''}]` : `[${m.role}]`;
  const lines = [m.content === null || m.content === '' ? head : `${head} ${m.content.includes('\n') ? '\n' + indent(m.content, '    ') : m.content}`];
  for (const c of m.tool_calls ?? []) lines.push(`    → ${c.function.name}(${c.function.arguments})  [${c.id}]`);
  return lines.join('\n');
}

/** One trajectory as text: a header line (row, sample, finish, turns, tools, tokens, score), then its messages. */
export function formatTrajectory(t: Trajectory, sample: number, result?: EvaluationResult): string {
  const s = t.stats;
  const score = result ? (result.valid ? `score ${result.score.toFixed(3)}` : 'invalid') + (result.reason ? ` (${result.reason})` : '') : '';
  const head = [
    `── row ${t.rowIndex} · sample ${sample} · ${t.finishReason}`,
    `${s.turns} turn${s.turns === 1 ? '' : 's'}, ${s.toolCalls} tool call${s.toolCalls === 1 ? '' : 's'} (${s.toolErrors} error${s.toolErrors === 1 ? '' : 's'})`,
    `${s.sampledTokens} sampled + ${s.insertedTokens} inserted tokens in ${t.segments.length} segment${t.segments.length === 1 ? '' : 's'}`,
    ...(score ? [score] : []),
  ].join(' · ');
  return [head, ...(t.error ? [`error: ${t.error}`] : []), ...t.messages.map(formatMessage), ''].join('\n');
}

interface TryOptions {
  agent: string;
  model: string;
  adapter?: string;
  dataset: string;
  evaluator?: string;
  rows: number;
  samples: number;
  temperature: number;
  maxNewTokens: number;
  seed: number;
  json?: boolean;
}

export function register(program: Command): void {
  const agent = program.command('agent').description('agents (multi-turn, tool-using rollouts): try one before training');
  agent
    .command('try')
    .description('run an agent on a few dataset rows and print the whole trajectories (messages, tool calls, results, scores)')
    .requiredOption('--agent <spec>', `agent module (.ts/.js, defineAgent: tools or client form), a built-in (${Object.keys(BUILTIN_AGENTS).join(', ')}) or the http(s) URL of a remote agent`)
    .requiredOption('--model <dir>', 'model directory (Hugging Face layout)')
    .option('--adapter <dir>', 'a PEFT adapter to apply (e.g. a training run\'s)')
    .requiredOption('--dataset <file>', 'rows (JSONL); the first --rows are used')
    .option('--evaluator <spec>', 'score each trajectory with this evaluator SPEC')
    .option('-n, --rows <n>', 'rows to run', positiveInt('--rows'), 3)
    .option('--samples <k>', 'rollouts per row', positiveInt('--samples'), 1)
    .option('--temperature <t>', 'sampling temperature (0: greedy)', nonNegative('--temperature'), 1)
    .option('--max-new-tokens <n>', 'tokens per model turn at most', positiveInt('--max-new-tokens'), 128)
    .option('--seed <n>', 'sampling seed', (v) => Number(v), 0)
    .option('--json', 'print one JSON object {trajectories: [{row, sample, finishReason, error, stats, messages, output, evaluation}]}')
    .action(async (o: TryOptions) => {
      let scorer: Scorer | undefined;
      let src: AgentSource | undefined;
      try {
        const rows = (await loadRows(o.dataset, 'rft', '--dataset')).slice(0, o.rows);
        if (!rows.length) throw new CliError(`--dataset ${o.dataset} has no rows`);
        // LoRA B starts at zero: the policy is the model (plus --adapter) unchanged.
        const policy = makePolicy({ model: o.model, adapter: o.adapter, loraRank: 1, loraAlpha: 1, loraDropout: 0, targetModules: ['q_proj'], seed: o.seed });
        src = await agentSource(o.agent, policy, policy.chat);
        if (o.evaluator) scorer = await makeScorer(o.evaluator, { timeoutMs: 30_000, concurrency: 4 });
        const ts = await src.source.rollout({ rows, n: o.samples, sampling: { maxNewTokens: o.maxNewTokens, temperature: o.temperature }, seed: o.seed });
        const results = scorer ? (await scoreAll(scorer.score, ts)).results : undefined;
        if (o.json) {
          const out = ts.map((t, i) => ({ row: t.rowIndex, sample: i % o.samples, finishReason: t.finishReason, error: t.error ?? null, stats: t.stats, messages: t.messages, output: t.output, evaluation: results?.[i] ?? null }));
          process.stdout.write(JSON.stringify({ trajectories: out }) + '\n');
        } else {
          process.stdout.write(ts.map((t, i) => formatTrajectory(t, i % o.samples, results?.[i])).join('\n'));
        }
      } catch (e) {
        if (e instanceof CliError) throw e;
        throw new CliError((e as Error).message, 1);
      } finally {
        await src?.close();
        await scorer?.close();
      }
    });

  agent
    .command('serve')
    .description('serve a tools-form agent (built-in sql-agent or a module) as an eval-protocol remote agent: POST /init, GET /status')
    .requiredOption('--agent <spec>', 'a built-in agent (sql-agent) or an agent module exporting defineAgent({ tools: [...] })')
    .option('--port <n>', 'port on --host (0: a free one)', (v) => Number(v), 3000)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--database <file>', 'the "database" field of every rollout\'s row (the SQLite file the SQL agent queries; InitRequest carries no dataset fields)')
    .action(async (o: { agent: string; port: number; host: string; database?: string }) => {
      if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new CliError(`--port must be 0..65535, got ${o.port}`);
      let agent: ToolAgent & { close?(): void | Promise<void> };
      if (o.agent === 'sql-agent' && builtinAgent(o.agent)) agent = makeSqlAgent(o.database ? { database: o.database } : {});
      else {
        let a;
        try {
          a = builtinAgent(o.agent) ?? (await loadAgentModule(o.agent));
        } catch (e) {
          throw new CliError(`--agent ${o.agent}: ${(e as Error).message}`);
        }
        if (!isToolAgent(a)) throw new CliError(`--agent ${o.agent}: only tools-form agents (defineAgent({ tools })) can be served; a client-form agent is already its own program`);
        agent = a;
      }
      const server = new ToolAgentServer(agent, { rowFields: o.database ? { database: o.database } : {} });
      const url = await server.listen(o.port, o.host);
      console.log(`listening on ${url}`);
      const stop = async () => {
        await server.close();
        await agent.close?.();
        process.exit(0);
      };
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stop());
    });
}
