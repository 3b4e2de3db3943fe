/**
 * Group-relative advantages (GRPO): each prompt's rollouts form a group, and a rollout's
 * advantage is how much better its reward is than its group's mean, optionally divided by a
 * standard deviation. Invalid evaluations (reward NaN) take no part: they do not shift the
 * group's statistics and get advantage 0 (the trainer also masks them out of the loss).
 */

/** How rewards are scaled after centring on the group mean. */
export type RewardScaling = 'group' | 'batch' | 'none';

export interface AdvantageOptions {
  /** 'group': divide by the group's std (GRPO); 'batch': by the whole batch's std; 'none': centre only (Dr. GRPO). */
  scaling: RewardScaling;
  /** Added to the std before dividing, so equal-reward groups do not divide by zero. */
  epsilon?: number;
}

export interface Advantages {
  /** (groups · groupSize) advantages, 0 for invalid rollouts and for zero-variance groups. */
  advantages: Float64Array;
  /** Per group: mean and (unbiased) std of the valid rewards; NaN when the group has no valid reward. */
  groupMean: Float64Array;
  groupStd: Float64Array;
  /** Per group: true when all valid rewards are equal (or fewer than two are valid): nothing to learn from it. */
  zeroVariance: boolean[];
}

/** Unbiased standard deviation (n − 1), as torch.std computes it; 0 for fewer than two values. */
export function unbiasedStd(values: ArrayLike<number>, mean: number): number {
  const n = values.length;
  if (n < 2) return 0;
  let s = 0;
  for (let i = 0; i < n; i++) s += (values[i] - mean) ** 2;
  return Math.sqrt(s / (n - 1));
}

/**
 * rewards: (groups · groupSize), group g occupying [g·groupSize, (g+1)·groupSize); NaN marks an
 * invalid evaluation.
 * @example computeAdvantages([1, 0, 0.5, 0.5], 2, { scaling: 'group' }).advantages // ≈ [0.707, -0.707, 0, 0]
 */
export function computeAdvantages(rewards: ArrayLike<number>, groupSize: number, opts: AdvantageOptions): Advantages {
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new Error(`computeAdvantages: groupSize must be a positive integer, got ${groupSize}`);
  if (rewards.length % groupSize !== 0) {
    throw new Error(`computeAdvantages: ${rewards.length} rewards is not a whole number of groups of ${groupSize}`);
  }
  const eps = opts.epsilon ?? 1e-4;
  const groups = rewards.length / groupSize;
  const advantages = new Float64Array(rewards.length);
  const groupMean = new Float64Array(groups);
  const groupStd = new Float64Array(groups);
  const zeroVariance: boolean[] = [];
  const allValid: number[] = [];

  for (let g = 0; g < groups; g++) {
    const valid: number[] = [];
    for (let i = 0; i < groupSize; i++) {
      const r = rewards[g * groupSize + i];
      if (!Number.isNaN(r)) valid.push(r);
    }
    allValid.push(...valid);
    const mean = valid.length ? valid.reduce((a, b) => a + b, 0) / valid.length : NaN;
    groupMean[g] = mean;
    groupStd[g] = valid.length ? unbiasedStd(valid, mean) : NaN;
    zeroVariance.push(valid.length < 2 || valid.every((r) => r === valid[0]));
  }

  let batchStd = 0;
  if (opts.scaling === 'batch' && allValid.length) {
    const m = allValid.reduce((a, b) => a + b, 0) / allValid.length;
    batchStd = unbiasedStd(allValid, m);
  }

  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < groupSize; i++) {
      const idx = g * groupSize + i;
      const r = rewards[idx];
      if (Number.isNaN(r) || zeroVariance[g]) continue;
      const centred = r - groupMean[g];
      const denom = opts.scaling === 'group' ? groupStd[g] + eps : opts.scaling === 'batch' ? batchStd + eps : 1;
      advantages[idx] = centred / denom;
    }
  }
  return { advantages, groupMean, groupStd, zeroVariance };
}
