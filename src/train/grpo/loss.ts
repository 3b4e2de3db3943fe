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
 *   loss      = Σ_t w_t · (c_t·pg_t + β·kl_t − c_H·H_t)
 *
 * and the aggregation weights w_t are what distinguishes the loss types (LOSS_WEIGHTS). c_t is a
 * constant per-token weight, 1 unless rollout correction gives one (truncated importance weights
 * for rollouts sampled by another engine, see rollout-correction.ts). H_t is the entropy of the
 * policy's next-token distribution (an entropy bonus, verl's entropy_coeff; its gradient goes back
 * through the whole distribution, see LossOutput.dentropy).
 *
 * Covariance-based modes (Cui et al. 2025, "The Entropy Mechanism of RL for Reasoning LMs", as
 * verl's policy_loss.loss_mode = clip_cov | kl_cov): with cov_t = (A_t − mean A)·(logp_t − mean logp)
 * over the batch's active tokens (A_t the sequence's advantage), the tokens whose covariance drives
 * entropy down fastest are restrained —
 *   clip_cov  among tokens the ε-clip has not already clipped, with clip_cov_lb < cov_t < clip_cov_ub,
 *             max(1, ⌊ratio · active⌋) chosen at random lose their policy-gradient term (pg_t := 0);
 *   kl_cov    no ε-clip (pg_t = −ratio_t·A); the max(1, ⌊ratio · active⌋) tokens of largest cov_t
 *             get + κ·|logp_t − old_t| (zero gradient while logp = old: it acts from the second
 *             update of a batch on, with --policy-updates or --mini-batches above 1).
 */
import { Rng } from '../../engine/rng.js';

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
  /** Entropy bonus coefficient c_H (default 0; needs batch.entropy). */
  entropyCoef?: number;
  /** 'vanilla' (default): the ε-clipped objective; 'clip_cov' / 'kl_cov': see the file comment. */
  lossMode?: LossMode;
  /** Share of active tokens clip_cov restrains (default 2e-4), and its covariance window (1, 5). */
  clipCovRatio?: number;
  clipCovLb?: number;
  clipCovUb?: number;
  /** Share of active tokens kl_cov penalises (default 2e-4), and the penalty's coefficient κ (1). */
  klCovRatio?: number;
  ppoKlCoef?: number;
}

export type LossMode = 'vanilla' | 'clip_cov' | 'kl_cov';
export const LOSS_MODES: readonly LossMode[] = ['vanilla', 'clip_cov', 'kl_cov'];

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
  /** Entropy of the policy at each token (for the entropy bonus). */
  entropy?: ArrayLike<number>;
  /** Seed of clip_cov's random choice of tokens (default 0). */
  seed?: number;
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
  /** Fraction of active tokens clip_cov / kl_cov acted on (0 in vanilla mode). */
  covSelected: number;
}

export interface LossOutput {
  loss: number;
  /** dLoss/dlogp for every token (0 where masked). */
  dlogp: Float64Array;
  /** dLoss/dH for every token, when the loss has an entropy bonus (−c_H·w_t; 0 where masked). */
  dentropy?: Float64Array;
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
  if (!((c.entropyCoef ?? 0) >= 0)) problems.push(`entropyCoef must be ≥ 0, got ${c.entropyCoef}`);
  const mode = c.lossMode ?? 'vanilla';
  if (!LOSS_MODES.includes(mode)) problems.push(`lossMode "${mode}" is not one of ${LOSS_MODES.join(', ')}`);
  if (mode !== 'vanilla' && c.importanceSampling === 'sequence') problems.push(`lossMode ${mode} works on token ratios; use importanceSampling "token"`);
  for (const k of ['clipCovRatio', 'klCovRatio'] as const) if (c[k] !== undefined && !(c[k]! > 0 && c[k]! <= 1)) problems.push(`${k} must be in (0, 1], got ${c[k]}`);
  if ((c.clipCovLb ?? 1) >= (c.clipCovUb ?? 5)) problems.push(`clipCovLb must be below clipCovUb, got ${c.clipCovLb ?? 1} and ${c.clipCovUb ?? 5}`);
  if (!((c.ppoKlCoef ?? 1) >= 0)) problems.push(`ppoKlCoef must be ≥ 0, got ${c.ppoKlCoef}`);
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
  const entropyCoef = cfg.entropyCoef ?? 0;
  if (entropyCoef > 0 && !batch.entropy) throw new Error('policyLoss: entropyCoef > 0 needs the policy entropy at each token (batch.entropy); the policy engine did not provide it');
  if (batch.entropy && batch.entropy.length !== nTok) throw new Error(`policyLoss: entropy has ${batch.entropy.length} entries, logp has ${nTok}`);
  const mode = cfg.lossMode ?? 'vanilla';
  if (mode !== 'vanilla' && cfg.importanceSampling === 'sequence') throw new Error(`policyLoss: lossMode ${mode} needs token-level importance sampling`);

  const weightOf = LOSS_WEIGHTS[cfg.lossType];
  if (!weightOf) throw new Error(`policyLoss: unknown lossType "${cfg.lossType}"`);
  const lo = 1 - cfg.epsilonLow;
  const hi = 1 + cfg.epsilonHigh;

  let active = 0;
  for (let t = 0; t < nTok; t++) if (batch.mask[t]) active++;

  // clip_cov: tokens whose pg term is dropped; kl_cov: tokens that get the |logp − old| penalty.
  const selected = mode === 'vanilla' ? undefined : covSelection(batch, cfg, mode, active, lo, hi);
  let covCount = 0;

  const dlogp = new Float64Array(nTok);
  const dentropy = entropyCoef > 0 ? new Float64Array(nTok) : undefined;
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
      if (mode === 'kl_cov') {
        // no ε-clip in kl_cov; the chosen tokens also pay κ·|logp − old|
        pg = -unclipped;
        dpgDratio = -A;
      } else if (unclipped <= clipped) {
        pg = -unclipped;
        dpgDratio = -A;
      } else {
        pg = -clipped;
        dpgDratio = ratio > lo && ratio < hi ? -A : 0;
      }
      if (selected?.[t]) {
        covCount++;
        if (mode === 'clip_cov') {
          pg = 0;
          dpgDratio = 0;
        } else {
          const x = batch.logp[t] - batch.old[t];
          const kappa = cfg.ppoKlCoef ?? 1;
          loss += w * kappa * Math.abs(x);
          dlogp[t] += w * kappa * Math.sign(x);
        }
      }
      if (ratio < lo && A < 0) clipLow++;
      if (ratio > hi && A > 0) clipHigh++;
      ratioSum += ratio;
      if (dentropy) {
        loss -= w * entropyCoef * batch.entropy![t];
        dentropy[t] = -w * entropyCoef;
      }

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
    ...(dentropy ? { dentropy } : {}),
    metrics: { kl: klSum / denom, clipLow: clipLow / denom, clipHigh: clipHigh / denom, ratioMean: ratioSum / denom, activeTokens: active, covSelected: covCount / denom },
  };
}

/**
 * The tokens clip_cov / kl_cov act on (see the file comment): a 0/1 flag per token.
 * cov_t = (A_t − mean A)(logp_t − mean logp) over active tokens, A_t the sequence's advantage.
 */
export function covSelection(batch: LossBatch, cfg: LossConfig, mode: 'clip_cov' | 'kl_cov', active: number, lo: number, hi: number): Uint8Array {
  const nSeq = batch.offsets.length - 1;
  const nTok = batch.logp.length;
  const advOf = new Float64Array(nTok);
  let sumA = 0;
  let sumL = 0;
  for (let s = 0; s < nSeq; s++) {
    for (let t = batch.offsets[s]; t < batch.offsets[s + 1]; t++) {
      advOf[t] = batch.advantages[s];
      if (!batch.mask[t]) continue;
      sumA += batch.advantages[s];
      sumL += batch.logp[t];
    }
  }
  const out = new Uint8Array(nTok);
  if (active === 0) return out;
  const meanA = sumA / active;
  const meanL = sumL / active;
  const cov = (t: number) => (advOf[t] - meanA) * (batch.logp[t] - meanL);
  if (mode === 'kl_cov') {
    const k = Math.max(1, Math.floor(active * (cfg.klCovRatio ?? 2e-4)));
    const idx: number[] = [];
    for (let t = 0; t < nTok; t++) if (batch.mask[t]) idx.push(t);
    // largest covariance first; ties by position, so the choice is deterministic
    idx.sort((a, b) => cov(b) - cov(a) || a - b);
    for (const t of idx.slice(0, k)) out[t] = 1;
    return out;
  }
  const lb = cfg.clipCovLb ?? 1;
  const ub = cfg.clipCovUb ?? 5;
  const candidates: number[] = [];
  for (let t = 0; t < nTok; t++) {
    if (!batch.mask[t]) continue;
    const A = advOf[t];
    const ratio = Math.exp(batch.logp[t] - batch.old[t]);
    // already clipped by the ε-clip: −A·clip(ratio) > −A·ratio
    const clippedByOrigin = -A * Math.min(Math.max(ratio, lo), hi) > -A * ratio;
    const c = cov(t);
    if (!clippedByOrigin && c > lb && c < ub) candidates.push(t);
  }
  const n = Math.min(Math.max(1, Math.floor(active * (cfg.clipCovRatio ?? 2e-4))), candidates.length);
  // a seeded partial Fisher–Yates shuffle: n distinct candidates, uniformly
  const rng = new Rng(batch.seed ?? 0);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng.uniform() * (candidates.length - i));
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    out[candidates[i]!] = 1;
  }
  return out;
}
