import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateHeldout, pairedGain, passAtK, type HeldoutResult } from './evaluate.js';
import { toyPolicy, toyRows, toyTokenizer } from './testing/toy-task.js';
import type { Trajectory } from '../contracts/trajectory.js';
import type { RolloutRequest, RolloutSource } from '../rollout/source.js';

test('pass@k: hand-computed values of 1 − C(n−c,k)/C(n,k)', () => {
  assert.equal(passAtK(4, 0, 4), 0);
  assert.equal(passAtK(4, 1, 4), 1);
  // n=4, c=1, k=1 → 1/4; n=5, c=2, k=2 → 1 − C(3,2)/C(5,2) = 1 − 3/10
  assert.ok(Math.abs(passAtK(4, 1, 1) - 0.25) < 1e-12);
  assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-12);
  assert.throws(() => passAtK(2, 1, 3), /cannot exceed/);
});

test('pairedGain: mean of per-problem differences and their standard error, greedy and sampled (hand-computed)', () => {
  const result = (greedy: (number | null)[], sampled: (number | null)[][]): HeldoutResult => ({
    n: greedy.length, k: sampled[0]!.length, mean_reward: NaN, pass1: NaN, mean_reward_sampled: NaN, pass1_sampled: NaN, pass_at_k: NaN,
    samples: [
      ...greedy.map((score, row) => ({ row, prompt: '', completion: '', score, valid: score !== null, greedy: true })),
      ...sampled.flatMap((s, row) => s.map((score) => ({ row, prompt: '', completion: '', score, valid: score !== null, greedy: false }))),
    ],
  });
  // problem 0: greedy 0.2 → 1.0, sampled mean 0.2 → 0.7; problem 1: greedy 1 → 1, sampled 0.8 → 1 (an invalid score counts 0)
  const before = result([0.2, 1], [[null, 0.4], [1, 0.6]]);
  const after = result([1, 1], [[1, 0.4], [1, 1]]);
  const g = pairedGain(before, after);
  // greedy differences 0.8, 0: mean 0.4, sd √(0.16+0.16) = 0.566, se 0.566/√2 = 0.4
  assert.ok(Math.abs(g.greedy.delta - 0.4) < 1e-12 && Math.abs(g.greedy.se - 0.4) < 1e-12, JSON.stringify(g.greedy));
  // sampled differences 0.5, 0.2: mean 0.35, sd √(2·0.15²) = 0.212, se 0.15
  assert.ok(Math.abs(g.sampled.delta - 0.35) < 1e-12 && Math.abs(g.sampled.se - 0.15) < 1e-12, JSON.stringify(g.sampled));
  assert.throws(() => pairedGain(before, result([1], [[1, 1]])), /cover 2 and 1 problems/);
});

test('held-out evaluation draws from the given source: greedy then k samples; agent rollouts keep their conversation, failed ones score invalid', async () => {
  const requests: RolloutRequest[] = [];
  const source: RolloutSource = {
    async rollout(req) {
      requests.push(req);
      return req.rows.flatMap((row, rowIndex) => Array.from({ length: req.n }, (_, j): Trajectory => {
        const failed = rowIndex === 1 && j === 0;
        const messages = [...row.messages, { role: 'assistant' as const, content: null, tool_calls: [{ id: 'c', type: 'function' as const, function: { name: 'f', arguments: '{}' } }] }, { role: 'tool' as const, tool_call_id: 'c', content: 'r' }, { role: 'assistant' as const, content: 'a' }];
        return {
          row, rowIndex, messages, output: 'a', segments: failed ? [] : [{ promptTokens: [0, 5], completionTokens: [0, 4], completionMask: [1, 1], logprobs: [-1, -1] }],
          finishReason: failed ? 'timeout' : 'stop', ...(failed ? { error: 'too slow' } : {}), stats: { turns: 2, toolCalls: 1, toolErrors: 0, sampledTokens: 2, insertedTokens: 0 },
        };
      }));
    },
  };
  const seen: string[] = [];
  const score = async (rs: { output: string; messages: unknown[] }[]) => rs.map((r) => (seen.push(JSON.stringify(r.messages.length)), { score: 1, valid: true }));
  const r = await evaluateHeldout(toyPolicy(), toyTokenizer, score, toyRows(2), { k: 2, temperature: 0.8, topP: 1, topK: 0, maxNewTokens: 5, passThreshold: 1, seed: 9, source });
  assert.deepEqual(requests.map((q) => [q.n, q.sampling.temperature, q.seed]), [[1, 0, 9], [2, 0.8, 10]]);
  assert.equal(seen.length, 1 + 2 + 1, 'the two failed rollouts (greedy and sampled, row 1) never reach the evaluator');
  assert.equal(r.pass1, 0.5);
  assert.equal(r.pass1_sampled, 3 / 4);
  const failed = r.samples.filter((s) => s.error);
  assert.deepEqual(failed.map((s) => [s.row, s.greedy, s.score, s.finish, s.error]), [[1, true, null, 'timeout', 'too slow'], [1, false, null, 'timeout', 'too slow']]);
  assert.equal(r.samples[0].messages?.length, 4);
  assert.equal(r.samples[0].prompt, toyTokenizer.decode([0, 5]));
});
