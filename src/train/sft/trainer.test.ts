import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSft } from './trainer.js';
import { maskedNll, sftExample } from './examples.js';
import { toyPolicy, toyTokenizer, toyScore } from '../testing/toy-task.js';
import type { Row } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';
import { buildCharTokenizer, defaultAlphabet } from '../../model/char-tokenizer.js';
import { ModelTokenizer } from '../../model/tokenizer.js';
import { chatTokenizer } from '../../model/policy.js';

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

test('an agent trace trains its assistant turns only: tool results between them get mask 0, zero gradient, and no share of the loss', () => {
  const files = buildCharTokenizer(defaultAlphabet());
  const modelTok = new ModelTokenizer({ tokenizer: files.tokenizer, config: files.config, generation: { eos_token_id: [files.ids.imEnd] } });
  const tok = chatTokenizer(modelTok);
  const row: Row = {
    messages: [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'ab' },
      { role: 'tool', content: 'cd' },
      { role: 'assistant', content: 'ba' },
    ],
  };
  const ex = sftExample(row, tok, 256, 'row 1');
  const text = (ids: number[]) => modelTok.decode(ids, { skipSpecialTokens: false });
  assert.equal(text(ex.prompt), '<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n');
  // the completion is the rest of the conversation exactly as the template renders it, up to the last end-of-turn token
  assert.equal(text(ex.completion), 'ab<|im_end|>\n<|im_start|>tool\ncd<|im_end|>\n<|im_start|>assistant\nba<|im_end|>');
  const full = tok.applyChatTemplate(row.messages, { addGenerationPrompt: false });
  assert.deepEqual([...ex.prompt, ...ex.completion], full.slice(0, ex.prompt.length + ex.completion.length));
  assert.equal(text(ex.completion.filter((_, i) => ex.mask![i] === 1)), 'ab<|im_end|>ba<|im_end|>');
  assert.equal(text(ex.completion.filter((_, i) => ex.mask![i] === 0)), '\n<|im_start|>tool\ncd<|im_end|>\n<|im_start|>assistant\n');
  // the loss: mean NLL over mask-1 tokens (by hand), gradient −1/n there and 0 elsewhere
  const lp = Float32Array.from(ex.completion.map((_, i) => -0.1 * (i + 1)));
  const { loss, dlogp } = maskedNll([ex])([lp]);
  const n = ex.mask!.filter((m) => m).length;
  assert.equal(n, 6);
  const hand = -ex.mask!.reduce((a, m, i) => a + (m ? lp[i]! : 0), 0) / n;
  assert.ok(Math.abs(loss - hand) < 1e-6, `${loss} vs ${hand}`);
  ex.mask!.forEach((m, i) => assert.equal(dlogp[0]![i], m ? -1 / n : 0));
  // earlier turns before the last user message stay prompt; a plain row keeps no mask
  const chat: Row = { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }] };
  const plain = sftExample(chat, tok, 256, 'row 2');
  assert.equal(plain.mask, undefined);
  assert.equal(text(plain.completion), 'd<|im_end|>');
});
