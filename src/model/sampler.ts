/**
 * Batched sampling with a KV cache: many prompts of different lengths at once (left-padded),
 * temperature / top-p / top-k, stop tokens and stop strings, max new tokens, a seed.
 * Each sample returns its token ids, the log-prob of each sampled token and a finish reason.
 * Rows that finish are dropped from the batch (and the cache) so they stop costing compute.
 */
import { noGrad, Rng, scope } from '../engine/index.js';
import type { Transformer } from './transformer.js';
import { ModelError } from './transformer.js';
import type { ModelTokenizer } from './tokenizer.js';
import { chooseTokens, SamplingScratch, type SamplingParams } from './sampling.js';
import type { KVCache } from './kv-cache.js';

export interface SampleOptions {
  maxNewTokens: number;
  /** Default 1; 0 = greedy. */
  temperature?: number;
  /** Default 1 (off). */
  topP?: number;
  /** Default 0 (off). */
  topK?: number;
  /** Ids that end a sample (included in its tokens). Default: the tokenizer's / config's eos ids. */
  stopTokenIds?: number[];
  /** Also stop on the model's eos ids when stopTokenIds is given (default true). */
  stopOnEos?: boolean;
  /** Texts that end a sample; the returned text stops before them. Needs `tokenizer`. */
  stopStrings?: string[];
  seed?: number;
  tokenizer?: ModelTokenizer;
}

export interface Sample {
  tokens: number[];
  /** log softmax(logits / T)[token] for each token (T = 1 when greedy), computed in float32. */
  logprobs: number[];
  finishReason: 'stop' | 'length';
  /** Decoded completion without special tokens, cut before a stop string (when a tokenizer is given). */
  text?: string;
}

export function validateSampleOptions(o: SampleOptions): SamplingParams {
  const t = o.temperature ?? 1;
  const topP = o.topP ?? 1;
  const topK = o.topK ?? 0;
  if (!Number.isSafeInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new ModelError(`maxNewTokens must be a positive integer, got ${o.maxNewTokens}`);
  if (!(t >= 0 && Number.isFinite(t))) throw new ModelError(`temperature must be ≥ 0, got ${t}`);
  if (!(topP > 0 && topP <= 1)) throw new ModelError(`topP must be in (0, 1], got ${topP}`);
  if (!Number.isSafeInteger(topK) || topK < 0) throw new ModelError(`topK must be a non-negative integer, got ${topK}`);
  if (o.stopStrings?.length && !o.tokenizer) throw new ModelError('stop strings need the tokenizer (pass `tokenizer`)');
  if (o.stopStrings?.some((s) => typeof s !== 'string' || s.length === 0)) throw new ModelError('stop strings must be non-empty strings');
  return { temperature: t, topP, topK };
}

/** The index where the earliest stop string starts in text, or -1. */
function findStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

export function sample(model: Transformer, prompts: readonly (readonly number[])[], opts: SampleOptions): Sample[] {
  const params = validateSampleOptions(opts);
  const N = prompts.length;
  if (N === 0) return [];
  const V = model.config.vocabSize;
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new ModelError(`prompt ${i} is empty; a prompt needs at least one token`);
  });
  const stopIds = new Set<number>(opts.stopTokenIds ?? []);
  if (opts.stopTokenIds === undefined || opts.stopOnEos !== false)
    for (const id of opts.tokenizer?.eosTokenIds ?? model.config.eosTokenIds) stopIds.add(id);
  const stops = opts.stopStrings ?? [];
  // A stop string that completes at this step ends within the newest token and starts at most its
  // length before; tokens decode to at least one character, so a window of that many tokens (plus
  // slack for tokens that are partial UTF-8) finds it without decoding the whole sample every step.
  const stopWindow = Math.max(0, ...stops.map((x) => x.length)) + 16;
  const tok = opts.tokenizer;
  const seed = opts.seed ?? 0;
  const rngs = prompts.map((_, i) => new Rng((seed + Math.imul(i + 1, 0x9e3779b1)) >>> 0));

  const P = Math.max(...prompts.map((p) => p.length));
  // Identical prompts (GRPO samples each prompt several times) are prefilled once; their cache
  // rows and last logits are then copied to every sample of that prompt.
  const uniqueOf = new Map<string, number>();
  const unique: (readonly number[])[] = [];
  const rowOf = prompts.map((p) => {
    const key = p.join(',');
    let u = uniqueOf.get(key);
    if (u === undefined) {
      u = unique.length;
      uniqueOf.set(key, u);
      unique.push(p);
    }
    return u;
  });
  const U = unique.length;
  const padU = Int32Array.from(unique, (p) => P - p.length);
  const ids = new Int32Array(U * P);
  unique.forEach((p, u) => ids.set(p, u * P + padU[u]!));
  const out: Sample[] = prompts.map(() => ({ tokens: [], logprobs: [], finishReason: 'length' }));
  let cache: KVCache = model.newCache(U, P + opts.maxNewTokens, padU);
  /** rows[i] = the prompt index of cache row i, or -1 once that sample finished (until the row is dropped). */
  let rows = prompts.map((_, i) => i);
  const scratch = new SamplingScratch();

  const step = (input: Int32Array, T: number): Float32Array =>
    noGrad(() => scope(() => model.forward(input, cache.batch, T, { cache, lastOnly: true }).data.slice()));

  const prefill = step(ids, P);
  let logits = prefill;
  if (U < N) {
    cache = cache.select(rowOf);
    logits = new Float32Array(N * V);
    rowOf.forEach((u, b) => logits.set(prefill.subarray(u * V, (u + 1) * V), b * V));
  }
  for (let t = 0; t < opts.maxNewTokens; t++) {
    let input = new Int32Array(rows.length);
    let alive = 0;
    const chosen = chooseTokens(logits, rows.length, V, params, rows.map((r) => (r < 0 ? null : rngs[r]!)), scratch);
    rows.forEach((r, i) => {
      if (r < 0) return; // finished: its slot is fed token 0 and its logits are ignored
      const token = chosen.tokens[i]!;
      const s = out[r]!;
      s.tokens.push(token);
      s.logprobs.push(chosen.logprobs[i]!);
      input[i] = token;
      if (stopIds.has(token) || (stops.length && tok && findStop(tok.decode(s.tokens.slice(-stopWindow)), stops) >= 0)) {
        s.finishReason = 'stop';
        rows[i] = -1;
      } else alive++;
    });
    if (alive === 0 || t === opts.maxNewTokens - 1) break;
    // Drop finished rows once they are a quarter of the batch (copying the cache costs memory traffic).
    const dead = rows.length - alive;
    if (dead > 0 && dead >= rows.length / 4) {
      const keep = rows.flatMap((r, i) => (r >= 0 ? [i] : []));
      cache = cache.select(keep);
      input = Int32Array.from(keep, (i) => input[i]!);
      rows = keep.map((i) => rows[i]!);
    }
    logits = step(input, 1);
  }
  if (tok) {
    for (const s of out) {
      let text = tok.decode(s.tokens, { skipSpecialTokens: true });
      const at = stops.length ? findStop(text, stops) : -1;
      if (at >= 0) text = text.slice(0, at);
      s.text = text;
    }
  }
  return out;
}
