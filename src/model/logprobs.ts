/**
 * Teacher-forced log-probs of given completions after given prompts, batched. Rows are
 * right-padded (causal attention keeps padding after a row's tokens from affecting them).
 * The log-prob of completion token j is log softmax(logits / T)[token] at the position before it,
 * the same quantity the sampler reports for the token it drew.
 */
import { entropy, noGrad, reshape, scale, scope, tokenLogprobs, type Tensor } from '../engine/index.js';
import { ModelError, type Transformer } from './transformer.js';

export interface PromptCompletion {
  prompt: readonly number[];
  completion: readonly number[];
}

export interface LogprobBatch {
  /** (B·T) log-probs; zero where no completion token is scored. Carries the gradient when enabled. */
  logprobs: Tensor;
  B: number;
  T: number;
  /** For item b, completion token j sits at row index[b][j] of `logprobs`. */
  index: number[][];
  /** (B·T) entropy of the (tempered) next-token distribution, when asked for. */
  entropy?: Float32Array;
  /** The same entropies as a tensor on the tape (with `entropyGrad`), for losses that depend on them. */
  entropyTensor?: Tensor;
}

/**
 * One forward over the batch, returning per-position log-probs (with gradient when the tape is on).
 * temperature: the logits are divided by it (default 1), matching sampling at that temperature.
 */
export function completionLogprobs(model: Transformer, items: readonly PromptCompletion[], opts: { temperature?: number; withEntropy?: boolean; entropyGrad?: boolean } = {}): LogprobBatch {
  const temp = opts.temperature ?? 1;
  if (!(temp > 0 && Number.isFinite(temp))) throw new ModelError(`temperature for log-probs must be > 0, got ${temp} (greedy samples report T = 1 log-probs)`);
  if (items.length === 0) throw new ModelError('completionLogprobs: empty batch');
  items.forEach((it, b) => {
    if (it.prompt.length === 0) throw new ModelError(`item ${b}: the prompt is empty; a completion needs at least one token before it`);
  });
  const B = items.length;
  // The last completion token is never an input, so a row needs prompt + completion − 1 inputs.
  const T = Math.max(...items.map((it) => it.prompt.length + Math.max(it.completion.length, 1) - 1));
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  const index: number[][] = [];
  items.forEach((it, b) => {
    const seq = [...it.prompt, ...it.completion];
    for (let t = 0; t < Math.min(T, seq.length); t++) ids[b * T + t] = seq[t]!;
    const rows: number[] = [];
    it.completion.forEach((tokId, j) => {
      const pos = it.prompt.length + j - 1; // the position whose logits predict completion token j
      targets[b * T + pos] = tokId;
      rows.push(b * T + pos);
    });
    index.push(rows);
  });
  const V = model.config.vocabSize;
  for (let i = 0; i < targets.length; i++) if (targets[i]! >= V) throw new ModelError(`completion token ${targets[i]} is outside the vocabulary (0..${V - 1})`);
  let logits = reshape(model.forward(ids, B, T), [B * T, V]);
  if (temp !== 1) logits = scale(logits, 1 / temp);
  const entT = opts.entropyGrad ? entropy(logits) : opts.withEntropy ? noGrad(() => entropy(logits)) : undefined;
  return { logprobs: tokenLogprobs(logits, targets), B, T, index, entropy: entT?.data, entropyTensor: opts.entropyGrad ? entT : undefined };
}

/**
 * Log-probs of each completion token, without gradient, as plain arrays; items are processed in
 * chunks of at most maxTokens padded tokens so the (tokens, vocab) logits stay bounded (by default
 * about 64M floats, 256 MB, whatever the vocabulary size; one item is never split).
 */
export function logprobs(model: Transformer, items: readonly PromptCompletion[], opts: { temperature?: number; maxTokens?: number } = {}): number[][] {
  const maxTokens = opts.maxTokens ?? Math.max(1, Math.floor(64e6 / model.config.vocabSize));
  const out: number[][] = [];
  let i = 0;
  while (i < items.length) {
    let j = i + 1;
    let longest = items[i]!.prompt.length + items[i]!.completion.length;
    while (j < items.length) {
      const len = Math.max(longest, items[j]!.prompt.length + items[j]!.completion.length);
      if (len * (j - i + 1) > maxTokens) break;
      longest = len;
      j++;
    }
    const chunk = items.slice(i, j);
    const res = noGrad(() => scope(() => {
      const r = completionLogprobs(model, chunk, opts);
      const d = r.logprobs.data;
      return r.index.map((rows) => rows.map((k) => d[k]!));
    }));
    out.push(...res);
    i = j;
  }
  return out;
}
