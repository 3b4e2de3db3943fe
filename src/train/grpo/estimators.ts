/**
 * Advantage estimators beyond GRPO's (r − mean) / std, and the unlikeliness reward: the
 * diversity-keeping options of `rft train`. Each takes a batch of rewards in groups of G
 * (group g = [g·G, (g+1)·G), NaN = invalid) and returns advantages in the same shape as
 * computeAdvantages, with invalid rollouts at 0. A rollout is "correct" when its reward reaches
 * `passThreshold` (default 1).
 *
 *   pass_at_k    Pass@k training (Chen et al. 2025, "Pass@k Training for Adaptively Balancing
 *                Exploration and Exploitation"), the analytical form: with N valid rollouts of
 *                which c are correct and N_neg = N − c,
 *                  R̄ = 1 − C(N_neg, k) / C(N, k)            (the group's pass@k)
 *                  σ = √(R̄ (1 − R̄))
 *                  A_pos = (1 − R̄) / σ
 *                  A_neg = (1 − R̄ − C(N_neg − 1, k − 1) / C(N − 1, k − 1)) / σ
 *                and 0 for the whole group when σ < 1e-6 (all correct, or pass@k certain / nil).
 *                k = 1 is GRPO with the population std. k above N is taken as N.
 *   w_reinforce  W-REINFORCE (Zhu et al. 2025, "The Surprising Effectiveness of Negative
 *                Reinforcement in LLM Reasoning"): A = λ for a correct rollout, −1 for a wrong one
 *                (λ = 0.1): no baseline, and groups that are all wrong still teach.
 *   unlikeliness (He et al. 2025, "Rewarding the Unlikely"), applied to the rewards before GRPO's
 *                advantages: r_i ← r_i · (1 − β · rank_i / G), rank_i the number of valid rollouts
 *                of its group that are less likely than it (sum of sampling log-probs), so the
 *                least likely keeps its reward and the most likely correct answer loses most (β 0.25).
 */
import { computeAdvantages, type Advantages, type RewardScaling } from './advantages.js';

export type AdvantageEstimator = 'grpo' | 'pass_at_k' | 'w_reinforce';
export const ADVANTAGE_ESTIMATORS: readonly AdvantageEstimator[] = ['grpo', 'pass_at_k', 'w_reinforce'];

export interface AdvantageConfig {
  /** Default 'grpo' (computeAdvantages with the step's reward scaling). */
  estimator?: AdvantageEstimator;
  /** pass_at_k's k (default 4). */
  passK?: number;
  /** A rollout is correct when its reward reaches this (default 1). */
  passThreshold?: number;
  /** w_reinforce's weight λ of correct rollouts (default 0.1). */
  wReinforceLambda?: number;
  /** Unlikeliness reward β (0: off). Only with the grpo estimator. */
  unlikelinessBeta?: number;
}

function checkShape(name: string, rewards: ArrayLike<number>, G: number): number {
  if (!Number.isInteger(G) || G < 1) throw new Error(`${name}: the group size must be a positive integer, got ${G}`);
  if (rewards.length % G !== 0) throw new Error(`${name}: ${rewards.length} rewards is not a whole number of groups of ${G}`);
  return rewards.length / G;
}

/** Group statistics as computeAdvantages reports them (mean, unbiased std), with zeroVariance = "every advantage is 0". */
function finish(rewards: ArrayLike<number>, G: number, advantages: Float64Array): Advantages {
  const base = computeAdvantages(rewards, G, { scaling: 'none' });
  const zeroVariance = base.zeroVariance.map((_, g) => {
    for (let i = 0; i < G; i++) if (advantages[g * G + i] !== 0) return false;
    return true;
  });
  return { advantages, groupMean: base.groupMean, groupStd: base.groupStd, zeroVariance };
}

/** C(a, k) / C(b, k) = Π_{i<k} (a − i) / (b − i); 0 when a < k; 1 when k = 0. */
export function binomialRatio(a: number, b: number, k: number): number {
  if (k <= 0) return 1;
  if (a < k) return 0;
  let r = 1;
  for (let i = 0; i < k; i++) r *= (a - i) / (b - i);
  return r;
}

/** Pass@k training's analytical advantages (see the file comment). */
export function passAtKAdvantages(rewards: ArrayLike<number>, G: number, k: number, passThreshold = 1): Advantages {
  const groups = checkShape('passAtKAdvantages', rewards, G);
  if (!Number.isInteger(k) || k < 1) throw new Error(`passAtKAdvantages: k must be a positive integer, got ${k}`);
  const adv = new Float64Array(rewards.length);
  for (let g = 0; g < groups; g++) {
    let N = 0;
    let c = 0;
    for (let i = 0; i < G; i++) {
      const r = rewards[g * G + i]!;
      if (Number.isNaN(r)) continue;
      N++;
      if (r >= passThreshold) c++;
    }
    if (N === 0) continue;
    const kk = Math.min(k, N);
    const nNeg = N - c;
    const mean = 1 - binomialRatio(nNeg, N, kk);
    const sigma = Math.sqrt(mean * (1 - mean));
    if (sigma < 1e-6) continue;
    const aPos = (1 - mean) / sigma;
    const aNeg = nNeg >= 1 ? (1 - mean - binomialRatio(nNeg - 1, N - 1, kk - 1)) / sigma : 0;
    for (let i = 0; i < G; i++) {
      const r = rewards[g * G + i]!;
      if (!Number.isNaN(r)) adv[g * G + i] = r >= passThreshold ? aPos : aNeg;
    }
  }
  return finish(rewards, G, adv);
}

/** W-REINFORCE: +λ for correct rollouts, −1 for wrong ones. */
export function wReinforceAdvantages(rewards: ArrayLike<number>, G: number, lambda = 0.1, passThreshold = 1): Advantages {
  checkShape('wReinforceAdvantages', rewards, G);
  const adv = new Float64Array(rewards.length);
  for (let i = 0; i < rewards.length; i++) {
    const r = rewards[i]!;
    if (!Number.isNaN(r)) adv[i] = r >= passThreshold ? lambda : -1;
  }
  return finish(rewards, G, adv);
}

/**
 * The unlikeliness reward: r_i · (1 − β · rank_i / G), rank_i = how many valid rollouts of the
 * group have a lower sequence log-prob than rollout i (ties share the lower rank). NaN stays NaN.
 */
export function unlikelinessRewards(rewards: ArrayLike<number>, G: number, seqLogprobs: ArrayLike<number>, beta: number): Float64Array {
  const groups = checkShape('unlikelinessRewards', rewards, G);
  if (seqLogprobs.length !== rewards.length) throw new Error(`unlikelinessRewards: ${seqLogprobs.length} log-probs for ${rewards.length} rewards`);
  const out = Float64Array.from(rewards);
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < G; i++) {
      const a = g * G + i;
      if (Number.isNaN(rewards[a]!)) continue;
      let rank = 0;
      for (let j = 0; j < G; j++) {
        const b = g * G + j;
        if (!Number.isNaN(rewards[b]!) && seqLogprobs[b]! < seqLogprobs[a]!) rank++;
      }
      out[a] = rewards[a]! * (1 - (beta * rank) / G);
    }
  }
  return out;
}

export function validateAdvantageConfig(c: AdvantageConfig): void {
  const problems: string[] = [];
  const est = c.estimator ?? 'grpo';
  if (!ADVANTAGE_ESTIMATORS.includes(est)) problems.push(`estimator "${est}" is not one of ${ADVANTAGE_ESTIMATORS.join(', ')}`);
  if (c.passK !== undefined && !(Number.isInteger(c.passK) && c.passK >= 1)) problems.push(`passK must be a positive integer, got ${c.passK}`);
  if (c.wReinforceLambda !== undefined && !(c.wReinforceLambda >= 0)) problems.push(`wReinforceLambda must be ≥ 0, got ${c.wReinforceLambda}`);
  const beta = c.unlikelinessBeta ?? 0;
  if (!(beta >= 0 && beta <= 1)) problems.push(`unlikelinessBeta must be in [0, 1], got ${beta}`);
  if (beta > 0 && est !== 'grpo') problems.push(`the unlikeliness reward (unlikelinessBeta ${beta}) shapes GRPO's rewards; it does not combine with the ${est} estimator`);
  if (problems.length) throw new Error(`invalid advantage config: ${problems.join('; ')}`);
}

/**
 * The step's advantages: GRPO's (optionally on unlikeliness-shaped rewards), Pass@k training's
 * or W-REINFORCE's. seqLogprobs (one per rollout) is needed for the unlikeliness reward only.
 */
export function groupAdvantages(rewards: ArrayLike<number>, G: number, scaling: RewardScaling, c: AdvantageConfig = {}, seqLogprobs?: ArrayLike<number>): Advantages {
  validateAdvantageConfig(c);
  const threshold = c.passThreshold ?? 1;
  switch (c.estimator ?? 'grpo') {
    case 'pass_at_k':
      return passAtKAdvantages(rewards, G, c.passK ?? 4, threshold);
    case 'w_reinforce':
      return wReinforceAdvantages(rewards, G, c.wReinforceLambda ?? 0.1, threshold);
    case 'grpo': {
      const beta = c.unlikelinessBeta ?? 0;
      if (beta === 0) return computeAdvantages(rewards, G, { scaling });
      if (!seqLogprobs) throw new Error('groupAdvantages: the unlikeliness reward needs each rollout\'s sequence log-prob');
      return computeAdvantages(unlikelinessRewards(rewards, G, seqLogprobs, beta), G, { scaling });
    }
  }
}
