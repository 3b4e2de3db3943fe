/**
 * The tools-form agent loop as a RolloutSource. All rollouts of a request advance together: each
 * turn, every live rollout samples in one batched `policy.sample` call (each with its own token
 * context), then each parses its reply for tool calls, runs them (arguments checked against the
 * tool's JSON Schema with ajv, a per-call timeout), and appends the results through the chat
 * template — token-in/token-out (turn-tokens.ts): the sampled tokens stay exactly as sampled, the
 * inserted ones carry mask 0. A rollout ends at a reply without tool calls ('stop', or 'length'
 * when the reply hit the per-turn token limit), after maxTurns ('max_turns'), or when its token
 * budget runs out ('budget'). A rollout whose tool aborts it (AbortRollout), whose template or
 * tools break in an unexpected way, or that outlives its timeout is invalid ('error' / 'timeout').
 * The timeout counts the rollout's own time — the sampling turns it took part in and its own tool
 * calls, not the wait for other rollouts' tools — so one slow rollout does not time out the batch,
 * and which rollouts sample together never depends on timing (each turn's batch is the rollouts
 * still going, in order: the same seed gives the same trajectories).
 *
 * Errors the model made — malformed tool-call JSON, an unknown tool, arguments that fail the
 * schema, a tool that throws or times out — go back to the model as the tool message
 * ("Error: ...") and are counted in stats.toolErrors; the rollout goes on.
 */
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type { ChatMessage, Row, Tool, ToolCall } from '../contracts/row.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { RolloutFinish, RolloutStats, TokenSegment, Trajectory } from '../contracts/trajectory.js';
import { parseToolCalls, TOOL_CALL_FORMATS, type ToolCallFormat } from '../model/tool-calls.js';
import { AbortRollout, agentProblems, toolSchemas, type AgentTool, type ToolAgent } from './agent.js';
import { promptMessages } from './single-turn.js';
import { continuationTokens } from './turn-tokens.js';
import type { RolloutRequest, RolloutSource } from './source.js';

// ajv ships CommonJS with `module.exports = Ajv` and a `.default`; require avoids the interop dance.
const require = createRequire(import.meta.url);
const AjvClass = require('ajv') as typeof import('ajv').default;

export const AGENT_DEFAULTS = { maxTurns: 8, toolTimeoutMs: 10_000, rolloutTimeoutMs: 120_000 } as const;

/** One rollout in flight. */
interface Live {
  index: number;
  rowIndex: number;
  row: Row;
  messages: ChatMessage[];
  done: TokenSegment[];
  seg: TokenSegment;
  stats: RolloutStats;
  /** sampled + inserted tokens so far (the budget counts these) */
  used: number;
  finish?: RolloutFinish;
  error?: string;
  /** The rollout's own time so far (ms): the sampling turns it took part in and its own tool calls. */
  elapsed: number;
  abort: AbortController;
}

class RolloutTimeout extends Error {}

/** A 32-bit mix of the request seed and the turn, so turns draw unrelated streams. */
function turnSeed(seed: number, turn: number): number {
  let h = (seed ^ 0x7f4a7c15) >>> 0;
  h = Math.imul(h ^ turn, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const emptySegment = (promptTokens: number[]): TokenSegment => ({ promptTokens, completionTokens: [], completionMask: [], logprobs: [] });

export class ToolAgentSource implements RolloutSource {
  private readonly tools = new Map<string, { tool: AgentTool; validate: ValidateFunction | null }>();
  private readonly schemas: Tool[];
  private readonly formats: readonly ToolCallFormat[];
  private readonly maxTurns: number;
  private readonly toolTimeoutMs: number;
  private readonly rolloutTimeoutMs: number;

  constructor(
    private readonly policy: PolicyEngine,
    private readonly tokenizer: ChatTokenizer,
    private readonly agent: ToolAgent,
  ) {
    const problems = agentProblems(agent);
    if (problems.length) throw new TypeError(`agent: ${problems.join('; ')}`);
    const ajv = new AjvClass({ allErrors: true, strict: false });
    for (const tool of agent.tools) {
      let validate: ValidateFunction | null = null;
      if (tool.function.parameters) {
        try {
          validate = ajv.compile(tool.function.parameters);
        } catch (e) {
          throw new TypeError(`agent: tool ${tool.function.name}: parameters is not a valid JSON Schema (${(e as Error).message})`);
        }
      }
      this.tools.set(tool.function.name, { tool, validate });
    }
    this.schemas = toolSchemas(agent);
    this.formats = agent.toolCallFormats ?? TOOL_CALL_FORMATS;
    this.maxTurns = agent.maxTurns ?? AGENT_DEFAULTS.maxTurns;
    this.toolTimeoutMs = agent.toolTimeoutMs ?? AGENT_DEFAULTS.toolTimeoutMs;
    this.rolloutTimeoutMs = agent.rolloutTimeoutMs ?? AGENT_DEFAULTS.rolloutTimeoutMs;
  }

  async rollout(req: RolloutRequest): Promise<Trajectory[]> {
    const { tokenizer } = this;
    const budget = this.agent.maxTokens ?? Infinity;
    const stopTokens = [...new Set([...(req.sampling.stopTokens ?? []), ...tokenizer.stopTokenIds])];
    const states: Live[] = [];
    req.rows.forEach((row, rowIndex) => {
      const messages = this.initialMessages(row);
      let prompt: number[] = [];
      let error: string | undefined;
      try {
        prompt = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tools: this.schemas });
      } catch (e) {
        error = `row ${rowIndex}: ${(e as Error).message}`;
      }
      for (let j = 0; j < req.n; j++) {
        states.push({
          index: states.length, rowIndex, row, messages: [...messages], done: [], seg: emptySegment(prompt),
          stats: { turns: 0, toolCalls: 0, toolErrors: 0, sampledTokens: 0, insertedTokens: 0 }, used: 0,
          elapsed: 0, abort: new AbortController(),
          ...(error !== undefined ? { finish: 'error' as const, error } : {}),
        });
      }
    });
    const onAbort = () => states.forEach((s) => s.abort.abort());
    req.signal?.addEventListener('abort', onAbort);
    try {
      for (let turn = 0; turn < this.maxTurns; turn++) {
        req.signal?.throwIfAborted();
        const live = states.filter((s) => !s.finish);
        if (!live.length) break;
        const allowance = (s: Live) => Math.min(req.sampling.maxNewTokens, budget - s.used);
        const t0 = Date.now();
        const samples = await this.policy.sample({
          ...req.sampling,
          maxNewTokens: Math.max(...live.map(allowance)),
          seed: turnSeed(req.seed, turn),
          stopTokens,
          prompts: live.map((s) => [...s.seg.promptTokens, ...s.seg.completionTokens]),
          n: 1,
          reference: req.reference,
        });
        const dt = Date.now() - t0;
        for (const s of live) s.elapsed += dt;
        const withCalls: { s: Live; assistant: ChatMessage; calls: ToolCall[]; malformed: string[]; endsWithStop: boolean }[] = [];
        for (const sample of samples) {
          const s = live[sample.prompt];
          const allowed = allowance(s);
          const cut = sample.tokens.length > allowed;
          const tokens = cut ? sample.tokens.slice(0, allowed) : sample.tokens;
          s.seg.completionTokens.push(...tokens);
          s.seg.completionMask.push(...tokens.map(() => 1));
          s.seg.logprobs.push(...sample.logprobs.slice(0, tokens.length));
          s.used += tokens.length;
          s.stats.sampledTokens += tokens.length;
          s.stats.turns++;
          const endsWithStop = !cut && sample.finishReason === 'stop' && stopTokens.includes(tokens[tokens.length - 1]);
          const text = tokenizer.decode(endsWithStop ? tokens.slice(0, -1) : tokens);
          const parsed = parseToolCalls(text, { formats: this.formats, makeId: (k) => `call_${turn}_${k}` });
          const assistant: ChatMessage = parsed.toolCalls.length ? { role: 'assistant', content: parsed.content, tool_calls: parsed.toolCalls } : { role: 'assistant', content: text };
          s.messages.push(assistant);
          if (s.elapsed > this.rolloutTimeoutMs) this.timeOut(s);
          else if (cut) s.finish = 'budget';
          // a reply cut off by the per-turn limit ends the rollout; by the budget when that lowered the limit
          else if (sample.finishReason === 'length') s.finish = allowed < req.sampling.maxNewTokens ? 'budget' : 'length';
          else if (!parsed.toolCalls.length && !parsed.malformed.length) s.finish = 'stop';
          else withCalls.push({ s, assistant, calls: parsed.toolCalls, malformed: parsed.malformed.map((m) => m.error), endsWithStop });
        }
        await Promise.all(
          withCalls.map(async ({ s, assistant, calls, malformed, endsWithStop }) => {
            const t1 = Date.now();
            const remaining = () => this.rolloutTimeoutMs - s.elapsed - (Date.now() - t1);
            try {
              const results: ChatMessage[] = [];
              for (const call of calls) {
                const r = await this.runCall(s, call, turn, remaining());
                if (r.error) s.stats.toolErrors++;
                results.push({ role: 'tool', tool_call_id: call.id, name: call.function.name, content: r.content });
              }
              for (const m of malformed) {
                s.stats.toolErrors++;
                results.push({ role: 'tool', content: `Error: ${m}` });
              }
              s.stats.toolCalls += calls.length + malformed.length;
              const history = s.messages.slice(0, -1);
              s.messages.push(...results);
              if (turn === this.maxTurns - 1) {
                s.finish = 'max_turns';
                return;
              }
              this.continueWith(s, history, assistant, results, endsWithStop, budget);
            } catch (e) {
              if (e instanceof RolloutTimeout) this.timeOut(s);
              else this.fail(s, e instanceof AbortRollout ? `the rollout was aborted: ${e.message}` : `agent error: ${(e as Error)?.message ?? String(e)}`);
            } finally {
              s.elapsed += Date.now() - t1;
            }
          }),
        );
      }
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
    }
    return states.map((s): Trajectory => {
      const segments = [...s.done, s.seg].filter((g) => g.completionTokens.length > 0);
      const last = [...s.messages].reverse().find((m) => m.role === 'assistant');
      return {
        row: s.row,
        messages: s.messages,
        output: typeof last?.content === 'string' ? last.content : '',
        rowIndex: s.rowIndex,
        segments,
        finishReason: s.finish ?? 'max_turns',
        ...(s.error !== undefined ? { error: s.error } : {}),
        stats: s.stats,
      };
    });
  }

  async close(): Promise<void> {
    await this.agent.close?.();
  }

  /** The agent's system message (merged with the row's own, if it starts with one), then the row's prompt. */
  private initialMessages(row: Row): ChatMessage[] {
    const prompt = promptMessages(row);
    const system = this.agent.system;
    if (system === undefined) return prompt;
    if (prompt[0]?.role === 'system') return [{ ...prompt[0], content: `${system}\n\n${prompt[0].content ?? ''}` }, ...prompt.slice(1)];
    return [{ role: 'system', content: system }, ...prompt];
  }

  /** Appends the inserted tokens of the new messages, or starts a new segment when the template does not extend the tokens so far. */
  private continueWith(s: Live, history: ChatMessage[], assistant: ChatMessage, added: ChatMessage[], endsWithStop: boolean, budget: number): void {
    const inserted = continuationTokens(this.tokenizer, history, assistant, added, { tools: this.schemas, sampledEndsWithStop: endsWithStop });
    if (inserted) {
      if (s.used + inserted.length >= budget) {
        s.finish = 'budget';
        return;
      }
      s.seg.completionTokens.push(...inserted);
      s.seg.completionMask.push(...inserted.map(() => 0));
      s.seg.logprobs.push(...inserted.map(() => 0));
      s.used += inserted.length;
      s.stats.insertedTokens += inserted.length;
      return;
    }
    const prompt = this.tokenizer.applyChatTemplate(s.messages, { addGenerationPrompt: true, tools: this.schemas });
    const grown = Math.max(0, prompt.length - s.seg.promptTokens.length - s.seg.completionTokens.length);
    if (s.used + grown >= budget) {
      s.finish = 'budget';
      return;
    }
    s.used += grown;
    s.done.push(s.seg);
    s.seg = emptySegment(prompt);
  }

  /** Runs one tool call; what the model is told, and whether it was an error. */
  private async runCall(s: Live, call: ToolCall, turn: number, remaining: number): Promise<{ content: string; error: boolean }> {
    const name = call.function.name;
    const entry = this.tools.get(name);
    if (!entry) return { content: `Error: unknown tool "${name}"; the tools are ${[...this.tools.keys()].join(', ')}`, error: true };
    let args: unknown;
    try {
      args = JSON.parse(call.function.arguments);
    } catch (e) {
      return { content: `Error: the arguments of ${name} are not valid JSON (${(e as Error).message})`, error: true };
    }
    if (entry.validate && !entry.validate(args)) {
      const why = (entry.validate.errors ?? []).map((er) => `${er.instancePath || '(arguments)'} ${er.message}`).join('; ');
      return { content: `Error: invalid arguments for ${name}: ${why}`, error: true };
    }
    if (remaining <= 0) throw new RolloutTimeout();
    const limit = Math.min(this.toolTimeoutMs, remaining);
    const ctrl = new AbortController();
    const onRolloutAbort = () => ctrl.abort(s.abort.signal.reason);
    s.abort.signal.addEventListener('abort', onRolloutAbort);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limit)));
    try {
      const run = Promise.resolve().then(() => entry.tool.run(args, { row: s.row, signal: ctrl.signal, rollout: s.index, turn }));
      const result = await Promise.race([run.then((value) => ({ value })), timeout]);
      if (result === 'timeout') {
        ctrl.abort(new Error(`tool ${name} timed out`));
        run.catch(() => {}); // its late failure must not surface as an unhandled rejection
        if (limit < this.toolTimeoutMs) throw new RolloutTimeout();
        return { content: `Error: ${name} timed out after ${this.toolTimeoutMs} ms`, error: true };
      }
      const v = result.value;
      if (typeof v === 'string') return { content: v, error: false };
      if (v === undefined) return { content: '', error: false };
      try {
        const json = JSON.stringify(v);
        if (json === undefined) throw new Error(`a ${typeof v} has no JSON form`);
        return { content: json, error: false };
      } catch (e) {
        return { content: `Error: the result of ${name} is not JSON (${(e as Error).message})`, error: true };
      }
    } catch (e) {
      if (e instanceof AbortRollout || e instanceof RolloutTimeout) throw e;
      return { content: `Error: ${(e as Error)?.message ?? String(e)}`, error: true };
    } finally {
      clearTimeout(timer);
      s.abort.signal.removeEventListener('abort', onRolloutAbort);
    }
  }

  private timeOut(s: Live): void {
    s.finish = 'timeout';
    s.error = `the rollout took longer than ${this.rolloutTimeoutMs} ms`;
    s.abort.abort(new Error(s.error));
  }

  private fail(s: Live, message: string): void {
    s.finish = 'error';
    s.error = message;
    s.abort.abort(new Error(message));
  }
}
