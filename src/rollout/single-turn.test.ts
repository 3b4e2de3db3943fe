import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SingleTurnSource } from './single-turn.js';
import type { ChatMessage } from '../contracts/row.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { PolicyEngine, Sample, SampleRequest } from '../contracts/policy-engine.js';

// Letters are ids 0..25, end-of-turn 26, separator 27; the template is "content⟨sep⟩" per message.
const tokenizer: ChatTokenizer = {
  encode: (text) => [...text].map((ch) => ch.charCodeAt(0) - 97),
  decode: (ids) => ids.map((i) => (i < 26 ? String.fromCharCode(97 + i) : '')).join(''),
  applyChatTemplate: (messages: ChatMessage[]) => messages.flatMap((m) => [...tokenizer.encode(m.content ?? ''), 27]),
  stopTokenIds: [26],
};

/** Answers every prompt with "x"·(prompt length) then end-of-turn — or "yy" cut off by the length limit — newest row first. */
function fakePolicy(requests: SampleRequest[]): PolicyEngine {
  const sample = async (req: SampleRequest): Promise<Sample[]> => {
    requests.push(req);
    const out: Sample[] = [];
    for (let p = req.prompts.length - 1; p >= 0; p--) {
      for (let i = 0; i < req.n; i++) {
        const tokens = i === 0 ? [...Array(req.prompts[p].length).fill(23), 26] : [24, 24];
        out.push({ prompt: p, tokens, logprobs: tokens.map((_, t) => -0.1 * (t + 1)), finishReason: i === 0 ? 'stop' : 'length' });
      }
    }
    return out;
  };
  return { sample } as unknown as PolicyEngine;
}

test('single-turn: one segment per sample, all of it sampled, grouped by row, the stop token trained on but not in the reply', async () => {
  const requests: SampleRequest[] = [];
  const source = new SingleTurnSource(fakePolicy(requests), tokenizer);
  const rows = [
    { messages: [{ role: 'system' as const, content: 'be' }, { role: 'user' as const, content: 'hi' }], ground_truth: 'g' },
    // a trailing assistant answer is not part of the prompt
    { messages: [{ role: 'user' as const, content: 'q' }, { role: 'assistant' as const, content: 'gold' }] },
  ];
  const ts = await source.rollout({ rows, n: 2, sampling: { maxNewTokens: 5, temperature: 1, stopTokens: [3] }, seed: 42, reference: true });
  assert.equal(requests.length, 1);
  assert.equal(requests[0].seed, 42);
  assert.equal(requests[0].reference, true);
  assert.deepEqual(requests[0].stopTokens, [3, 26]);
  assert.deepEqual(requests[0].prompts, [[1, 4, 27, 7, 8, 27], [16, 27]]);
  assert.deepEqual(ts.map((t) => t.rowIndex), [0, 0, 1, 1]);
  const [stop, cut] = ts;
  assert.equal(stop.row, rows[0]);
  assert.deepEqual(stop.segments, [{ promptTokens: [1, 4, 27, 7, 8, 27], completionTokens: [23, 23, 23, 23, 23, 23, 26], completionMask: [1, 1, 1, 1, 1, 1, 1], logprobs: [-0.1, -0.2, -0.30000000000000004, -0.4, -0.5, -0.6000000000000001, -0.7000000000000001] }]);
  assert.equal(stop.output, 'xxxxxx');
  assert.deepEqual(stop.messages, [...rows[0].messages, { role: 'assistant', content: 'xxxxxx' }]);
  assert.equal(stop.finishReason, 'stop');
  assert.deepEqual(stop.stats, { turns: 1, toolCalls: 0, toolErrors: 0, sampledTokens: 7, insertedTokens: 0 });
  assert.equal(cut.output, 'yy');
  assert.equal(cut.finishReason, 'length');
  assert.deepEqual(ts[2].messages, [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'xx' }]);
  assert.equal(ts[2].error, undefined);
});
