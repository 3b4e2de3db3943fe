/**
 * Choosing the next token from rows of logits: greedy, temperature, top-k, top-p (nucleus).
 * The log-prob reported for a token is log softmax(logits / T)[token] over the whole vocabulary
 * (T = temperature, or 1 for greedy), before top-k/top-p truncation: the quantity teacher-forced
 * log-probs recompute (with the same kernel), so the two agree.
 */
import { kernels, type Rng } from '../engine/index.js';

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** Keep the smallest set of most likely tokens whose mass reaches topP (1 = off). */
  topP: number;
  /** Keep the k most likely tokens (0 = off). */
  topK: number;
}

/** Scratch buffers for `chooseTokens`, reused across steps. */
export class SamplingScratch {
  scaled = new Float32Array(0);
  probs = new Float32Array(0);
  targets = new Int32Array(0);
  logp = new Float32Array(0);
  lse = new Float32Array(0);

  ensure(rows: number, V: number): void {
    if (this.scaled.length < rows * V) {
      this.scaled = new Float32Array(rows * V);
      this.probs = new Float32Array(rows * V);
    }
    if (this.targets.length < rows) {
      this.targets = new Int32Array(rows);
      this.logp = new Float32Array(rows);
      this.lse = new Float32Array(rows);
    }
  }
}

/**
 * logits (rows, V) → one token per active row and its log-prob. rngs[i] draws row i's token
 * (null for rows to skip: their token is -1). Softmax and log-probs run on the engine's kernels.
 */
export function chooseTokens(
  logits: Float32Array, rows: number, V: number, p: SamplingParams, rngs: (Rng | null)[], scratch: SamplingScratch,
): { tokens: Int32Array; logprobs: Float32Array } {
  const K = kernels();
  scratch.ensure(rows, V);
  const n = rows * V;
  for (let i = 0; i < n; i++) if (!Number.isFinite(logits[i]!)) throw new Error(`sampling: logit ${i % V} of row ${Math.floor(i / V)} is ${logits[i]}`);
  const greedy = p.temperature === 0 || p.topK === 1;
  let scaled = logits.subarray(0, n);
  if (!greedy && p.temperature !== 1) {
    scaled = scratch.scaled.subarray(0, n);
    const inv = 1 / p.temperature;
    for (let i = 0; i < n; i++) scaled[i] = logits[i]! * inv;
  }
  const probs = scratch.probs.subarray(0, n);
  if (!greedy) K.softmaxForward(scaled, probs, rows, V);
  const tokens = scratch.targets.subarray(0, rows);
  for (let r = 0; r < rows; r++) {
    const rng = rngs[r];
    if (rng === null || rng === undefined) {
      tokens[r] = -1;
      continue;
    }
    tokens[r] = greedy ? argmax(logits.subarray(r * V, (r + 1) * V)) : pick(probs.subarray(r * V, (r + 1) * V), p, rng);
  }
  const logp = scratch.logp.subarray(0, rows);
  K.tokenLogprobsForward(scaled, tokens, logp, scratch.lse.subarray(0, rows), rows, V);
  return { tokens: tokens.slice(), logprobs: logp.slice() };
}

/** Index of the largest value (the first one on ties). */
export function argmax(z: Float32Array): number {
  let best = 0;
  for (let i = 1; i < z.length; i++) if (z[i]! > z[best]!) best = i;
  return best;
}

/** Draws from probs (V) after top-k / top-p truncation and renormalisation. */
export function pick(probs: Float32Array, p: SamplingParams, rng: Rng): number {
  const V = probs.length;
  let cand: number[] | null = null;
  if (p.topK > 0 && p.topK < V) cand = topIndices(probs, p.topK);
  if (p.topP < 1) {
    if (!cand) {
      // Tokens below (1 − topP)/V hold at most 1 − topP of the mass together, so the nucleus
      // lies within the rest: only those need sorting.
      const eps = (1 - p.topP) / V;
      cand = [];
      for (let i = 0; i < V; i++) if (probs[i]! > eps) cand.push(i);
    }
    cand.sort((a, b) => probs[b]! - probs[a]! || a - b);
    // After top-k, top-p applies to the renormalised top-k distribution (as HF's warpers chain).
    let total = 1;
    if (p.topK > 0) {
      total = 0;
      for (const i of cand) total += probs[i]!;
    }
    let cum = 0;
    let k = 0;
    while (k < cand.length) {
      cum += probs[cand[k]!]!;
      k++;
      if (cum >= p.topP * total) break;
    }
    cand.length = k;
  }
  if (!cand) {
    let u = rng.uniform();
    let last = 0;
    for (let i = 0; i < V; i++) {
      const q = probs[i]!;
      if (q > 0) last = i;
      u -= q;
      if (u < 0) return i;
    }
    return last; // float rounding left u ≥ 0: the last token with mass
  }
  let mass = 0;
  for (const i of cand) mass += probs[i]!;
  let u = rng.uniform() * mass;
  for (const i of cand) {
    u -= probs[i]!;
    if (u < 0) return i;
  }
  return cand[cand.length - 1]!;
}

/** The k indices with the largest probs, most likely first (ties: lower index first). */
function topIndices(probs: Float32Array, k: number): number[] {
  // A running set of the best k with its weakest member tracked: O(V) when k ≪ V.
  const top: number[] = [];
  let weakest = -1;
  const findWeakest = () => {
    let m = 0;
    for (let j = 1; j < top.length; j++) if (probs[top[j]!]! < probs[top[m]!]! || (probs[top[j]!]! === probs[top[m]!]! && top[j]! > top[m]!)) m = j;
    return m;
  };
  for (let i = 0; i < probs.length; i++) {
    if (top.length < k) {
      top.push(i);
      if (top.length === k) weakest = findWeakest();
    } else if (probs[i]! > probs[top[weakest]!]!) {
      top[weakest] = i;
      weakest = findWeakest();
    }
  }
  return top.sort((a, b) => probs[b]! - probs[a]! || a - b);
}
