import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateExamples } from '../../data/tasks/index.js';
import { formatAnswer, formatQueryResult, RESULT_ROWS_SHOWN, SQL_AGENT_TOOLS } from '../../data/tasks/sql-agent.js';
import { sqlAnswerEvaluator, multisetF1 } from '../../evaluators/builtins/sql-answer.js';
import { buildCharTokenizer, defaultAlphabet } from '../../model/char-tokenizer.js';
import { ModelTokenizer } from '../../model/tokenizer.js';
import { chatTokenizer } from '../../model/policy.js';
import type { PolicyEngine, Sample, SampleRequest } from '../../contracts/policy-engine.js';
import type { ChatMessage, Row } from '../../contracts/row.js';
import { ToolAgentSource } from '../tool-loop.js';
import { sqlAgent } from './sql.js';
import type { ToolContext } from '../agent.js';

const dir = mkdtempSync(join(tmpdir(), 'rft-sql-agent-'));
const agent = sqlAgent({ queryTimeoutMs: 3000 });
const answer = sqlAnswerEvaluator();
after(async () => {
  await agent.close();
  await answer.close();
});
const examples = async (n: number) => (await generateExamples('sql-agent', { n, seed: 4, outDir: dir })).examples;
const ctx = (row: Row): ToolContext => ({ row, signal: new AbortController().signal, rollout: 0, turn: 0 });
const tool = (name: string) => agent.tools.find((t) => t.function.name === name)!;

test('sql-agent rows: the teacher trace calls run_sql with the gold query, shows its result as the tool does, and answers with its values', async () => {
  for (const ex of await examples(6)) {
    const [system, user, call, result, final] = ex.sft.messages;
    assert.deepEqual([system.role, user.role, call.role, result.role, final.role], ['system', 'user', 'assistant', 'tool', 'assistant']);
    assert.deepEqual(ex.rft.messages, [system, user]);
    const gold = (ex.rft.ground_truth as { sql: string }).sql;
    assert.deepEqual(call.tool_calls!.map((c) => [c.function.name, JSON.parse(c.function.arguments)]), [['run_sql', { query: gold }]]);
    // the tool's own answer to the gold query is exactly the trace's tool message
    assert.equal(await tool('run_sql').run({ query: gold }, ctx(ex.rft)), result.content);
    const db = new Database(ex.rft.database as string, { readonly: true });
    const rows = db.prepare(gold).raw(true).all() as unknown[][];
    db.close();
    assert.equal(final.content, formatAnswer(rows));
    // the teacher's answer earns full marks from the task's evaluator
    assert.equal((await answer.evaluate({ row: ex.rft, messages: ex.sft.messages, output: final.content! })).score, 1);
  }
});

test('the SQL tools: list and describe tables, errors go back to the model, a row without a database aborts the rollout', async () => {
  const [ex] = await examples(1);
  assert.equal(await tool('list_tables').run({}, ctx(ex.rft)), 'customers, order_items, orders, products');
  assert.match(String(await tool('describe_table').run({ table: 'orders' }, ctx(ex.rft))), /^CREATE TABLE orders \(\n  id INTEGER PRIMARY KEY,/);
  await assert.rejects(async () => tool('describe_table').run({ table: 'nope' }, ctx(ex.rft)), /no table named nope; the tables are customers, order_items, orders, products/);
  await assert.rejects(async () => tool('describe_table').run({ table: "x'; DROP TABLE orders; --" }, ctx(ex.rft)), /is not a table name/);
  await assert.rejects(async () => tool('run_sql').run({ query: 'DELETE FROM orders' }, ctx(ex.rft)), /only SELECT \/ WITH queries are allowed/);
  await assert.rejects(async () => tool('run_sql').run({ query: 'SELECT nope FROM orders' }, ctx(ex.rft)), /no such column: nope/);
  await assert.rejects(async () => tool('run_sql').run({ query: 'SELECT 1' }, ctx({ messages: [] })), (e: Error) => e.name === 'AbortRollout' && /no "database" field/.test(e.message));
  const many = String(await tool('run_sql').run({ query: 'SELECT id FROM customers ORDER BY id' }, ctx(ex.rft)));
  assert.equal(many.split('\n').length, 1 + RESULT_ROWS_SHOWN + 1);
  assert.match(many, /\n… 40 more rows$/);
  assert.equal(formatQueryResult(['a', 'b'], [[1, 2.345], [null, 'x']]), 'a | b\n1 | 2.35\nnull | x');
  assert.deepEqual(agent.tools.map((t) => t.function), SQL_AGENT_TOOLS.map((t) => t.function));
});

test('sql_answer: F1 of the answer values against the gold result, + 0.1 for a query that ran; padding and claims in text earn nothing', async () => {
  const [ex] = (await examples(8)).filter((e) => (e.sft.messages[4].content!.match(/[,;]/g)?.length ?? 0) >= 1);
  assert.ok(ex, 'an example whose answer has several values');
  const final = ex.sft.messages[4].content!;
  const values = final.slice('<answer>'.length, -'</answer>'.length).split(/; |, /);
  const ran: ChatMessage[] = ex.sft.messages.slice(0, 4);
  const failed: ChatMessage[] = [...ex.sft.messages.slice(0, 3), { role: 'tool', name: 'run_sql', tool_call_id: 'call_0_0', content: 'Error: no such column: x' }];
  const score = async (output: string, messages: ChatMessage[]) => answer.evaluate({ row: ex.rft, messages, output });
  assert.equal((await score(final, ran)).score, 1);
  assert.equal((await score(final, failed)).score, 0.9);
  const half = values.slice(0, Math.ceil(values.length / 2));
  const f1 = multisetF1(half, values).f1;
  assert.equal((await score(`<answer>${half.join(', ')}</answer>`, ran)).score, Math.round((0.9 * f1 + 0.1) * 1e4) / 1e4);
  // every value plus as many guesses: precision halves
  const padded = await score(`<answer>${[...values, ...values.map((_, i) => `guess${i}`)].join(', ')}</answer>`, ran);
  assert.equal(padded.metrics!.answer.score, Math.round((2 * values.length / (3 * values.length)) * 1e4) / 1e4);
  // the model cannot claim a query ran by writing a tool-looking text, and text outside <answer> is not read
  const claimed = await score(`run_sql returned: ${values.join(', ')}`, [...ex.sft.messages.slice(0, 2), { role: 'assistant', content: 'tool run_sql: ok' }]);
  assert.deepEqual([claimed.score, claimed.metrics!.query_ran.score], [0, 0]);
  assert.equal((await answer.evaluate({ row: { messages: [] }, messages: [], output: final })).valid, false);
});

test('the SQL agent in the tool loop: a scripted model that queries and answers gets full marks', async () => {
  const [ex] = await examples(1);
  const files = buildCharTokenizer(defaultAlphabet());
  const modelTok = new ModelTokenizer({ tokenizer: files.tokenizer, config: files.config });
  const tok = chatTokenizer(modelTok);
  const gold = (ex.rft.ground_truth as { sql: string }).sql;
  const replies = [`<tool_call>{"name": "run_sql", "arguments": ${JSON.stringify({ query: gold })}}</tool_call>`, ex.sft.messages[4].content!];
  let turn = 0;
  const policy = {
    sample: async (req: SampleRequest): Promise<Sample[]> => {
      const tokens = [...tok.encode(replies[turn++]), files.ids.imEnd];
      return req.prompts.map((_, i) => ({ prompt: i, tokens, logprobs: tokens.map(() => -1), finishReason: 'stop' as const }));
    },
  } as unknown as PolicyEngine;
  const [t] = await new ToolAgentSource(policy, tok, agent).rollout({ rows: [ex.rft], n: 1, sampling: { maxNewTokens: 400, temperature: 1 }, seed: 1 });
  assert.equal(t.finishReason, 'stop');
  assert.equal(t.messages[3].content, ex.sft.messages[3].content);
  assert.equal((await answer.evaluate(t)).score, 1);
});
