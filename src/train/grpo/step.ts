/**
 * One GRPO-family optimisation step: generate → score → advantages → (μ × mini-batches) policy
 * updates. Every random choice derives from (seed, step), so a resumed run repeats exactly the
 * steps an uninterrupted one would have taken.
 *
 * Trajectories come from a RolloutSource (single-turn sampling unless another is given). Each
 * token segment of a trained trajectory is its own sequence, with the trajectory's advantage;
 * its completion mask is the loss mask, so tokens rft inserted between turns (tool results,
 * template tokens) carry no loss. A rollout that failed (`error` set) is invalid: scored NaN and
 * not trained on.
 */
import type { Row } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';
import type { PolicyEngine, Sequence } from '../../contracts/policy-engine.js';
import type { RolloutFinish, Trajectory } from '../../contracts/trajectory.js';
import type { RolloutSource } from '../../rollout/source.js';
import { SingleTurnSource } from '../../rollout/single-turn.js';
import type { RewardScaling } from './advantages.js';
import { groupAdvantages, type AdvantageConfig } from './estimators.js';
import { policyLoss, type LossConfig, type LossMetrics } from './loss.js';
import { scoreAll, type ScoreFn } from './score.js';
import type { EvaluationResult } from '../../contracts/evaluation.js';
import { rolloutCorrection, type MismatchMetrics, type RolloutCorrectionConfig } from './rollout-correction.js';
import type { RolloutRequest } from '../../rollout/source.js';

export interface GrpoStepConfig {
  rolloutsPerPrompt: number;
  temperature: number;
  topP: number;
  topK: number;
  maxNewTokens: number;
  policyUpdates: number;
  miniBatches: number;
  rewardScaling: RewardScaling;
  maskTruncated: boolean;
  dropZeroVarianceGroups: boolean;
  maxGradNorm: number;
  weightDecay: number;
  loss: LossConfig;
  /** The advantage estimator and reward shaping (default: GRPO's). */
  advantage?: AdvantageConfig;
  /**
   * Set when the rollouts' log-probs come from another engine (an inference fleet): the trainer
   * recomputes them (π_train, the "old" policy) and weights the policy-gradient term by truncated
   * importance sampling against the rollout's (rollout-correction.ts).
   */
  rolloutCorrection?: RolloutCorrectionConfig;
}

export interface StepMetrics {
  reward_mean: number;
  reward_std: number;
  /** each evaluator component's mean, prefixed `reward/` */
  [component: `reward/${string}`]: number;
  zero_variance_fraction: number;
  invalid_fraction: number;
  kl: number;
  clip_low: number;
  clip_high: number;
  entropy: number;
  completion_len_mean: number;
  completion_len_max: number;
  truncated_fraction: number;
  grad_norm: number;
  loss: number;
  lr: number;
  trained_sequences: number;
  /** Rollout shape (agents; single-turn rollouts are 1 turn, 0 tool calls). */
  turns_mean: number;
  turns_max: number;
  tool_calls_mean: number;
  tool_calls_max: number;
  /** tool calls that went back to the model as an error (bad JSON, unknown tool, wrong arguments, a tool that threw or timed out), and their share of all tool calls */
  tool_errors: number;
  tool_error_fraction: number;
  /** rollouts that failed (agent error) / timed out: invalid, not trained on (both are part of invalid_fraction) */
  error_fraction: number;
  timeout_fraction: number;
  /** tokens of the step's rollouts the policy sampled / rft inserted between turns (tool results, template) */
  sampled_tokens: number;
  inserted_tokens: number;
  time_sample_s: number;
  time_eval_s: number;
  time_train_s: number;
  sample_tokens_per_s: number;
  train_tokens_per_s: number;
  /** With rollout correction: the mismatch between the rollout engine's log-probs and the trainer's (rollout-correction.ts). */
  mismatch_kl?: number;
  mismatch_k3?: number;
  is_clip_fraction?: number;
  is_weight_mean?: number;
}

/** The rollout request of a step (its seed derives from the run seed and the step). */
export function stepRolloutRequest(rows: Row[], cfg: GrpoStepConfig, runSeed: number, step: number): RolloutRequest {
  const seed = stepSeed(runSeed, step, 1);
  return {
    rows,
    n: cfg.rolloutsPerPrompt,
    sampling: { maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, topP: cfg.topP, topK: cfg.topK, seed },
    seed,
    tags: { step },
  };
}

/** Deterministic per-step seed from the run seed (a 32-bit mix, so steps get unrelated streams). */
export function stepSeed(seed: number, step: number, salt = 0): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [step, salt]) {
    h = Math.imul(h ^ v, 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

function flatten(arrays: ArrayLike<number>[], offsets: number[]): Float64Array {
  const out = new Float64Array(offsets[offsets.length - 1]);
  arrays.forEach((a, k) => out.set(a, offsets[k]));
  return out;
}

function meanStd(xs: number[]): [number, number] {
  if (!xs.length) return [NaN, NaN];
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length)];
}

export interface StepResult {
  metrics: StepMetrics;
  trajectories: Trajectory[];
  rewards: Float64Array;
  /** the evaluator's result for each trajectory (same order) */
  results: EvaluationResult[];
}

/** Completions cut off by a token limit (the last turn's, or the rollout's budget). */
export function isTruncated(finish: RolloutFinish): boolean {
  return finish === 'length' || finish === 'budget';
}

/** Sampled (loss-carrying) tokens of a trajectory: the 1s of its segments' masks. */
export function sampledTokenCount(t: Trajectory): number {
  let n = 0;
  for (const seg of t.segments) for (const m of seg.completionMask) n += m ? 1 : 0;
  return n;
}

/** A source must return `n` trajectories per row, grouped by row, with consistent segments. */
function checkTrajectories(trajectories: Trajectory[], rows: number, n: number): void {
  if (trajectories.length !== rows * n) throw new Error(`rollout source returned ${trajectories.length} trajectories for ${rows} rows × ${n} rollouts`);
  trajectories.forEach((t, i) => {
    const where = `trajectory ${i} (row ${t.rowIndex})`;
    if (t.rowIndex !== Math.floor(i / n)) throw new Error(`rollout source: ${where} is out of order (trajectories must be grouped by row, row 0 first)`);
    t.segments.forEach((seg, j) => {
      const len = seg.completionTokens.length;
      if (seg.completionMask.length !== len || seg.logprobs.length !== len) {
        throw new Error(`rollout source: ${where} segment ${j} has ${len} completion tokens but ${seg.completionMask.length} mask entries and ${seg.logprobs.length} log-probs`);
      }
    });
  });
}

/** Turns, tool calls and tool errors per rollout, failed and timed-out fractions, token counts. */
export function rolloutShape(ts: Trajectory[]): Pick<StepMetrics, 'turns_mean' | 'turns_max' | 'tool_calls_mean' | 'tool_calls_max' | 'tool_errors' | 'tool_error_fraction' | 'error_fraction' | 'timeout_fraction' | 'sampled_tokens' | 'inserted_tokens'> {
  const n = Math.max(1, ts.length);
  const sum = (f: (t: Trajectory) => number) => ts.reduce((a, t) => a + f(t), 0);
  const max = (f: (t: Trajectory) => number) => ts.reduce((a, t) => Math.max(a, f(t)), 0);
  const calls = sum((t) => t.stats.toolCalls);
  const errors = sum((t) => t.stats.toolErrors);
  let inserted = 0;
  for (const t of ts) for (const seg of t.segments) for (const m of seg.completionMask) inserted += m ? 0 : 1;
  return {
    turns_mean: sum((t) => t.stats.turns) / n,
    turns_max: max((t) => t.stats.turns),
    tool_calls_mean: calls / n,
    tool_calls_max: max((t) => t.stats.toolCalls),
    tool_errors: errors,
    tool_error_fraction: calls ? errors / calls : 0,
    error_fraction: ts.filter((t) => t.finishReason === 'error').length / n,
    timeout_fraction: ts.filter((t) => t.finishReason === 'timeout').length / n,
    sampled_tokens: sum(sampledTokenCount),
    inserted_tokens: inserted,
  };
}

export async function grpoStep(
  policy: PolicyEngine,
  tokenizer: ChatTokenizer,
  score: ScoreFn,
  rows: Row[],
  cfg: GrpoStepConfig,
  ctx: { seed: number; step: number; lr: number; /** where trajectories come from (default: single-turn sampling) */ source?: RolloutSource },
): Promise<StepResult> {
  const G = cfg.rolloutsPerPrompt;
  const source = ctx.source ?? new SingleTurnSource(policy, tokenizer);
  const t0 = performance.now();
  const trajectories = await source.rollout(stepRolloutRequest(rows, cfg, ctx.seed, ctx.step));
  // Group g = row g.
  trajectories.sort((a, b) => a.rowIndex - b.rowIndex);
  checkTrajectories(trajectories, rows.length, G);
  const t1 = performance.now();
  const scores = await scoreAll(score, trajectories);
  const t2 = performance.now();

  // Each trajectory's log-likelihood under the sampling policy (inserted tokens carry 0), for the unlikeliness reward.
  const seqLogprobs = trajectories.map((t) => t.segments.reduce((a, s) => a + s.logprobs.reduce((x, y) => x + y, 0), 0));
  const adv = groupAdvantages(scores.rewards, G, cfg.rewardScaling, cfg.advantage, seqLogprobs);

  // Which trajectories enter the loss.
  const chosen: number[] = [];
  trajectories.forEach((tr, i) => {
    const g = Math.floor(i / G);
    if (Number.isNaN(scores.rewards[i]) || tr.error !== undefined) return;
    if (cfg.dropZeroVarianceGroups && adv.zeroVariance[g]) return;
    if (cfg.maskTruncated && isTruncated(tr.finishReason)) return;
    chosen.push(i);
  });
  // Each segment with a sampled token is one sequence; its mask is the loss mask.
  const seqs: Sequence[] = [];
  const masks: number[][] = [];
  const rolloutLogprobs: number[][] = [];
  const advantages: number[] = [];
  for (const i of chosen) {
    for (const seg of trajectories[i].segments) {
      if (!seg.completionMask.some((m) => m)) continue;
      seqs.push({ prompt: seg.promptTokens, completion: seg.completionTokens });
      masks.push(seg.completionMask);
      rolloutLogprobs.push(seg.logprobs);
      advantages.push(adv.advantages[i]);
    }
  }
  let mismatch: MismatchMetrics | undefined;

  let lossSum = 0;
  let updates = 0;
  let gradNorm = 0;
  let entropySum = 0;
  let entropyCount = 0;
  const lossMetrics: LossMetrics[] = [];
  let trainTokens = 0;

  if (seqs.length > 0) {
    // Log-probs under the distribution the rollouts were sampled from (logits / temperature).
    const temperature = cfg.temperature > 0 ? cfg.temperature : 1;
    const ref = cfg.loss.klBeta > 0 ? await policy.logprobs(seqs, { reference: true, temperature }) : undefined;
    // With one update on the whole batch the policy is still the sampling policy, so old = current
    // (detached) and the ratio is exactly 1; otherwise the pre-update log-probs are recorded first.
    // Rollouts from another engine: old is the trainer's own log-probs, not the rollout's.
    const offPolicy = cfg.policyUpdates > 1 || cfg.miniBatches > 1 || cfg.rolloutCorrection !== undefined;
    const old = offPolicy ? await policy.logprobs(seqs, { temperature }) : undefined;
    let isWeights: Float64Array[] | undefined;
    if (cfg.rolloutCorrection && old) {
      const offsets = [0];
      for (const s of seqs) offsets.push(offsets[offsets.length - 1] + s.completion.length);
      const flatOld = new Float64Array(offsets[offsets.length - 1]);
      const flatRollout = new Float64Array(flatOld.length);
      const flatMask = new Uint8Array(flatOld.length);
      seqs.forEach((_, j) => {
        flatOld.set(old[j], offsets[j]);
        flatRollout.set(rolloutLogprobs[j], offsets[j]);
        flatMask.set(masks[j], offsets[j]);
      });
      const corr = rolloutCorrection({ old: flatOld, rollout: flatRollout, offsets, mask: flatMask }, cfg.rolloutCorrection);
      mismatch = corr.metrics;
      isWeights = seqs.map((_, j) => corr.weights.subarray(offsets[j], offsets[j + 1]));
    }
    // Each mini-batch is its own optimizer step, so each normalises its loss over itself.
    const mbSize = Math.ceil(seqs.length / cfg.miniBatches);

    for (let u = 0; u < cfg.policyUpdates; u++) {
      for (let start = 0; start < seqs.length; start += mbSize) {
        const idx = Array.from({ length: Math.min(mbSize, seqs.length - start) }, (_, j) => start + j);
        const mb = idx.map((j) => seqs[j]);
        const fb = await policy.forwardBackward(mb, (logprobs, entropies) => {
          const offsets = [0];
          for (const lp of logprobs) offsets.push(offsets[offsets.length - 1] + lp.length);
          const flat = new Float64Array(offsets[offsets.length - 1]);
          logprobs.forEach((lp, k) => flat.set(lp, offsets[k]));
          const mask = new Uint8Array(flat.length);
          idx.forEach((j, k) => mask.set(masks[j], offsets[k]));
          const flatOld = old ? new Float64Array(flat.length) : flat;
          if (old) idx.forEach((j, k) => flatOld.set(old[j], offsets[k]));
          let flatIs: Float64Array | undefined;
          if (isWeights) {
            flatIs = new Float64Array(flat.length);
            idx.forEach((j, k) => flatIs!.set(isWeights![j], offsets[k]));
          }
          let flatRef: Float64Array | undefined;
          if (ref) {
            flatRef = new Float64Array(flat.length);
            idx.forEach((j, k) => flatRef!.set(ref[j], offsets[k]));
          }
          const out = policyLoss(
            {
              logp: flat,
              old: flatOld,
              ref: flatRef,
              mask,
              offsets,
              advantages: idx.map((j) => advantages[j]),
              entropy: entropies ? flatten(entropies, offsets) : undefined,
              seed: stepSeed(ctx.seed, ctx.step, 100 + updates),
              isWeights: flatIs,
            },
            cfg.loss,
          );
          lossMetrics.push(out.metrics);
          const split = (a: Float64Array) => logprobs.map((_, k) => a.subarray(offsets[k], offsets[k + 1]));
          return { loss: out.loss, dlogp: split(out.dlogp), ...(out.dentropy ? { dentropy: split(out.dentropy) } : {}) };
        }, { temperature });
        lossSum += fb.loss;
        updates++;
        if (fb.entropy !== undefined && Number.isFinite(fb.entropy)) {
          entropySum += fb.entropy;
          entropyCount++;
        }
        trainTokens += mb.reduce((a, s) => a + s.prompt.length + s.completion.length, 0);
        const st = await policy.optimStep({ lr: ctx.lr, maxGradNorm: cfg.maxGradNorm, weightDecay: cfg.weightDecay });
        gradNorm = Math.max(gradNorm, st.gradNorm);
      }
    }
  }
  const t3 = performance.now();

  const valid = Array.from(scores.rewards).filter((r) => !Number.isNaN(r));
  const [rm, rs] = meanStd(valid);
  const lens = trajectories.map(sampledTokenCount);
  const sampledTokens = lens.reduce((a, b) => a + b, 0);
  const avgOver = (f: (m: LossMetrics) => number) => {
    const tot = lossMetrics.reduce((a, m) => a + m.activeTokens, 0);
    return tot ? lossMetrics.reduce((a, m) => a + f(m) * m.activeTokens, 0) / tot : 0;
  };
  const metrics: StepMetrics = {
    reward_mean: rm,
    reward_std: rs,
    zero_variance_fraction: adv.zeroVariance.filter(Boolean).length / adv.zeroVariance.length,
    invalid_fraction: scores.invalidFraction,
    kl: avgOver((m) => m.kl),
    clip_low: avgOver((m) => m.clipLow),
    clip_high: avgOver((m) => m.clipHigh),
    entropy: entropyCount ? entropySum / entropyCount : NaN,
    completion_len_mean: lens.length ? sampledTokens / lens.length : 0,
    completion_len_max: lens.length ? Math.max(...lens) : 0,
    truncated_fraction: trajectories.filter((t) => isTruncated(t.finishReason)).length / Math.max(1, trajectories.length),
    grad_norm: gradNorm,
    loss: updates ? lossSum / updates : 0,
    lr: ctx.lr,
    trained_sequences: seqs.length,
    ...rolloutShape(trajectories),
    time_sample_s: (t1 - t0) / 1000,
    time_eval_s: (t2 - t1) / 1000,
    time_train_s: (t3 - t2) / 1000,
    sample_tokens_per_s: sampledTokens / Math.max(1e-9, (t1 - t0) / 1000),
    train_tokens_per_s: trainTokens / Math.max(1e-9, (t3 - t2) / 1000),
  };
  if (mismatch) {
    metrics.mismatch_kl = mismatch.mismatch_kl;
    metrics.mismatch_k3 = mismatch.mismatch_k3;
    metrics.is_clip_fraction = mismatch.is_clip_fraction;
    metrics.is_weight_mean = mismatch.is_weight_mean;
  }
  for (const [k, v] of Object.entries(scores.componentMeans)) metrics[`reward/${k}`] = v;
  return { metrics, trajectories, rewards: scores.rewards, results: scores.results };
}
