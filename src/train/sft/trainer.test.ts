import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSft } from './trainer.js';
import { sftExample } from './examples.js';
import { toyPolicy, toyTokenizer, toyScore } from '../testing/toy-task.js';
import type { Row } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';

const sftRows = (n: number): Row[] => Array.from({ length: n }, (_, i) => ({
  messages: [{ role: 'user', content: 'bcd'[i % 3] }, { role: 'assistant', content: 'aaab' }],
}));

test('the completion is the answer plus the end-of-turn token, and the prompt ends with the generation prompt', () => {
  const ex = sftExample(sftRows(1)[0], toyTokenizer, 64, 'row 1');
  assert.deepEqual(ex.prompt, [...toyTokenizer.encode('b'), toyTokenizer.sep]);
  assert.deepEqual(ex.completion, [...toyTokenizer.encode('aaab'), toyTokenizer.eos]);
});

test('long examples keep the answer and drop the oldest prompt tokens', () => {
  const row: Row = { messages: [{ role: 'user', content: 'bcdbcdbcd' }, { role: 'assistant', content: 'ab' }] };
  const ex = sftExample(row, toyTokenizer, 6, 'row 1');
  assert.equal(ex.prompt.length + ex.completion.length, 6);
  assert.deepEqual(ex.completion, [...toyTokenizer.encode('ab'), toyTokenizer.eos]);
});

test('rows that do not end with an answer, or whose template is not prefix-stable, are rejected with the row named', () => {
  assert.throws(() => sftExample({ messages: [{ role: 'user', content: 'b' }] }, toyTokenizer, 64, 'row 7'), /row 7: an SFT row must end with an assistant message/);
  const unstable: ChatTokenizer = { ...toyTokenizer, stopTokenIds: toyTokenizer.stopTokenIds, encode: toyTokenizer.encode.bind(toyTokenizer), decode: toyTokenizer.decode.bind(toyTokenizer), applyChatTemplate: (m, o) => (o.addGenerationPrompt ? [1, 2] : [1, 3, 4]) };
  assert.throws(() => sftExample(sftRows(1)[0], unstable, 64, 'row 2'), /row 2: the chat template renders the conversation differently/);
});

test('SFT lowers the eval loss and teaches the greedy answer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-sft-'));
  const policy = toyPolicy(2);
  const heldout = { rows: sftRows(3).map((r) => ({ messages: r.messages.slice(0, 1) })), score: toyScore };
  const before = await runSft({ policy: toyPolicy(2), tokenizer: toyTokenizer, train: sftRows(6), evalRows: sftRows(3), heldout, runDir: mkdtempSync(join(tmpdir(), 'rft-sft0-')),
    config: { epochs: 0, batchSize: 4, maxLength: 32, learningRate: 0, schedule: 'constant', warmupSteps: 0, weightDecay: 0, maxGradNorm: 1, seed: 1, evalEvery: 0, maxNewTokens: 6, passThreshold: 0.75 } });
  const after = await runSft({ policy, tokenizer: toyTokenizer, train: sftRows(6), evalRows: sftRows(3), heldout, runDir: dir,
    config: { epochs: 30, batchSize: 4, maxLength: 32, learningRate: 0.1, schedule: 'cosine', warmupSteps: 2, weightDecay: 0, maxGradNorm: 1, seed: 1, evalEvery: 10, maxNewTokens: 6, passThreshold: 0.75 } });
  assert.ok(after.evalLoss! < before.evalLoss! * 0.5, `eval loss ${before.evalLoss} → ${after.evalLoss}`);
  assert.equal(after.heldout!.pass1, 1, 'greedy answers are "aaab" (3/4 a) after SFT');
  const evals = readFileSync(join(dir, 'eval.jsonl'), 'utf8').trim().split('\n');
  assert.equal(evals.length, 6, 'eval every 10 of 60 steps, and at the end');
});

test('an agent trace trains every assistant turn after the last user message; tool results and template tokens between them carry no loss', () => {
  const toolTok = traceTokenizer();
  const row: Row = {
    messages: [
      { role: 'user', content: 'b' },
      { role: 'assistant', content: 'c' }, // an earlier exchange: context only
      { role: 'user', content: 'd' },
      { role: 'assistant', content: 'aa' },
      { role: 'tool', content: 'bb' },
      { role: 'assistant', content: 'ab' },
    ],
  };
  const ex = sftExample(row, toolTok, 64, 'row 1');
  const { sep, eos } = toyTokenizer;
  const e = (s: string) => toyTokenizer.encode(s);
  // the template is "content⟨sep⟩" per message with ⟨eos⟩ closing assistant turns (see traceTokenizer)
  assert.deepEqual(ex.prompt, [...e('b'), sep, ...e('c'), eos, sep, ...e('d'), sep]);
  assert.deepEqual(ex.completion, [...e('aa'), eos, sep, ...e('bb'), sep, ...e('ab'), eos]);
  assert.deepEqual(ex.mask, [1, 1, 1, 0, 0, 0, 0, 1, 1, 1]);
  // a plain answer has no mask (all of the completion is trained on)
  assert.equal(sftExample(sftRows(1)[0], toolTok, 64, 'row 2').mask, undefined);
});

test('SFT on agent traces: masked tokens get no gradient (a trace and its answer-only twin train the same)', async () => {
  const toolTok = traceTokenizer();
  const trace: Row = { messages: [{ role: 'user', content: 'b' }, { role: 'assistant', content: 'ab' }, { role: 'tool', content: 'dddd' }, { role: 'assistant', content: 'ab' }] };
  const other: Row = { messages: [{ role: 'user', content: 'b' }, { role: 'assistant', content: 'ab' }, { role: 'tool', content: 'cccc' }, { role: 'assistant', content: 'ab' }] };
  const config = { epochs: 3, batchSize: 1, maxLength: 32, learningRate: 0.05, schedule: 'constant' as const, warmupSteps: 0, weightDecay: 0, maxGradNorm: 0, seed: 1, evalEvery: 0, maxNewTokens: 4, passThreshold: 1 };
  const a = toyPolicy(4);
  const b = toyPolicy(4);
  await runSft({ policy: a, tokenizer: toolTok, train: [trace], runDir: mkdtempSync(join(tmpdir(), 'rft-sft-trace-')), config });
  await runSft({ policy: b, tokenizer: toolTok, train: [other], runDir: mkdtempSync(join(tmpdir(), 'rft-sft-trace-')), config });
  // the bigram rows predicting after "d" and after "c" are only reachable through the (masked) tool results
  const V = toyTokenizer.vocabSize;
  const row = (p: typeof a, prev: number) => Array.from(p.D.slice(prev * V, prev * V + V));
  const [, , c, d] = [0, 1, 2, 3];
  assert.deepEqual(row(a, d), new Array(V).fill(0), 'no update from the masked tool result "dddd"');
  assert.deepEqual(row(b, c), new Array(V).fill(0), 'no update from the masked tool result "cccc"');
  assert.ok(row(a, 1).some((v) => v !== 0), 'the assistant turns are trained on');
});

/** The toy tokenizer with an end-of-turn token after each assistant message (as real chat templates have). */
function traceTokenizer(): ChatTokenizer {
  return {
    encode: toyTokenizer.encode.bind(toyTokenizer),
    decode: toyTokenizer.decode.bind(toyTokenizer),
    stopTokenIds: toyTokenizer.stopTokenIds,
    applyChatTemplate: (messages, o) => {
      const ids: number[] = [];
      for (const m of messages) ids.push(...toyTokenizer.encode(m.content ?? ''), ...(m.role === 'assistant' ? [toyTokenizer.eos] : []), toyTokenizer.sep);
      if (!o.addGenerationPrompt) ids.pop();
      return ids;
    },
  };
}

test('SFT on sql-agent traces sees the prompt the sql agent\'s rollouts start from (the same system turn with the tool list)', async () => {
  const { generateExamples } = await import('../../data/tasks/index.js');
  const { sqlAgent } = await import('../../rollout/agents/sql.js');
  const { ToolAgentSource } = await import('../../rollout/tool-loop.js');
  const { buildCharTokenizer, defaultAlphabet } = await import('../../model/char-tokenizer.js');
  const { ModelTokenizer } = await import('../../model/tokenizer.js');
  const { chatTokenizer } = await import('../../model/policy.js');
  const files = buildCharTokenizer(defaultAlphabet());
  const tok = chatTokenizer(new ModelTokenizer({ tokenizer: files.tokenizer, config: files.config }));
  const [ex] = (await generateExamples('sql-agent', { n: 1, seed: 1, outDir: mkdtempSync(join(tmpdir(), 'rft-sft-sql-')) })).examples;
  let prompt: number[] = [];
  const policy = { sample: async (req: { prompts: number[][] }) => ((prompt = req.prompts[0]), [{ prompt: 0, tokens: [files.ids.imEnd], logprobs: [0], finishReason: 'stop' }]) };
  const agent = sqlAgent();
  await new ToolAgentSource(policy as never, tok, agent).rollout({ rows: [ex.rft], n: 1, sampling: { maxNewTokens: 4, temperature: 1 }, seed: 1 });
  await agent.close();
  assert.ok(prompt.length > 0);
  assert.deepEqual(sftExample(ex.sft, tok, 4000, 'row 1').prompt, prompt);
});
