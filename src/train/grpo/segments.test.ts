import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grpoStep } from './step.js';
import { computeAdvantages } from './advantages.js';
import type { ScoreFn } from './score.js';
import { toyConfig, toyPolicy, toyRows, toyScore, toyTokenizer } from '../testing/toy-task.js';
import type { BigramPolicy } from '../testing/bigram-policy.js';
import type { LossFn, Sequence } from '../../contracts/policy-engine.js';
import type { TokenSegment, Trajectory } from '../../contracts/trajectory.js';
import type { RolloutRequest, RolloutSource } from '../../rollout/source.js';
import { ToolAgentSource } from '../../rollout/tool-loop.js';

// The toy alphabet: a=0 b=1 c=2 d=3, end-of-turn 4, separator 5.
const [a, b, c, d, eos, sep] = [0, 1, 2, 3, 4, 5];

/** A source that returns the same hand-made trajectories for every request (row i's, n per row). */
class FixedSource implements RolloutSource {
  requests: RolloutRequest[] = [];
  constructor(private readonly make: (req: RolloutRequest) => Trajectory[]) {}
  async rollout(req: RolloutRequest): Promise<Trajectory[]> {
    this.requests.push(req);
    return this.make(req);
  }
}

function trajectory(rowIndex: number, output: string, segments: TokenSegment[], extra: Partial<Trajectory> = {}): Trajectory {
  const row = toyRows(rowIndex + 1)[rowIndex];
  const sampled = segments.reduce((s, g) => s + g.completionMask.filter(Boolean).length, 0);
  const total = segments.reduce((s, g) => s + g.completionTokens.length, 0);
  return {
    row, messages: [...row.messages, { role: 'assistant', content: output }], output, rowIndex, segments, finishReason: 'stop',
    stats: { turns: segments.length, toolCalls: 0, toolErrors: 0, sampledTokens: sampled, insertedTokens: total - sampled }, ...extra,
  };
}
const segment = (promptTokens: number[], completionTokens: number[], completionMask: number[]): TokenSegment => ({
  promptTokens, completionTokens, completionMask, logprobs: completionMask.map((m) => (m ? -1 : 0)),
});

/** Reward 1 for the output "win", 0 otherwise; records what the evaluator was shown. */
function winScore(seen: string[] = []): ScoreFn {
  return async (rs) => rs.map((r) => {
    seen.push(r.output);
    return { score: r.output === 'win' ? 1 : 0, valid: true };
  });
}

/** Records every forwardBackward call (sequences, loss function, its dLoss/dlogp), and the gradient and weights at each optimStep. */
function recording(policy: BigramPolicy) {
  const calls: { seqs: Sequence[]; loss: LossFn; dlogp: number[][] }[] = [];
  const grads: Float64Array[] = [];
  const weights: Float64Array[] = [];
  const fb = policy.forwardBackward.bind(policy);
  policy.forwardBackward = async (seqs, loss, opts) => {
    const call = { seqs, loss, dlogp: [] as number[][] };
    calls.push(call);
    return fb(seqs, (lps) => {
      const out = loss(lps);
      call.dlogp = out.dlogp.map((g) => Array.from(g));
      return out;
    }, opts);
  };
  const step = policy.optimStep.bind(policy);
  policy.optimStep = async (p) => {
    grads.push(Float64Array.from((policy as unknown as { grad: Float64Array }).grad));
    weights.push(Float64Array.from(policy.D));
    return step(p);
  };
  return { calls, grads, weights };
}

const V = toyTokenizer.vocabSize;
const cfg = { ...toyConfig, rolloutsPerPrompt: 2, dropZeroVarianceGroups: false, maxGradNorm: 0 };

/** Row 0's two rollouts: the winner's completion has two inserted tokens (b→c, c→d) between sampled ones. */
const withInserted = (mask: number[]) => () => [
  trajectory(0, 'win', [segment([a, sep], [a, b, c, d, a, eos], mask)]),
  trajectory(0, 'lose', [segment([a, sep], [d, a, eos], [1, 1, 1])]),
];

test('inserted (mask 0) tokens get zero gradient; the sampled ones match finite differences of the loss', async () => {
  const policy = toyPolicy(3);
  const rec = recording(policy);
  // Two policy updates: the first update's "old" log-probs are fixed, so the loss is a function of the weights alone.
  await grpoStep(policy, toyTokenizer, winScore(), toyRows(1), { ...cfg, policyUpdates: 2 }, { seed: 1, step: 0, lr: 0.01, source: new FixedSource(withInserted([1, 1, 0, 0, 1, 1])) });
  const { seqs, loss, dlogp } = rec.calls[0];
  assert.deepEqual(dlogp[0].map((g) => g !== 0), [true, true, false, false, true, true], 'dLoss/dlogp is zero exactly where the mask is 0');
  const grad = rec.grads[0];
  // Row b of the bigram weights predicts only the inserted c, row c only the inserted d: no gradient reaches them.
  for (const prev of [b, c]) for (let j = 0; j < V; j++) assert.equal(grad[prev * V + j], 0, `gradient of D[${prev}][${j}]`);
  // Every weight against central finite differences of the same loss, at the weights of that first update.
  policy.D = Float64Array.from(rec.weights[0]);
  const lossAt = async () => loss(await policy.logprobs(seqs)).loss;
  const h = 1e-2;
  let checked = 0;
  for (let k = 0; k < V * V; k++) {
    const saved = policy.D[k];
    policy.D[k] = saved + h;
    const up = await lossAt();
    policy.D[k] = saved - h;
    const down = await lossAt();
    policy.D[k] = saved;
    const fd = (up - down) / (2 * h);
    assert.ok(Math.abs(fd - grad[k]) < 1e-3 + 1e-2 * Math.abs(fd), `D[${Math.floor(k / V)}][${k % V}]: analytic ${grad[k]}, finite difference ${fd}`);
    if (Math.abs(fd) > 1e-3) checked++;
  }
  assert.ok(checked >= 6, `only ${checked} weights had a gradient to check`);

  // The same trajectory with every token marked sampled does move rows b and c (so the check above can fail).
  const all = toyPolicy(3);
  const recAll = recording(all);
  await grpoStep(all, toyTokenizer, winScore(), toyRows(1), { ...cfg, policyUpdates: 2 }, { seed: 1, step: 0, lr: 0.01, source: new FixedSource(withInserted([1, 1, 1, 1, 1, 1])) });
  assert.ok([b, c].every((prev) => recAll.grads[0].slice(prev * V, prev * V + V).some((g) => g !== 0)));
});

test('a two-segment trajectory trains as two sequences, each with the trajectory advantage', async () => {
  const policy = toyPolicy(3);
  const rec = recording(policy);
  const first = segment([a, sep], [a, b, eos], [1, 1, 1]);
  // the second prompt does not extend the first segment's tokens (history rewritten): a new segment
  const second = segment([b, sep, c, sep], [d, d, c, eos], [1, 0, 1, 1]);
  const loser = segment([a, sep], [c, eos], [1, 1]);
  const source = new FixedSource(() => [trajectory(0, 'win', [first, second]), trajectory(0, 'lose', [loser])]);
  const { metrics } = await grpoStep(policy, toyTokenizer, winScore(), toyRows(1), cfg, { seed: 1, step: 0, lr: 0.01, source });
  assert.equal(metrics.trained_sequences, 3);
  assert.equal(rec.calls.length, 1);
  assert.deepEqual(rec.calls[0].seqs, [first, second, loser].map((s) => ({ prompt: s.promptTokens, completion: s.completionTokens })));
  // grpo with one on-policy update: ratio 1, so dLoss/dlogp_t = −A / (sampled tokens of the sequence × sequences).
  const adv = computeAdvantages([1, 0], 2, { scaling: cfg.rewardScaling }).advantages;
  const expect = [
    [1, 1, 1].map(() => -adv[0] / (3 * 3)),
    [1, 0, 1, 1].map((m) => (m ? -adv[0] / (3 * 3) : 0)),
    [1, 1].map(() => -adv[1] / (2 * 3)),
  ];
  rec.calls[0].dlogp.forEach((g, s) => g.forEach((v, t) => assert.ok(Math.abs(v - expect[s][t]) < 1e-12, `sequence ${s} token ${t}: ${v} ≠ ${expect[s][t]}`)));
  assert.equal(metrics.completion_len_mean, (6 + 2) / 2, 'completion length counts sampled tokens');
});

test('a failed rollout is not shown to the evaluator, counts as invalid and is not trained on', async () => {
  const policy = toyPolicy(3);
  const rec = recording(policy);
  const seen: string[] = [];
  const broken = trajectory(0, 'win', [segment([a, sep], [b, b, b], [1, 1, 1])], { error: 'agent threw: boom', finishReason: 'error' });
  const source = new FixedSource(() => [
    trajectory(0, 'win', [segment([a, sep], [a, eos], [1, 1])]),
    broken,
    trajectory(0, 'lose', [segment([a, sep], [c, eos], [1, 1])]),
  ]);
  const { metrics, rewards } = await grpoStep(policy, toyTokenizer, winScore(seen), toyRows(1), { ...cfg, rolloutsPerPrompt: 3 }, { seed: 1, step: 0, lr: 0.01, source });
  assert.deepEqual(seen, ['win', 'lose']);
  assert.ok(Number.isNaN(rewards[1]));
  assert.ok(Math.abs(metrics.invalid_fraction - 1 / 3) < 1e-12);
  assert.deepEqual(rec.calls[0].seqs.map((s) => s.completion), [[a, eos], [c, eos]]);
});

test('a source that breaks its contract is refused with what is wrong', async () => {
  const run = (make: () => Trajectory[]) => grpoStep(toyPolicy(), toyTokenizer, winScore(), toyRows(1), cfg, { seed: 1, step: 0, lr: 0.01, source: new FixedSource(make) });
  const ok = segment([a, sep], [a, eos], [1, 1]);
  await assert.rejects(run(() => [trajectory(0, 'win', [ok])]), /returned 1 trajectories for 1 rows × 2 rollouts/);
  await assert.rejects(run(() => [trajectory(0, 'win', [ok]), trajectory(0, 'x', [{ ...ok, completionMask: [1] }])]), /trajectory 1 \(row 0\) segment 0 has 2 completion tokens but 1 mask entries/);
});

test('the trainer asks its source for n rollouts per row with the run\'s sampling parameters and a per-step seed', async () => {
  const source = new FixedSource((req) => req.rows.flatMap((_, i) => Array.from({ length: req.n }, (_, j) => trajectory(i, j ? 'win' : 'lose', [segment([a, sep], [a, eos], [1, 1])]))));
  const rows = toyRows(3);
  await grpoStep(toyPolicy(), toyTokenizer, winScore(), rows, cfg, { seed: 1, step: 4, lr: 0.01, source });
  await grpoStep(toyPolicy(), toyTokenizer, winScore(), rows, cfg, { seed: 1, step: 5, lr: 0.01, source });
  const [r4, r5] = source.requests;
  assert.equal(r4.rows, rows);
  assert.equal(r4.n, 2);
  assert.deepEqual({ ...r4.sampling, seed: 0 }, { maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, topP: cfg.topP, topK: cfg.topK, seed: 0 });
  assert.equal(r4.sampling.seed, r4.seed);
  assert.notEqual(r4.seed, r5.seed);
  assert.deepEqual(r4.tags, { step: 4 });
});

test('with the tool-agent source, a rollout that fails (its prompt cannot be rendered) is invalid and the step trains on the rest', async () => {
  const policy = toyPolicy(3);
  const rec = recording(policy);
  const agent = { tools: [{ type: 'function' as const, function: { name: 'noop' }, run: () => 'ok' }] };
  // the toy tokenizer knows only a-d: row 1's "z" makes its prompt fail to render
  const rows = [...toyRows(1), { messages: [{ role: 'user' as const, content: 'z' }] }, ...toyRows(3).slice(2)];
  const { metrics, trajectories } = await grpoStep(policy, toyTokenizer, toyScore, rows, { ...cfg, rolloutsPerPrompt: 4 }, { seed: 2, step: 0, lr: 0.01, source: new ToolAgentSource(policy, toyTokenizer, agent) });
  assert.deepEqual(trajectories.map((t) => t.error !== undefined), [false, false, false, false, true, true, true, true, false, false, false, false]);
  assert.match(trajectories[4].error!, /row 1: .*"z" is not in the alphabet/);
  assert.ok(Math.abs(metrics.invalid_fraction - 1 / 3) < 1e-12);
  const trained = rec.calls.flatMap((c) => c.seqs);
  assert.equal(trained.length, metrics.trained_sequences);
  assert.ok(trained.length > 0, 'the valid rollouts are trained on');
  assert.ok(trajectories.slice(4, 8).every((t) => t.segments.length === 0 && t.finishReason === 'error'), 'the failed rollouts have no tokens to train on');
});

test('step metrics: turns and tool calls per rollout, tool errors, failed and timed-out fractions, sampled vs inserted tokens', async () => {
  const stats = (turns: number, toolCalls: number, toolErrors: number) => ({ turns, toolCalls, toolErrors, sampledTokens: 0, insertedTokens: 0 });
  const source = new FixedSource(() => [
    trajectory(0, 'win', [segment([a, sep], [a, b, c, d, a, eos], [1, 1, 0, 0, 1, 1])], { stats: stats(3, 4, 1) }),
    trajectory(0, 'lose', [segment([a, sep], [c, eos], [1, 1]), segment([b, sep], [d, c, eos], [1, 0, 1])], { stats: stats(2, 2, 2) }),
    trajectory(0, 'win', [], { error: 'the rollout took longer than 5 ms', finishReason: 'timeout', stats: stats(1, 0, 0) }),
    trajectory(0, 'win', [], { error: 'agent error: x', finishReason: 'error', stats: stats(0, 0, 0) }),
  ]);
  const { metrics } = await grpoStep(toyPolicy(), toyTokenizer, winScore(), toyRows(1), { ...cfg, rolloutsPerPrompt: 4 }, { seed: 1, step: 0, lr: 0.01, source });
  assert.equal(metrics.turns_mean, 6 / 4);
  assert.equal(metrics.turns_max, 3);
  assert.equal(metrics.tool_calls_mean, 6 / 4);
  assert.equal(metrics.tool_calls_max, 4);
  assert.equal(metrics.tool_errors, 3);
  assert.equal(metrics.tool_error_fraction, 3 / 6);
  assert.equal(metrics.timeout_fraction, 1 / 4);
  assert.equal(metrics.error_fraction, 1 / 4);
  assert.equal(metrics.invalid_fraction, 2 / 4);
  assert.equal(metrics.sampled_tokens, 4 + 2 + 2);
  assert.equal(metrics.inserted_tokens, 2 + 1);
  assert.equal(metrics.trained_sequences, 3);
});
