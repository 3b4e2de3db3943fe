/**
 * The decoder-only transformer of the Llama family (Llama 2/3, SmolLM, Qwen2, Qwen3) on the
 * engine's Tensor ops. Parameters keep their Hugging Face names (`model.layers.3.self_attn.q_proj.weight`),
 * so loading a checkpoint is a lookup.
 *
 * Per layer (x is (B·T, hidden)):
 *   h = rmsnorm(x); q,k,v = proj(h) → (B, T, heads, D); [Qwen3: rmsnorm over D of q, k];
 *   rope(q, k); a = attention(q, k, v) (causal, GQA); x += o_proj(a);
 *   h = rmsnorm(x); x += down(silu(gate(h)) · up(h)).
 * Then logits = lm_head(rmsnorm(x)) (lm_head = embed_tokens when tied).
 */
import {
  attention, concat, embedding, noGrad, reshape, rmsnorm, rope, slice, swiglu, tensor, zeros, Tensor16, type Rng, type Tensor,
} from '../engine/index.js';
import type { ModelConfig } from './config.js';
import { RopeTable } from './rope.js';
import { Projection, type ForwardMode } from './projection.js';
import { checkWeights } from './weights.js';
import type { NamedTensor, NamedTensor16 } from './safetensors.js';
import { KVCache } from './kv-cache.js';

export const PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type ProjectionName = (typeof PROJECTIONS)[number];

export class ModelError extends Error {}

export interface Layer {
  inputNorm: Tensor;
  postNorm: Tensor;
  qNorm: Tensor | null;
  kNorm: Tensor | null;
  proj: Record<ProjectionName, Projection>;
}

export interface ForwardOptions {
  /** (B) left padding per row (keys before it are masked, positions count from it). Default 0. */
  pad?: Int32Array;
  /** Continue a cached sequence: new keys/values are appended (no gradient through the cache). */
  cache?: KVCache;
  /** Logits only for the last position of each row (sampling): output (B, 1, V). */
  lastOnly?: boolean;
}

/** A base weight: F32, or a frozen 16-bit matrix (linear / embedding weights of a bf16/f16 checkpoint). */
export type BaseWeight = Tensor | Tensor16;

export class Transformer {
  readonly config: ModelConfig;
  /** Every parameter by HF name (base weights; LoRA weights live on the projections). */
  readonly params = new Map<string, BaseWeight>();
  readonly embed: BaseWeight;
  readonly layers: Layer[] = [];
  readonly finalNorm: Tensor;
  readonly lmHead: Projection;
  readonly rope: RopeTable;
  readonly mode: ForwardMode = { adapters: true, training: false, rng: null };

  /**
   * Builds the model over checked tensors (shared, not copied). Linear and embedding weights may come
   * as 16-bit bits (NamedTensor16): they stay so, frozen. Call outside any engine scope().
   */
  constructor(config: ModelConfig, tensors: Map<string, NamedTensor | NamedTensor16>, where = 'checkpoint') {
    this.config = config;
    const checked = checkWeights(config, tensors, where);
    for (const [name, t] of checked) this.params.set(name, 'bits' in t ? new Tensor16(t.dtype, t.bits, t.shape, name) : tensor(t.data, t.shape, { name }));
    const p = (name: string) => this.params.get(name)!;
    // Norms and biases are always F32 (checkWeights refuses them at 16 bits).
    const f32 = (name: string) => this.params.get(name) as Tensor;
    const opt = (name: string) => (this.params.get(name) as Tensor | undefined) ?? null;
    this.embed = p('model.embed_tokens.weight');
    for (let l = 0; l < config.numLayers; l++) {
      const pre = `model.layers.${l}.`;
      const mk = (sub: string, name: ProjectionName) => new Projection(`${pre}${sub}.${name}`, p(`${pre}${sub}.${name}.weight`), opt(`${pre}${sub}.${name}.bias`));
      this.layers.push({
        inputNorm: f32(`${pre}input_layernorm.weight`),
        postNorm: f32(`${pre}post_attention_layernorm.weight`),
        qNorm: opt(`${pre}self_attn.q_norm.weight`),
        kNorm: opt(`${pre}self_attn.k_norm.weight`),
        proj: {
          q_proj: mk('self_attn', 'q_proj'), k_proj: mk('self_attn', 'k_proj'), v_proj: mk('self_attn', 'v_proj'), o_proj: mk('self_attn', 'o_proj'),
          gate_proj: mk('mlp', 'gate_proj'), up_proj: mk('mlp', 'up_proj'), down_proj: mk('mlp', 'down_proj'),
        },
      });
    }
    this.finalNorm = f32('model.norm.weight');
    this.lmHead = new Projection('lm_head', config.tieWordEmbeddings ? this.embed : p('lm_head.weight'), null);
    this.rope = new RopeTable(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  /** Base weights as HF-named F32 tensors (for saving; 16-bit weights are widened, exactly). */
  stateDict(): Map<string, NamedTensor> {
    const out = new Map<string, NamedTensor>();
    for (const [name, t] of this.params) out.set(name, { shape: [...t.shape], data: t instanceof Tensor16 ? t.toFloat32() : t.data });
    return out;
  }

  /** The storage of the frozen linear/embedding weights: "f32", or "bf16" / "f16" when any is 16-bit. */
  get weightsDtype(): 'f32' | 'bf16' | 'f16' {
    for (const t of this.params.values()) if (t instanceof Tensor16) return t.dtype;
    return 'f32';
  }

  /** Whether gradients flow into the base weights (full fine-tuning / gradient checks) or not (LoRA). */
  setBaseTrainable(on: boolean): void {
    if (on && this.weightsDtype !== 'f32')
      throw new ModelError(`the base weights are ${this.weightsDtype} (frozen); training them needs F32 weights: load the model with --weights-dtype f32`);
    for (const t of this.params.values()) if (!(t instanceof Tensor16)) t.requiresGrad = on;
  }

  /** Training mode turns LoRA dropout on, drawing masks from rng. */
  train(on: boolean, rng: Rng | null = null): void {
    this.mode.training = on;
    this.mode.rng = rng;
  }

  /** Run fn with the LoRA adapters off: the base (reference) policy, without a second copy of the weights. */
  withoutAdapters<T>(fn: () => T): T {
    const prev = this.mode.adapters;
    this.mode.adapters = false;
    try {
      return fn();
    } finally {
      this.mode.adapters = prev;
    }
  }

  /** Creates an empty cache for `batch` rows of up to `capacity` tokens. */
  newCache(batch: number, capacity: number, pad?: Int32Array): KVCache {
    return new KVCache(batch, capacity, this.config.numLayers, this.config.numKvHeads, this.config.headDim, pad ?? new Int32Array(batch));
  }

  /**
   * ids (B·T) row-major → logits (B, T, V), or (B, 1, V) with lastOnly.
   * Row b's real tokens start at pad[b] (left padding); their positions are 0, 1, ….
   */
  forward(ids: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    const c = this.config;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1 || ids.length !== B * T)
      throw new ModelError(`forward: ${ids.length} ids do not form a (B=${B}, T=${T}) batch`);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < c.vocabSize)) throw new ModelError(`forward: token id ${id} at index ${i} is outside the vocabulary (0..${c.vocabSize - 1})`);
    }
    const cache = opts.cache;
    if (cache) {
      if (cache.batch !== B) throw new ModelError(`forward: cache holds ${cache.batch} rows but the batch has ${B}`);
      return noGrad(() => this.run(ids, B, T, cache.pad, cache, opts.lastOnly ?? false));
    }
    const pad = opts.pad ?? new Int32Array(B);
    if (pad.length !== B) throw new ModelError(`forward: pad has ${pad.length} entries for a batch of ${B}`);
    return this.run(ids, B, T, pad, null, opts.lastOnly ?? false);
  }

  private run(ids: Int32Array, B: number, T: number, pad: Int32Array, cache: KVCache | null, lastOnly: boolean): Tensor {
    const c = this.config;
    const start = cache ? cache.length : 0;
    const Tk = cache ? cache.capacity : T;
    if (start + T > Tk) throw new ModelError(`forward: ${start} cached + ${T} new tokens exceed the cache capacity ${Tk}`);
    // Positions (B·T): slot minus the row's padding; padding slots get 0 (they are masked anyway).
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = Math.max(0, start + t - pad[b]!);
    this.rope.ensure(start + T);
    const table = { cos: this.rope.cos, sin: this.rope.sin };
    const qStart = new Int32Array(B).fill(start);
    const mode = this.mode;
    // Queries on padding slots (prefill of left-padded rows) attend to nothing; the attention op
    // does not take such rows, so those batches go row by row (see attentionPerRow).
    let paddingQueries = false;
    for (let b = 0; b < B; b++) if (pad[b]! > start) paddingQueries = true;
    const { numHeads: Hq, numKvHeads: Hkv, headDim: D, rmsNormEps: eps } = c;

    let x = embedding(this.embed, ids); // (B·T, hidden)
    this.layers.forEach((L, li) => {
      const h = rmsnorm(x, L.inputNorm, eps);
      let q = reshape(L.proj.q_proj.forward(h, mode), [B, T, Hq, D]);
      let k = reshape(L.proj.k_proj.forward(h, mode), [B, T, Hkv, D]);
      const v = reshape(L.proj.v_proj.forward(h, mode), [B, T, Hkv, D]);
      if (L.qNorm) q = rmsnorm(q, L.qNorm, eps);
      if (L.kNorm) k = rmsnorm(k, L.kNorm, eps);
      q = rope(q, positions, table);
      k = rope(k, positions, table);
      let kAll = k;
      let vAll = v;
      if (cache) {
        cache.write(li, k.data, v.data, T);
        kAll = tensor(cache.k[li]!, [B, Tk, Hkv, D]);
        vAll = tensor(cache.v[li]!, [B, Tk, Hkv, D]);
      }
      const a = paddingQueries ? attentionPerRow(q, kAll, vAll, start, pad) : attention(q, kAll, vAll, { qStart, kStart: pad });
      x = L.proj.o_proj.forward(reshape(a, [B * T, Hq * D]), mode, x);
      const h2 = rmsnorm(x, L.postNorm, eps);
      const m = swiglu(L.proj.gate_proj.forward(h2, mode), L.proj.up_proj.forward(h2, mode));
      x = L.proj.down_proj.forward(m, mode, x);
    });
    if (cache) cache.advance(T);
    let hidden = reshape(x, [B, T, c.hiddenSize]);
    if (lastOnly && T > 1) hidden = slice(hidden, 1, T - 1, T);
    const Tout = lastOnly ? 1 : T;
    const xf = rmsnorm(hidden, this.finalNorm, eps);
    return reshape(this.lmHead.forward(xf, mode), [B, Tout, c.vocabSize]);
  }
}

/**
 * Attention for a batch where some rows start with padding queries: each row attends on its own,
 * from its first real token, and padding queries get zeros. q (B, T, Hq, D); k, v (B, Tk, Hkv, D);
 * the T queries sit at key slots start..start+T-1.
 */
function attentionPerRow(q: Tensor, k: Tensor, v: Tensor, start: number, pad: Int32Array): Tensor {
  const [B, T, Hq, D] = q.shape as [number, number, number, number];
  const rows: Tensor[] = [];
  for (let b = 0; b < B; b++) {
    const off = Math.min(T, Math.max(0, pad[b]! - start));
    const parts: Tensor[] = [];
    if (off > 0) parts.push(zeros([1, off, Hq, D]));
    if (off < T) {
      const qb = slice(slice(q, 0, b, b + 1), 1, off, T);
      const kb = slice(k, 0, b, b + 1);
      const vb = slice(v, 0, b, b + 1);
      parts.push(attention(qb, kb, vb, { qStart: Int32Array.of(start + off), kStart: Int32Array.of(pad[b]!) }));
    }
    rows.push(parts.length === 1 ? parts[0]! : concat(parts, 1));
  }
  return B === 1 ? rows[0]! : concat(rows, 0);
}
