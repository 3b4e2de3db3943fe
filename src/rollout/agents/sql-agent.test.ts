import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateExamples } from '../../data/index.js';
import { formatResult } from '../../data/tasks/sql-agent.js';
import { buildCharTokenizer, defaultAlphabet } from '../../model/char-tokenizer.js';
import { ModelTokenizer } from '../../model/tokenizer.js';
import { chatTokenizer } from '../../model/policy.js';
import { parseToolCalls } from '../../model/tool-calls.js';
import { sftExample } from '../../train/sft/examples.js';
import { sqlAnswerEvaluator } from '../../evaluators/builtins/sql-answer.js';
import { ToolAgentSource } from '../tool-loop.js';
import { makeSqlAgent } from './sql-agent.js';
import type { PolicyEngine, Sample, SampleRequest } from '../../contracts/policy-engine.js';
import type { Row } from '../../contracts/row.js';

const files = buildCharTokenizer(defaultAlphabet());
const modelTok = new ModelTokenizer({ tokenizer: files.tokenizer, config: files.config, generation: { eos_token_id: [files.ids.imEnd, files.ids.endoftext] } });
const tok = chatTokenizer(modelTok);
const IM_END = files.ids.imEnd;

/** A policy replying from a script: reply(prompt text, turn) is the next reply's text (then <|im_end|>). */
function scripted(reply: (prompt: string, turn: number) => string): PolicyEngine {
  const sample = async (req: SampleRequest): Promise<Sample[]> =>
    req.prompts.map((p, i) => {
      const text = modelTok.decode(p, { skipSpecialTokens: false });
      const turn = text.split('<|im_start|>assistant\n').length - 2;
      const tokens = [...tok.encode(reply(text, turn)), IM_END];
      return { prompt: i, tokens, logprobs: tokens.map(() => -0.25), finishReason: 'stop' };
    });
  return { sample } as unknown as PolicyEngine;
}
const call = (name: string, args: unknown) => `<tool_call>{"name": "${name}", "arguments": ${JSON.stringify(args)}}</tool_call>`;

const dir = mkdtempSync(join(tmpdir(), 'rft-sql-agent-'));
const data = generateExamples('sql-agent', { n: 12, seed: 3, outDir: dir });
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the tools answer from the shop database; writes, bad SQL, unknown tables and bad arguments come back as counted tool errors; the file is untouched', async () => {
  const { examples } = await data;
  const db = examples[0]!.rft.database as string;
  const before = createHash('sha256').update(readFileSync(db)).digest('hex');
  const script = [
    call('list_tables', {}),
    call('describe_table', { table: 'orders' }),
    call('run_sql', { sql: 'SELECT COUNT(*) AS n FROM customers' }),
    call('run_sql', { sql: 'DELETE FROM orders' }) + call('run_sql', { sql: "SELECT 1; UPDATE products SET price = 0" }) + call('run_sql', { sql: 'SELECT nope FROM orders' }),
    call('describe_table', { table: 'staff' }) + call('run_sql', { sql: 42 }),
    'done',
  ];
  const agent = makeSqlAgent();
  try {
    const source = new ToolAgentSource(scripted((_p, turn) => script[turn]!), tok, { ...agent, maxTurns: 8, maxTokens: undefined });
    const [t] = await source.rollout({ rows: [examples[0]!.rft], n: 1, sampling: { maxNewTokens: 400, temperature: 1 }, seed: 1 });
    assert.equal(t!.finishReason, 'stop', t!.error);
    const results = t!.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    assert.equal(results[0], 'customers\norder_items\norders\nproducts');
    assert.equal(results[1], 'id INTEGER\ncustomer_id INTEGER\norder_date TEXT\nstatus TEXT');
    assert.equal(results[2], 'n\n60');
    assert.match(results[3]!, /^Error: only SELECT \/ WITH queries are allowed, got DELETE/);
    assert.match(results[4]!, /^Error: .*(one statement|more than one)/i);
    assert.match(results[5]!, /^Error: no such column: nope/);
    assert.equal(results[6], 'Error: no table "staff"; the tables are customers, order_items, orders, products');
    assert.match(results[7]!, /^Error: invalid arguments for run_sql: \/sql must be string/);
    assert.equal(t!.stats.toolCalls, 8);
    assert.equal(t!.stats.toolErrors, 5);
    assert.equal(createHash('sha256').update(readFileSync(db)).digest('hex'), before, 'the database file did not change');
  } finally {
    await agent.close();
  }
});

test('a row without a usable database aborts the rollout (invalid), and the others go on', async () => {
  const { examples } = await data;
  const agent = makeSqlAgent();
  try {
    const source = new ToolAgentSource(scripted((_p, turn) => (turn === 0 ? call('list_tables', {}) : 'ok')), tok, agent);
    const rows: Row[] = [{ ...examples[0]!.rft, database: join(dir, 'missing.sqlite') }, examples[1]!.rft];
    const ts = await source.rollout({ rows, n: 1, sampling: { maxNewTokens: 400, temperature: 1 }, seed: 1 });
    assert.equal(ts[0]!.finishReason, 'error');
    assert.match(ts[0]!.error!, /missing\.sqlite does not exist/);
    assert.equal(ts[1]!.finishReason, 'stop');
  } finally {
    await agent.close();
  }
});

test('teacher traces: the template renders them, the parser reads the gold call back, and replaying them through the agent gives exactly the SFT tokens and mask; the gold answer scores 1', async () => {
  const { examples } = await data;
  const agent = makeSqlAgent();
  const evaluator = sqlAnswerEvaluator();
  try {
    for (const e of examples) {
      const sft = e.sft;
      const msgs = sft.messages;
      const gold = (sft.ground_truth as { sql: string }).sql;
      assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'tool', 'assistant']);
      // the tool result in the trace is what run_sql returns for the gold query
      const rows = new Database(sft.database as string, { readonly: true }).prepare(gold).raw(true);
      assert.equal(msgs[2]!.content, formatResult(rows.columns().map((c) => c.name), rows.all() as unknown[][]));
      // a server re-renders a returned call with its arguments as an object (tojson): the same tokens
      const asObjects = msgs.map((m) => (m.tool_calls ? { ...m, tool_calls: m.tool_calls.map((c) => ({ ...c, function: { ...c.function, arguments: JSON.parse(c.function.arguments) } })) } : m));
      assert.deepEqual(tok.applyChatTemplate(asObjects as Row['messages'], { addGenerationPrompt: false, tools: sft.tools }), tok.applyChatTemplate(msgs, { addGenerationPrompt: false, tools: sft.tools }));
      const ex = sftExample(sft, tok, 4096, 'trace');
      assert.ok(ex.mask, 'the trace has inserted tokens');
      // the assistant turns (mask 1) parse back into the gold call and the answer
      const spans: string[] = [];
      let cur: number[] = [];
      ex.mask!.forEach((m, i) => {
        if (m) cur.push(ex.completion[i]!);
        if ((!m || i === ex.mask!.length - 1) && cur.length) {
          spans.push(modelTok.decode(cur, { skipSpecialTokens: false }));
          cur = [];
        }
      });
      assert.equal(spans.length, 2);
      const parsed = parseToolCalls(spans[0]!.replace(/<\|im_end\|>$/, ''));
      assert.equal(parsed.toolCalls.length, 1);
      assert.equal(parsed.toolCalls[0]!.function.name, 'run_sql');
      assert.deepEqual(JSON.parse(parsed.toolCalls[0]!.function.arguments), { sql: gold });
      assert.equal(spans[1], `${msgs[3]!.content}<|im_end|>`);
      // replay: a policy that says what the teacher said
      const replies = [spans[0]!.replace(/<\|im_end\|>$/, ''), msgs[3]!.content!];
      const source = new ToolAgentSource(scripted((_p, turn) => replies[turn]!), tok, agent);
      const [t] = await source.rollout({ rows: [e.rft], n: 1, sampling: { maxNewTokens: 400, temperature: 1 }, seed: 1 });
      assert.equal(t!.segments.length, 1);
      const seg = t!.segments[0]!;
      assert.deepEqual(seg.promptTokens, ex.prompt);
      assert.deepEqual(seg.completionTokens, ex.completion);
      assert.deepEqual(seg.completionMask, ex.mask);
      const r = await evaluator.evaluate(t!);
      assert.equal(r.score, 1, r.reason);
    }
  } finally {
    await agent.close();
    await evaluator.close();
  }
});

test('generation is deterministic and the database is written beside the rows', async () => {
  const { examples } = await data;
  const again = await generateExamples('sql-agent', { n: 12, seed: 3, outDir: join(dir, 'again') });
  assert.deepEqual(again.examples.map((e) => e.sft.messages), examples.map((e) => e.sft.messages));
  assert.ok(statSync(join(dir, 'shop.sqlite')).size > 0);
  assert.ok(examples.every((e) => e.rft.level === 'easy' && Array.isArray(e.rft.tools) && e.rft.messages.length === 1));
});
