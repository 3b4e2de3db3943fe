/**
 * Rollout correction: truncated importance sampling (TIS) for rollouts sampled by another engine
 * (an inference fleet with other kernels, bf16 or quantised weights, or an adapter a step old).
 *
 * The fleet's log-probs are the behaviour policy μ = π_rollout; the trainer's own log-probs of the
 * same tokens, computed before the update, are π_train (the "old" policy of the PPO ratio). The
 * policy-gradient term of each token is multiplied by a weight that is a constant to the optimizer
 * (no gradient flows through it), as verl's rollout correction does:
 *
 *   ρ_t          = π_train(y_t) / π_rollout(y_t) = exp(old_t − rollout_t)
 *   token level  w_t = min(ρ_t, C)
 *   sequence     w_t = min(∏_{t'∈seq} ρ_t', C) for every token t of the sequence
 *
 * with C = 2 by default. Log-ratios are clamped to ±20 before exp (so a wild server log-prob
 * cannot overflow), and tokens outside the mask (padding, inserted tokens) get weight 0.
 *
 * Mismatch metrics, all means over the masked (sampled) tokens of the batch, tokens drawn from
 * π_rollout:
 *   mismatch_kl      = mean(rollout_t − old_t)          k1 estimate of KL(π_rollout ‖ π_train) (verl's rollout_corr/kl); unbiased, may be < 0 on a batch
 *   mismatch_k3      = mean(ρ_t − log ρ_t − 1)          k3 estimate of the same KL (verl's k3_kl); unbiased and ≥ 0 term by term
 *   is_clip_fraction = share of weights truncated: tokens with ρ_t > C (token level), or sequences with ∏ρ > C (sequence level)
 *   is_weight_mean   = mean of the truncated weights over masked tokens
 *   mismatch_max_abs = max |old_t − rollout_t|, the worst single-token disagreement
 */

export type RolloutCorrectionLevel = 'token' | 'sequence';

export interface RolloutCorrectionConfig {
  level: RolloutCorrectionLevel;
  /** Truncation threshold C (> 0; verl's rollout_is_threshold, default 2). */
  threshold: number;
}

export const DEFAULT_ROLLOUT_CORRECTION: RolloutCorrectionConfig = { level: 'token', threshold: 2 };

/** Flattened like LossBatch: sequence s owns tokens [offsets[s], offsets[s+1]). */
export interface CorrectionBatch {
  /** Trainer log-probs of the sampled tokens before the update (π_train, the PPO "old"). */
  old: ArrayLike<number>;
  /** The rollout engine's log-probs of the same tokens (π_rollout, the behaviour policy). */
  rollout: ArrayLike<number>;
  offsets: ArrayLike<number>;
  /** 1 for tokens that count; omitted: all count. */
  mask?: ArrayLike<number>;
}

export interface MismatchMetrics {
  mismatch_kl: number;
  mismatch_k3: number;
  is_clip_fraction: number;
  is_weight_mean: number;
  mismatch_max_abs: number;
  /** Masked tokens the metrics are over. */
  tokens: number;
}

/** Bound on |log ρ| before exponentiating (exp(20) ≈ 4.9e8), as verl's SAFETY_BOUND. */
export const LOG_RATIO_BOUND = 20;

const clampLog = (x: number) => Math.max(-LOG_RATIO_BOUND, Math.min(LOG_RATIO_BOUND, x));

function check(b: CorrectionBatch, cfg: RolloutCorrectionConfig): number {
  const n = b.old.length;
  if (b.rollout.length !== n) throw new Error(`rollout correction: ${n} trainer log-probs but ${b.rollout.length} rollout log-probs`);
  if (b.mask && b.mask.length !== n) throw new Error(`rollout correction: mask has ${b.mask.length} entries for ${n} tokens`);
  if (b.offsets.length === 0 || b.offsets[0] !== 0 || b.offsets[b.offsets.length - 1] !== n) throw new Error(`rollout correction: offsets must run from 0 to ${n}`);
  if (!(cfg.threshold > 0) || !Number.isFinite(cfg.threshold)) throw new Error(`rollout correction: the threshold C must be a positive number, got ${cfg.threshold}`);
  if (cfg.level !== 'token' && cfg.level !== 'sequence') throw new Error(`rollout correction: level must be "token" or "sequence", got ${JSON.stringify(cfg.level)}`);
  for (let i = 0; i < n; i++)
    if (!Number.isFinite(b.old[i]!) || !Number.isFinite(b.rollout[i]!)) throw new Error(`rollout correction: token ${i} has a non-finite log-prob (old ${b.old[i]}, rollout ${b.rollout[i]})`);
  return n;
}

/** The truncated importance weights (per token, flattened) and the mismatch metrics of a batch. */
export function rolloutCorrection(b: CorrectionBatch, cfg: RolloutCorrectionConfig = DEFAULT_ROLLOUT_CORRECTION): { weights: Float64Array; metrics: MismatchMetrics } {
  const n = check(b, cfg);
  const C = cfg.threshold;
  const logC = Math.log(C);
  const on = (i: number) => !b.mask || b.mask[i] !== 0;
  const weights = new Float64Array(n);
  let tokens = 0;
  let k1 = 0;
  let k3 = 0;
  let maxAbs = 0;
  let clippedTokens = 0;
  let weightSum = 0;
  for (let i = 0; i < n; i++) {
    if (!on(i)) continue;
    const lr = b.old[i]! - b.rollout[i]!;
    tokens++;
    k1 -= lr;
    const lrc = clampLog(lr);
    k3 += Math.exp(lrc) - lrc - 1;
    maxAbs = Math.max(maxAbs, Math.abs(lr));
    if (cfg.level === 'token') {
      const rho = Math.exp(lrc);
      weights[i] = Math.min(rho, C);
      if (lr > logC) clippedTokens++;
      weightSum += weights[i]!;
    }
  }
  let clipFraction = tokens ? clippedTokens / tokens : 0;
  if (cfg.level === 'sequence') {
    let seqs = 0;
    let clippedSeqs = 0;
    for (let s = 0; s + 1 < b.offsets.length; s++) {
      const lo = b.offsets[s]!;
      const hi = b.offsets[s + 1]!;
      let sum = 0;
      let count = 0;
      for (let i = lo; i < hi; i++)
        if (on(i)) {
          sum += b.old[i]! - b.rollout[i]!;
          count++;
        }
      if (count === 0) continue;
      seqs++;
      if (sum > logC) clippedSeqs++;
      const w = Math.min(Math.exp(clampLog(sum)), C);
      for (let i = lo; i < hi; i++)
        if (on(i)) {
          weights[i] = w;
          weightSum += w;
        }
    }
    clipFraction = seqs ? clippedSeqs / seqs : 0;
  }
  return {
    weights,
    metrics: {
      mismatch_kl: tokens ? k1 / tokens : 0,
      mismatch_k3: tokens ? k3 / tokens : 0,
      is_clip_fraction: clipFraction,
      is_weight_mean: tokens ? weightSum / tokens : 0,
      mismatch_max_abs: maxAbs,
      tokens,
    },
  };
}
