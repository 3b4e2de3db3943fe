/**
 * GRPO-family policy losses on per-token log-probs, with their exact gradient.
 *
 * The loss depends on the policy only through the log-probs of the sampled tokens, so each
 * loss returns dLoss/dlogp analytically and the model back-propagates that vector (one
 * backward through the transformer, no autograd over the loss itself). Formulas follow the
 * GRPO / DAPO / Dr. GRPO / GSPO papers as TRL implements them:
 *
 *   ratio_t   = exp(logp_t − old_t)                       (token level)
 *             = exp(mean_{t∈seq}(logp − old)) for all t   (sequence level, GSPO)
 *   pg_t      = −min(ratio_t·A, clip(ratio_t, 1−ε_low, 1+ε_high)·A)
 *   kl_t      = exp(ref_t − logp_t) − (ref_t − logp_t) − 1          (k3 estimator, ≥ 0)
 *   loss      = Σ_t w_t · (c_t·pg_t + β·kl_t)
 *
 * where c_t is a constant per-token weight, 1 unless rollout correction gives one (truncated
 * importance weights for rollouts sampled by another engine, see rollout-correction.ts).
 * and the aggregation weights w_t are what distinguishes the loss types (LOSS_WEIGHTS).
 */

export type LossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
export type ImportanceSampling = 'token' | 'sequence';

export interface LossConfig {
  lossType: LossType;
  /** 'sequence' is GSPO: one importance ratio per completion (the geometric mean of the token ratios). */
  importanceSampling: ImportanceSampling;
  epsilonLow: number;
  epsilonHigh: number;
  /** KL coefficient against the reference policy; 0 disables the term (ref may then be omitted). */
  klBeta: number;
  /** dr_grpo's constant normaliser: the maximum completion length. */
  maxCompletionLength: number;
}

/**
 * A mini-batch of completions, flattened: sequence s owns tokens [offsets[s], offsets[s+1]).
 * mask is 1 for tokens that count (0 for padding, truncated or invalid completions).
 */
export interface LossBatch {
  logp: ArrayLike<number>;
  old: ArrayLike<number>;
  ref?: ArrayLike<number>;
  mask: ArrayLike<number>;
  offsets: ArrayLike<number>;
  /** One advantage per sequence. */
  advantages: ArrayLike<number>;
  /** Per-token constants multiplying the policy-gradient term (truncated IS weights); default 1. */
  isWeights?: ArrayLike<number>;
  /** dapo: active tokens in the whole optimisation step (all mini-batches); defaults to this batch's. */
  stepTokens?: number;
  /** grpo / dr_grpo: sequences in the whole step, when one step is split into mini-batches; defaults to this batch's. */
  stepSequences?: number;
}

export interface LossMetrics {
  /** Mean k3 KL over active tokens (0 when β = 0 and no ref is given). */
  kl: number;
  /** Fraction of active tokens whose ratio is clipped below (A < 0) / above (A > 0). */
  clipLow: number;
  clipHigh: number;
  /** Mean importance ratio over active tokens. */
  ratioMean: number;
  activeTokens: number;
}

export interface LossOutput {
  loss: number;
  /** dLoss/dlogp for every token (0 where masked). */
  dlogp: Float64Array;
  metrics: LossMetrics;
}

type WeightFn = (seqTokens: number, batch: LossBatch, cfg: LossConfig, nSeq: number, active: number) => number;

/** Per-token aggregation weight w_t for a token of a sequence with `seqTokens` active tokens. */
export const LOSS_WEIGHTS: Record<LossType, WeightFn> = {
  // mean over each sequence's tokens, then mean over sequences
  grpo: (seqTokens, b, _c, nSeq) => (seqTokens > 0 ? 1 / (seqTokens * (b.stepSequences ?? nSeq)) : 0),
  // mean over all active tokens of the mini-batch
  bnpo: (_s, _b, _c, _n, active) => 1 / Math.max(active, 1),
  // sum over tokens divided by a constant: sequences × max completion length (no length bias)
  dr_grpo: (_s, b, c, nSeq) => 1 / ((b.stepSequences ?? nSeq) * c.maxCompletionLength),
  // mean over all active tokens of the whole step (token-level, as DAPO)
  dapo: (_s, b, _c, _n, active) => 1 / Math.max(b.stepTokens ?? active, 1),
};

export function validateLossConfig(c: LossConfig): void {
  const problems: string[] = [];
  if (!(c.lossType in LOSS_WEIGHTS)) problems.push(`lossType "${c.lossType}" is not one of ${Object.keys(LOSS_WEIGHTS).join(', ')}`);
  if (c.importanceSampling !== 'token' && c.importanceSampling !== 'sequence') problems.push(`importanceSampling must be "token" or "sequence"`);
  if (!(c.epsilonLow >= 0 && c.epsilonLow < 1)) problems.push(`epsilonLow must be in [0, 1), got ${c.epsilonLow}`);
  if (!(c.epsilonHigh >= 0)) problems.push(`epsilonHigh must be ≥ 0, got ${c.epsilonHigh}`);
  if (!(c.klBeta >= 0)) problems.push(`klBeta must be ≥ 0, got ${c.klBeta}`);
  if (!(c.maxCompletionLength >= 1)) problems.push(`maxCompletionLength must be ≥ 1, got ${c.maxCompletionLength}`);
  if (problems.length) throw new Error(`invalid loss config: ${problems.join('; ')}`);
}

export function policyLoss(batch: LossBatch, cfg: LossConfig): LossOutput {
  const nSeq = batch.offsets.length - 1;
  const nTok = batch.logp.length;
  if (nSeq < 0 || batch.offsets[0] !== 0 || batch.offsets[nSeq] !== nTok) {
    throw new Error(`policyLoss: offsets must run from 0 to ${nTok} (the token count), got ${batch.offsets[0]}..${batch.offsets[nSeq]}`);
  }
  for (const [name, arr] of [['old', batch.old], ['mask', batch.mask], ['ref', batch.ref], ['isWeights', batch.isWeights]] as const) {
    if (arr && arr.length !== nTok) throw new Error(`policyLoss: ${name} has ${arr.length} entries, logp has ${nTok}`);
  }
  if (batch.advantages.length !== nSeq) throw new Error(`policyLoss: ${batch.advantages.length} advantages for ${nSeq} sequences`);
  if (cfg.klBeta > 0 && !batch.ref) throw new Error('policyLoss: klBeta > 0 needs reference log-probs (batch.ref)');

  const weightOf = LOSS_WEIGHTS[cfg.lossType];
  if (!weightOf) throw new Error(`policyLoss: unknown lossType "${cfg.lossType}"`);
  const lo = 1 - cfg.epsilonLow;
  const hi = 1 + cfg.epsilonHigh;

  let active = 0;
  for (let t = 0; t < nTok; t++) if (batch.mask[t]) active++;

  const dlogp = new Float64Array(nTok);
  let loss = 0;
  let klSum = 0;
  let clipLow = 0;
  let clipHigh = 0;
  let ratioSum = 0;

  for (let s = 0; s < nSeq; s++) {
    const start = batch.offsets[s];
    const end = batch.offsets[s + 1];
    const A = batch.advantages[s];
    let seqTokens = 0;
    let logRatioSum = 0;
    for (let t = start; t < end; t++) {
      if (!batch.mask[t]) continue;
      seqTokens++;
      logRatioSum += batch.logp[t] - batch.old[t];
    }
    if (seqTokens === 0) continue;
    const w = weightOf(seqTokens, batch, cfg, nSeq, active);
    const seqRatio = Math.exp(logRatioSum / seqTokens);
    // For GSPO, every token's pg term depends on all the sequence's log-probs through seqRatio:
    // dpg/dlogp_t' = Σ_t w·dpg_t/dratio · ratio/seqTokens.
    let dSeqRatioTotal = 0;

    for (let t = start; t < end; t++) {
      if (!batch.mask[t]) continue;
      const ratio = cfg.importanceSampling === 'sequence' ? seqRatio : Math.exp(batch.logp[t] - batch.old[t]);
      const unclipped = ratio * A;
      const clippedRatio = Math.min(Math.max(ratio, lo), hi);
      const clipped = clippedRatio * A;
      // −min(a, b): the gradient flows through the smaller term; the clipped term has zero
      // gradient when the ratio sits outside [lo, hi].
      let pg: number;
      let dpgDratio: number;
      if (unclipped <= clipped) {
        pg = -unclipped;
        dpgDratio = -A;
      } else {
        pg = -clipped;
        dpgDratio = ratio > lo && ratio < hi ? -A : 0;
      }
      if (ratio < lo && A < 0) clipLow++;
      if (ratio > hi && A > 0) clipHigh++;
      ratioSum += ratio;

      let kl = 0;
      let dkl = 0;
      if (batch.ref) {
        const d = batch.ref[t] - batch.logp[t];
        kl = Math.exp(d) - d - 1;
        dkl = 1 - Math.exp(d);
        klSum += kl;
      }
      const c = batch.isWeights ? batch.isWeights[t] : 1;
      loss += w * (c * pg + cfg.klBeta * kl);
      dlogp[t] += w * cfg.klBeta * dkl;
      if (cfg.importanceSampling === 'sequence') {
        dSeqRatioTotal += w * c * dpgDratio;
      } else {
        dlogp[t] += w * c * dpgDratio * ratio;
      }
    }
    if (cfg.importanceSampling === 'sequence') {
      const g = (dSeqRatioTotal * seqRatio) / seqTokens;
      for (let t = start; t < end; t++) if (batch.mask[t]) dlogp[t] += g;
    }
  }

  const denom = Math.max(active, 1);
  return {
    loss,
    dlogp,
    metrics: { kl: klSum / denom, clipLow: clipLow / denom, clipHigh: clipHigh / denom, ratioMean: ratioSum / denom, activeTokens: active },
  };
}
