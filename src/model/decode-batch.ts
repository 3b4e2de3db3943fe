/**
 * Step-wise decoding for continuous batching: a set of sequences, each at its own length, that
 * join (after a prefill) and leave between decode steps, each with its own LoRA adapter or none.
 *
 * The key/value store is one buffer per layer of shape (rowsCap, Tcap, Hkv, D); the B active rows
 * are rows 0..B-1 (a leaving row is replaced by the last row, so the active rows stay contiguous
 * and the attention kernel sees a (B, Tcap, Hkv, D) batch). Row b's query at decode time sits at
 * key slot len[b] (qStart), so the causal mask hides the unused slots after it: rows at different
 * lengths share one kernel call without padding.
 *
 * Several adapters at once: every projection runs the base weights on all rows, then each adapter
 * adds scaling·(x_g·Aᵀ)·Bᵀ on its own rows g (gathered, then scattered back) — per-row LoRA, one
 * base matmul per projection per step whatever the mix of adapters.
 */
import { attention, embedding, fusedLinear, linear, noGrad, reshape, rmsnorm, rope, scope, swiglu, tensor, type Tensor } from '../engine/index.js';
import { loadAdapter, removeLora, getAdapter, AdapterError } from './lora.js';
import type { LoraWeights, Projection } from './projection.js';
import { ModelError, type Transformer } from './transformer.js';

/** An adapter detached from the model: LoRA weights by projection name (e.g. "model.layers.0.self_attn.q_proj"). */
export interface DetachedAdapter {
  byProjection: Map<string, LoraWeights>;
}

/**
 * Reads a PEFT adapter folder into detached weights, leaving the model without an adapter.
 * The model must have no adapter attached (serving keeps adapters detached and applies them per row).
 */
export function readDetachedAdapter(model: Transformer, dir: string): DetachedAdapter {
  if (getAdapter(model)) throw new AdapterError('the model has an adapter attached; detached adapters need a bare base model');
  const adapter = loadAdapter(model, dir);
  const byProjection = new Map<string, LoraWeights>();
  for (const p of adapter.projections) {
    const l = p.lora!;
    // Inference only: no gradients into A and B.
    byProjection.set(p.name, { A: tensor(l.A.data, l.A.shape), B: tensor(l.B.data, l.B.shape), scaling: l.scaling, dropout: 0 });
  }
  removeLora(model);
  return { byProjection };
}

/** Runs fn with a detached adapter attached to the model's projections (synchronously), then detaches it. */
export function withDetachedAdapter<T>(model: Transformer, adapter: DetachedAdapter | null, fn: () => T): T {
  if (!adapter) return fn();
  const projs = allProjections(model);
  for (const p of projs) p.lora = adapter.byProjection.get(p.name) ?? null;
  try {
    return fn();
  } finally {
    for (const p of projs) p.lora = null;
  }
}

function allProjections(model: Transformer): Projection[] {
  return model.layers.flatMap((L) => Object.values(L.proj));
}

export interface PrefillResult {
  /** (V) logits after the last prompt token. */
  logits: Float32Array;
  /** Per layer, keys/values (P, Hkv, D). */
  k: Float32Array[];
  v: Float32Array[];
  length: number;
}

/** Runs a prompt through the model (with an optional adapter) and returns its cache and last logits. */
export function prefill(model: Transformer, ids: readonly number[], adapter: DetachedAdapter | null): PrefillResult {
  const P = ids.length;
  if (P === 0) throw new ModelError('prefill: the prompt is empty');
  return withDetachedAdapter(model, adapter, () => {
    const cache = model.newCache(1, P);
    const logits = noGrad(() => scope(() => model.forward(Int32Array.from(ids), 1, P, { cache, lastOnly: true }).data.slice()));
    return { logits, k: cache.k, v: cache.v, length: P };
  });
}

/**
 * Prefills several prompts in one batched forward (left-padded; all with the same adapter) and
 * returns each one's cache without its padding — one forward instead of one per prompt.
 */
export function prefillMany(model: Transformer, prompts: readonly (readonly number[])[], adapter: DetachedAdapter | null): PrefillResult[] {
  if (prompts.length === 1) return [prefill(model, prompts[0]!, adapter)];
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new ModelError(`prefill: prompt ${i} is empty`);
  });
  const B = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const pad = Int32Array.from(prompts, (p) => P - p.length);
  const ids = new Int32Array(B * P);
  prompts.forEach((p, b) => ids.set(p, b * P + pad[b]!));
  const V = model.config.vocabSize;
  const row = model.config.numKvHeads * model.config.headDim;
  return withDetachedAdapter(model, adapter, () => {
    const cache = model.newCache(B, P, pad);
    const logits = noGrad(() => scope(() => model.forward(ids, B, P, { cache, lastOnly: true }).data.slice()));
    return prompts.map((p, b) => {
      const from = (b * P + pad[b]!) * row;
      const to = (b + 1) * P * row;
      return { logits: logits.slice(b * V, (b + 1) * V), k: cache.k.map((k) => k.slice(from, to)), v: cache.v.map((v) => v.slice(from, to)), length: p.length };
    });
  });
}

/** A batch of sequences decoded together; rows are addressed by the index returned from join(). */
export class DecodeBatch {
  private k: Float32Array[];
  private v: Float32Array[];
  private rowsCap = 0;
  private tCap = 0;
  /** len[b] = tokens cached for active row b. */
  private len: number[] = [];
  private adapters: (DetachedAdapter | null)[] = [];
  /** Stable handles: handle → row index, and back. */
  private rowOf = new Map<number, number>();
  private handleAt: number[] = [];
  private nextHandle = 1;
  private readonly row: number;

  constructor(readonly model: Transformer, readonly maxLength: number) {
    const c = model.config;
    this.row = c.numKvHeads * c.headDim;
    this.k = Array.from({ length: c.numLayers }, () => new Float32Array(0));
    this.v = Array.from({ length: c.numLayers }, () => new Float32Array(0));
  }

  get size(): number {
    return this.len.length;
  }

  /** Bytes held by the key/value buffers. */
  get bytes(): number {
    return 2 * this.k.length * this.rowsCap * this.tCap * this.row * 4;
  }

  lengthOf(handle: number): number {
    return this.len[this.index(handle)]!;
  }

  private index(handle: number): number {
    const i = this.rowOf.get(handle);
    if (i === undefined) throw new ModelError(`decode batch: no sequence ${handle}`);
    return i;
  }

  /** Grows the buffers to hold `rows` rows of `t` slots (doubling, so growth is amortised). */
  private reserve(rows: number, t: number): void {
    if (rows <= this.rowsCap && t <= this.tCap) return;
    const newRows = Math.max(rows, this.rowsCap, rows > this.rowsCap ? this.rowsCap * 2 : 0, 1);
    const newT = Math.min(this.maxLength, Math.max(t, this.tCap, t > this.tCap ? this.tCap * 2 : 0, 16));
    if (t > newT) throw new ModelError(`decode batch: ${t} tokens exceed the maximum length ${this.maxLength}`);
    const slab = newT * this.row;
    const oldSlab = this.tCap * this.row;
    for (let l = 0; l < this.k.length; l++) {
      const k = new Float32Array(newRows * slab);
      const v = new Float32Array(newRows * slab);
      for (let b = 0; b < this.len.length; b++) {
        const used = this.len[b]! * this.row;
        k.set(this.k[l]!.subarray(b * oldSlab, b * oldSlab + used), b * slab);
        v.set(this.v[l]!.subarray(b * oldSlab, b * oldSlab + used), b * slab);
      }
      this.k[l] = k;
      this.v[l] = v;
    }
    this.rowsCap = newRows;
    this.tCap = newT;
  }

  /** Adds a sequence from a prefill (shared by `copies` rows, e.g. n > 1); returns one handle per copy. */
  join(p: PrefillResult, adapter: DetachedAdapter | null, copies = 1): number[] {
    if (p.length >= this.maxLength) throw new ModelError(`decode batch: a prompt of ${p.length} tokens leaves no room under the maximum length ${this.maxLength}`);
    this.reserve(this.len.length + copies, p.length + 1);
    const slab = this.tCap * this.row;
    const used = p.length * this.row;
    const handles: number[] = [];
    for (let c = 0; c < copies; c++) {
      const b = this.len.length;
      for (let l = 0; l < this.k.length; l++) {
        this.k[l]!.set(p.k[l]!.subarray(0, used), b * slab);
        this.v[l]!.set(p.v[l]!.subarray(0, used), b * slab);
      }
      this.len.push(p.length);
      this.adapters.push(adapter);
      const h = this.nextHandle++;
      this.rowOf.set(h, b);
      this.handleAt.push(h);
      handles.push(h);
    }
    return handles;
  }

  /** Removes a sequence; the last row moves into its place. */
  leave(handle: number): void {
    const b = this.index(handle);
    const last = this.len.length - 1;
    if (b !== last) {
      const slab = this.tCap * this.row;
      const used = this.len[last]! * this.row;
      for (let l = 0; l < this.k.length; l++) {
        this.k[l]!.copyWithin(b * slab, last * slab, last * slab + used);
        this.v[l]!.copyWithin(b * slab, last * slab, last * slab + used);
      }
      this.len[b] = this.len[last]!;
      this.adapters[b] = this.adapters[last]!;
      const moved = this.handleAt[last]!;
      this.handleAt[b] = moved;
      this.rowOf.set(moved, b);
    }
    this.len.pop();
    this.adapters.pop();
    this.handleAt.pop();
    this.rowOf.delete(handle);
  }

  /**
   * One decode step: feeds tokens[handle] to each listed sequence (every active sequence must be
   * listed) and returns its next-token logits (V) by handle.
   */
  step(tokens: Map<number, number>): Map<number, Float32Array> {
    const B = this.len.length;
    if (tokens.size !== B) throw new ModelError(`decode batch: step got ${tokens.size} tokens for ${B} sequences`);
    const out = new Map<number, Float32Array>();
    if (B === 0) return out;
    const maxLen = Math.max(...this.len);
    if (maxLen + 1 > this.maxLength) throw new ModelError(`decode batch: a sequence reached the maximum length ${this.maxLength}`);
    this.reserve(B, maxLen + 1);
    const ids = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const t = tokens.get(this.handleAt[b]!);
      if (t === undefined) throw new ModelError(`decode batch: no token for sequence ${this.handleAt[b]}`);
      ids[b] = t;
    }
    const V = this.model.config.vocabSize;
    const logits = noGrad(() => scope(() => this.forward(ids).data.slice()));
    for (let b = 0; b < B; b++) out.set(this.handleAt[b]!, logits.subarray(b * V, (b + 1) * V));
    for (let b = 0; b < B; b++) this.len[b]!++;
    return out;
  }

  /** ids (B) at slots len[b] → logits (B, V). */
  private forward(ids: Int32Array): Tensor {
    const m = this.model;
    const c = m.config;
    const B = ids.length;
    for (let i = 0; i < B; i++) if (!(ids[i]! >= 0 && ids[i]! < c.vocabSize)) throw new ModelError(`decode batch: token id ${ids[i]} is outside the vocabulary`);
    const { numHeads: Hq, numKvHeads: Hkv, headDim: D, rmsNormEps: eps } = c;
    const positions = Int32Array.from(this.len);
    m.rope.ensure(Math.max(...this.len) + 1);
    const table = { cos: m.rope.cos, sin: m.rope.sin };
    const qStart = Int32Array.from(this.len);
    const kStart = new Int32Array(B);
    // Rows of each adapter, for per-row LoRA.
    const groups = new Map<DetachedAdapter, number[]>();
    this.adapters.forEach((a, b) => {
      if (!a) return;
      const g = groups.get(a);
      if (g) g.push(b);
      else groups.set(a, [b]);
    });
    const proj = (p: Projection, h: Tensor, residual: Tensor | null = null): Tensor => projectPerRow(p, h, groups, residual);
    const slab = this.tCap * this.row;
    let x = embedding(m.embed, ids); // (B, hidden)
    m.layers.forEach((L, li) => {
      const h = rmsnorm(x, L.inputNorm, eps);
      let q = reshape(proj(L.proj.q_proj, h), [B, 1, Hq, D]);
      let k = reshape(proj(L.proj.k_proj, h), [B, 1, Hkv, D]);
      const v = reshape(proj(L.proj.v_proj, h), [B, 1, Hkv, D]);
      if (L.qNorm) q = rmsnorm(q, L.qNorm, eps);
      if (L.kNorm) k = rmsnorm(k, L.kNorm, eps);
      q = rope(q, positions, table);
      k = rope(k, positions, table);
      const K = this.k[li]!;
      const Vb = this.v[li]!;
      const kd = k.data;
      const vd = v.data;
      for (let b = 0; b < B; b++) {
        K.set(kd.subarray(b * this.row, (b + 1) * this.row), b * slab + this.len[b]! * this.row);
        Vb.set(vd.subarray(b * this.row, (b + 1) * this.row), b * slab + this.len[b]! * this.row);
      }
      const kAll = tensor(K.subarray(0, B * slab), [B, this.tCap, Hkv, D]);
      const vAll = tensor(Vb.subarray(0, B * slab), [B, this.tCap, Hkv, D]);
      const a = attention(q, kAll, vAll, { qStart, kStart });
      x = proj(L.proj.o_proj, reshape(a, [B, Hq * D]), x);
      const h2 = rmsnorm(x, L.postNorm, eps);
      const mm = swiglu(proj(L.proj.gate_proj, h2), proj(L.proj.up_proj, h2));
      x = proj(L.proj.down_proj, mm, x);
    });
    const xf = rmsnorm(x, m.finalNorm, eps);
    return linear(xf, m.lmHead.weight, m.lmHead.bias);
  }
}

/** h (B, in) → (B, out) (+ residual): base weights on every row, plus each adapter's LoRA term on its rows. */
function projectPerRow(p: Projection, h: Tensor, groups: Map<DetachedAdapter, number[]>, residual: Tensor | null): Tensor {
  const y = fusedLinear(h, p.weight, { bias: p.bias, residual });
  if (groups.size === 0) return y;
  const inF = p.inFeatures;
  const outF = p.outFeatures;
  const hd = h.data;
  const yd = y.data;
  for (const [adapter, rows] of groups) {
    const l = adapter.byProjection.get(p.name);
    if (!l) continue;
    const xg = new Float32Array(rows.length * inF);
    rows.forEach((b, i) => xg.set(hd.subarray(b * inF, (b + 1) * inF), i * inF));
    const d = linear(linear(tensor(xg, [rows.length, inF]), l.A), l.B).data; // (G, out)
    rows.forEach((b, i) => {
      const o = b * outF;
      for (let j = 0; j < outF; j++) yd[o + j]! += l.scaling * d[i * outF + j]!;
    });
  }
  return y;
}
