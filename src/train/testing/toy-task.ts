/**
 * A toy RFT task for trainer tests: the policy writes letters; the reward is the fraction of
 * the letter "a" in the reply (partial credit), and a reply of only "a"s passes.
 */
import type { Row } from '../../contracts/row.js';
import type { EvaluationResult, Rollout } from '../../contracts/evaluation.js';
import type { ScoreFn } from '../grpo/score.js';
import { BigramPolicy } from './bigram-policy.js';
import { CharTokenizer } from './char-tokenizer.js';
import type { RftLoopConfig } from '../grpo/trainer.js';

export const toyTokenizer = new CharTokenizer('abcd');

export function toyPolicy(seed = 1): BigramPolicy {
  return new BigramPolicy(toyTokenizer.vocabSize, seed, 0.5);
}

export function toyRows(n: number): Row[] {
  const letters = 'abcd';
  return Array.from({ length: n }, (_, i) => ({ messages: [{ role: 'user' as const, content: letters[i % 4] + letters[(i * 3 + 1) % 4] }] }));
}

export function toyEvaluate(r: Rollout): EvaluationResult {
  const s = r.output;
  if (!s.length) return { score: 0, valid: true, reason: 'empty' };
  const a = [...s].filter((c) => c === 'a').length / s.length;
  return { score: a, valid: true, metrics: { a_fraction: { score: a } } };
}

export const toyScore: ScoreFn = async (rollouts) => rollouts.map(toyEvaluate);

export const toyConfig: RftLoopConfig = {
  rolloutsPerPrompt: 6,
  promptsPerStep: 4,
  temperature: 1,
  topP: 1,
  topK: 0,
  maxNewTokens: 6,
  policyUpdates: 1,
  miniBatches: 1,
  rewardScaling: 'group',
  maskTruncated: false,
  dropZeroVarianceGroups: true,
  maxGradNorm: 1,
  weightDecay: 0,
  loss: { lossType: 'grpo', importanceSampling: 'token', epsilonLow: 0.2, epsilonHigh: 0.2, klBeta: 0, maxCompletionLength: 6 },
  epochs: 1,
  steps: 20,
  learningRate: 0.05,
  schedule: 'constant',
  warmupSteps: 0,
  seed: 7,
  evalEvery: 0,
  evalSamples: 4,
  passThreshold: 1,
  checkpointEvery: 0,
};
