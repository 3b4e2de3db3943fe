/**
 * Choosing the next token from one row of logits: greedy, temperature, top-k, top-p (nucleus).
 * The log-prob reported for a token is log softmax(logits / T)[token] over the whole vocabulary
 * (T = temperature, or 1 for greedy), before top-k/top-p truncation — the quantity teacher-forced
 * log-probs recompute, so the two agree.
 */
import type { Rng } from '../engine/index.js';

export interface TokenChoice {
  token: number;
  logprob: number;
}

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** Keep the smallest set of most likely tokens whose mass reaches topP (1 = off). */
  topP: number;
  /** Keep the k most likely tokens (0 = off). */
  topK: number;
}

/** logits (V) → a token and its log-prob; probs (V) is scratch space. */
export function chooseToken(logits: Float32Array, p: SamplingParams, rng: Rng | null, probs: Float64Array): TokenChoice {
  const V = logits.length;
  let max = -Infinity;
  let arg = 0;
  for (let i = 0; i < V; i++) {
    const z = logits[i]!;
    if (z > max) {
      max = z;
      arg = i;
    }
  }
  if (!Number.isFinite(max)) throw new Error(`sampling: logits are not finite (max ${max})`);
  const greedy = p.temperature === 0 || p.topK === 1;
  const invT = p.temperature > 0 ? 1 / p.temperature : 1;
  // Softmax of logits/T in float64: probs[i] = exp((z_i − max)/T) / Z.
  let Z = 0;
  for (let i = 0; i < V; i++) {
    const e = Math.exp((logits[i]! - max) * invT);
    probs[i] = e;
    Z += e;
  }
  const logZ = Math.log(Z);
  const lp = (i: number) => (logits[i]! - max) * invT - logZ;
  if (greedy) return { token: arg, logprob: lp(arg) };
  if (!rng) throw new Error('sampling: a random generator is needed when temperature > 0');
  for (let i = 0; i < V; i++) probs[i]! /= Z;

  let cand: number[] | null = null;
  if (p.topK > 0 && p.topK < V) {
    // Indices of the k largest probabilities (ties: lower index first).
    const idx = Array.from({ length: V }, (_, i) => i);
    cand = partialTop(idx, probs, p.topK);
  }
  if (p.topP < 1) {
    if (!cand) {
      // Tokens below (1 − topP)/V hold at most 1 − topP of the mass together, so the nucleus
      // lies within the rest: only those need sorting.
      const eps = (1 - p.topP) / V;
      cand = [];
      for (let i = 0; i < V; i++) if (probs[i]! > eps) cand.push(i);
    }
    cand.sort((a, b) => probs[b]! - probs[a]! || a - b);
    let mass = 0;
    for (const i of cand) mass += probs[i]!;
    // With top-k applied first, top-p applies to the renormalised top-k distribution (as HF's warpers chain).
    const total = p.topK > 0 ? mass : 1;
    let cum = 0;
    let n = 0;
    while (n < cand.length) {
      cum += probs[cand[n]!]!;
      n++;
      if (cum >= p.topP * total) break;
    }
    cand.length = n;
  }
  if (!cand) {
    let u = rng.uniform();
    for (let i = 0; i < V; i++) {
      u -= probs[i]!;
      if (u < 0) return { token: i, logprob: lp(i) };
    }
    return { token: arg, logprob: lp(arg) }; // rounding left u ≥ 0: the mode is the safest answer
  }
  let mass = 0;
  for (const i of cand) mass += probs[i]!;
  let u = rng.uniform() * mass;
  for (const i of cand) {
    u -= probs[i]!;
    if (u < 0) return { token: i, logprob: lp(i) };
  }
  const last = cand[cand.length - 1]!;
  return { token: last, logprob: lp(last) };
}

/** The k entries of idx with the largest probs, sorted by probability descending. */
function partialTop(idx: number[], probs: Float64Array, k: number): number[] {
  // A bounded min-heap would be faster for huge V and small k; a selection by threshold is simpler:
  // find the k-th largest value with a sort of a copy only when V is moderate.
  const top: number[] = [];
  let minPos = -1;
  for (const i of idx) {
    if (top.length < k) {
      top.push(i);
      if (top.length === k) minPos = argMin(top, probs);
    } else if (probs[i]! > probs[top[minPos]!]!) {
      top[minPos] = i;
      minPos = argMin(top, probs);
    }
  }
  return top.sort((a, b) => probs[b]! - probs[a]! || a - b);
}

function argMin(a: number[], probs: Float64Array): number {
  let m = 0;
  for (let j = 1; j < a.length; j++) if (probs[a[j]!]! < probs[a[m]!]!) m = j;
  return m;
}
