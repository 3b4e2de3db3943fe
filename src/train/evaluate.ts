/**
 * Held-out evaluation: greedy pass@1 and mean reward, sampled pass@1 and pass@k from k samples.
 * Reporting both greedy and sampled figures (and pass@k) makes visible when RFT merely sharpens
 * what the model already knew (pass@1 up, pass@k down) rather than teaching it.
 */
import type { ChatMessage, Row } from '../contracts/row.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import type { RolloutFinish, Trajectory } from '../contracts/trajectory.js';
import type { RolloutSource } from '../rollout/source.js';
import { SingleTurnSource } from '../rollout/single-turn.js';
import { scoreAll, type ScoreFn } from './grpo/score.js';
import { unbiasedStd } from './grpo/advantages.js';

export interface HeldoutOptions {
  k: number;
  temperature: number;
  topP: number;
  topK: number;
  maxNewTokens: number;
  passThreshold: number;
  seed: number;
  /** Where the trajectories come from (default: single-turn sampling from the policy). */
  source?: RolloutSource;
}

export interface HeldoutSample {
  row: number;
  prompt: string;
  completion: string;
  score: number | null;
  valid: boolean;
  reason?: string;
  greedy: boolean;
  /** Agent rollouts (tool calls, several turns, or a failure): the whole conversation and how it ended. */
  messages?: ChatMessage[];
  finish?: RolloutFinish;
  error?: string;
}

export interface HeldoutResult {
  n: number;
  k: number;
  /** greedy decoding */
  mean_reward: number;
  pass1: number;
  /** k samples at the training temperature */
  mean_reward_sampled: number;
  pass1_sampled: number;
  pass_at_k: number;
  samples: HeldoutSample[];
}

/** Unbiased pass@k from n samples of which c pass (Chen et al. 2021): 1 − C(n−c, k) / C(n, k). */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) throw new Error(`passAtK: k (${k}) cannot exceed the number of samples (${n})`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

export async function evaluateHeldout(
  policy: PolicyEngine,
  tokenizer: ChatTokenizer,
  score: ScoreFn,
  rows: Row[],
  o: HeldoutOptions,
): Promise<HeldoutResult> {
  const source = o.source ?? new SingleTurnSource(policy, tokenizer);
  const common = { maxNewTokens: o.maxNewTokens, topP: o.topP, topK: o.topK };
  const draw = async (n: number, temperature: number, seed: number): Promise<Trajectory[]> => {
    const ts = await source.rollout({ rows, n, sampling: { ...common, temperature, seed }, seed });
    if (ts.length !== rows.length * n) throw new Error(`rollout source returned ${ts.length} trajectories for ${rows.length} held-out rows × ${n}`);
    return ts.sort((a, b) => a.rowIndex - b.rowIndex);
  };
  const greedy = await draw(1, 0, o.seed);
  const sampled = o.k > 0 ? await draw(o.k, o.temperature, o.seed + 1) : [];
  const gs = await scoreAll(score, greedy);
  const ss = await scoreAll(score, sampled);
  const passes = (r: number) => !Number.isNaN(r) && r >= o.passThreshold;
  const reward = (r: number) => (Number.isNaN(r) ? 0 : r);

  let greedyPass = 0;
  let greedyReward = 0;
  gs.rewards.forEach((r) => {
    greedyReward += reward(r);
    if (passes(r)) greedyPass++;
  });
  let sampledPass = 0;
  let sampledReward = 0;
  let passK = 0;
  for (let i = 0; i < rows.length; i++) {
    let c = 0;
    for (let j = 0; j < o.k; j++) {
      const r = ss.rewards[i * o.k + j];
      sampledReward += reward(r);
      if (passes(r)) c++;
    }
    sampledPass += c;
    if (o.k > 0) passK += passAtK(o.k, c, o.k);
  }
  const n = rows.length;
  const toSample = (greedyFlag: boolean) => (t: Trajectory, i: number): HeldoutSample => {
    const res = (greedyFlag ? gs : ss).results[i];
    return {
      row: t.rowIndex,
      // a failed rollout may have no tokens at all
      prompt: t.segments.length ? tokenizer.decode(t.segments[0].promptTokens) : '',
      completion: t.output,
      score: res.valid ? res.score : null,
      valid: res.valid,
      reason: res.reason,
      greedy: greedyFlag,
      ...(t.stats.turns > 1 || t.stats.toolCalls > 0 || t.error !== undefined ? { messages: t.messages, finish: t.finishReason, ...(t.error !== undefined ? { error: t.error } : {}) } : {}),
    };
  };
  return {
    n,
    k: o.k,
    mean_reward: n ? greedyReward / n : NaN,
    pass1: n ? greedyPass / n : NaN,
    mean_reward_sampled: n && o.k ? sampledReward / (n * o.k) : NaN,
    pass1_sampled: n && o.k ? sampledPass / (n * o.k) : NaN,
    pass_at_k: n && o.k ? passK / n : NaN,
    samples: [...greedy.map(toSample(true)), ...sampled.map(toSample(false))],
  };
}

/** A change in a held-out mean with its standard error. */
export interface Gain {
  delta: number;
  /** Standard error of `delta` from the per-problem differences (paired: the same problems both times). */
  se: number;
}

/**
 * How much mean reward changed between two evaluations of the same held-out problems, greedy and
 * sampled, with the paired standard error: per problem, (its mean reward after) − (before); the
 * gain is the mean of those differences and its error their standard deviation over √n. Pairing
 * removes the spread between easy and hard problems, which dwarfs the change itself. `value` scores a
 * sample (default its reward; e.g. 1/0 for pass/fail gives the gain in pass@1).
 */
export function pairedGain(before: HeldoutResult, after: HeldoutResult, value: (s: HeldoutSample) => number = (s) => s.score ?? 0): { greedy: Gain; sampled: Gain } {
  if (before.n !== after.n) throw new Error(`pairedGain: the evaluations cover ${before.n} and ${after.n} problems; they must be the same problems`);
  const perProblem = (r: HeldoutResult, greedy: boolean): Float64Array => {
    const sum = new Float64Array(r.n);
    const count = new Float64Array(r.n);
    for (const s of r.samples) {
      if (s.greedy !== greedy) continue;
      if (s.row < 0 || s.row >= r.n) throw new Error(`pairedGain: sample for problem ${s.row} outside 0..${r.n - 1}`);
      sum[s.row] += value(s);
      count[s.row]++;
    }
    return sum.map((v, i) => (count[i] ? v / count[i] : NaN));
  };
  const gain = (greedy: boolean): Gain => {
    const a = perProblem(before, greedy);
    const b = perProblem(after, greedy);
    const d = Array.from(b, (v, i) => v - a[i]).filter((v) => !Number.isNaN(v));
    const n = d.length;
    if (n === 0) return { delta: NaN, se: NaN };
    const mean = d.reduce((s, v) => s + v, 0) / n;
    return { delta: mean, se: n > 1 ? unbiasedStd(d, mean) / Math.sqrt(n) : NaN };
  };
  return { greedy: gain(true), sampled: gain(false) };
}
