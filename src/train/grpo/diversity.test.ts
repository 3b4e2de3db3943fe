/** The diversity options end to end in the RFT loop, on the bigram toy task (milliseconds per run). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRftLoop, type RftLoopConfig } from './trainer.js';
import { toyConfig, toyPolicy, toyRows, toyScore, toyTokenizer } from '../testing/toy-task.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rft-div-'));
const metricsOf = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);

async function run(config: Partial<RftLoopConfig>, policy = toyPolicy(5)) {
  const dir = tmp();
  const result = await runRftLoop({ policy, tokenizer: toyTokenizer, score: toyScore, train: toyRows(16), heldout: toyRows(8), config: { ...toyConfig, steps: 30, ...config }, runDir: dir });
  return { result, metrics: metricsOf(dir) };
}

test('the entropy bonus keeps the policy more spread out than plain GRPO', async () => {
  const mean = (ms: Record<string, number>[]) => ms.slice(-10).reduce((a, m) => a + m.entropy!, 0) / 10;
  const plain = await run({});
  const bonus = await run({ loss: { ...toyConfig.loss, entropyCoef: 0.5 } });
  assert.ok(mean(bonus.metrics) > mean(plain.metrics) + 0.05, `entropy over the last 10 steps: ${mean(plain.metrics)} plain, ${mean(bonus.metrics)} with the bonus`);
});

test('refResetEvery: the KL to the reference restarts from 0 after each reset', async () => {
  const policy = toyPolicy(5);
  let resets = 0;
  const reset = policy.resetReference.bind(policy);
  policy.resetReference = async () => {
    resets++;
    await reset();
  };
  const { metrics } = await run({ steps: 12, refResetEvery: 4, loss: { ...toyConfig.loss, klBeta: 0.1 } }, policy);
  assert.equal(resets, 2, 'after steps 4 and 8 (not after the last)');
  // step 5 and 9 sample from the policy the reference was just set to: on-policy, KL exactly 0
  for (const s of [5, 9]) assert.ok(metrics[s - 1]!.kl === 0, `step ${s}: kl ${metrics[s - 1]!.kl}`);
  for (const s of [4, 8]) assert.ok(metrics[s - 1]!.kl > 0, `step ${s}: kl ${metrics[s - 1]!.kl}`);
});

test('every estimator and loss mode trains the toy task upward', async () => {
  const variants: [string, Partial<RftLoopConfig>][] = [
    ['pass_at_k', { advantage: { estimator: 'pass_at_k', passK: 2, passThreshold: 0.5 } }],
    ['w_reinforce', { advantage: { estimator: 'w_reinforce', passThreshold: 0.5 } }],
    ['unlikeliness', { advantage: { unlikelinessBeta: 0.25 } }],
    ['clip_cov', { loss: { ...toyConfig.loss, lossMode: 'clip_cov', clipCovRatio: 0.05 } }],
    ['kl_cov', { policyUpdates: 2, loss: { ...toyConfig.loss, lossMode: 'kl_cov', klCovRatio: 0.05 } }],
  ];
  for (const [name, cfg] of variants) {
    const { result } = await run(cfg);
    const [b, a] = [result.initialEval!.mean_reward_sampled, result.finalEval!.mean_reward_sampled];
    assert.ok(a > b + 0.15, `${name}: sampled mean reward ${b} → ${a}`);
  }
});

test('contradictory options are refused before any step runs', async () => {
  await assert.rejects(run({ advantage: { estimator: 'w_reinforce', unlikelinessBeta: 0.25 } }), /does not combine with the w_reinforce estimator/);
  await assert.rejects(run({ loss: { ...toyConfig.loss, lossMode: 'clip_cov', importanceSampling: 'sequence' } }), /works on token ratios/);
});
