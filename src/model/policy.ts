/**
 * The policy engine (DESIGN.md's seam between training and compute) over a local Transformer:
 * sampling, teacher-forced log-probs, forward/backward of a loss on completion log-probs,
 * AdamW with global-norm clipping, and adapters / training state on disk.
 *
 * Trainable weights are the LoRA adapter's (or every base weight with `full`). When training
 * continues from an existing adapter (e.g. the SFT stage), that adapter is merged into the base
 * and a fresh adapter is trained on top, so disabling the adapter gives exactly the policy RFT
 * started from (the KL reference); saved adapters fold both into one PEFT adapter against the
 * original base, so they deploy anywhere the base loads.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, add, backward, mul, noGrad, Rng, scope, sum, tensor, Tensor16, type Tensor } from '../engine/index.js';
import type { ChatMessage as RowMessage, Tool } from '../contracts/row.js';
import type { ChatTokenizer } from '../contracts/tokenizer.js';
import type { LossFn, OptimParams, PolicyEngine, Sample, SampleRequest, Sequence } from '../contracts/policy-engine.js';
import type { Transformer } from './transformer.js';
import type { ModelTokenizer, ChatMessage } from './tokenizer.js';
import { addLora, getAdapter, loadAdapter, mergeLora, saveAdapter as savePeftAdapter, withMergedAdapter, type LoraConfig, type LoraAdapter } from './lora.js';
import { sample } from './sampler.js';
import { completionLogprobs, logprobs } from './logprobs.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from './safetensors.js';
import { saveModel } from './load.js';

export interface TransformerPolicyOptions {
  /** LoRA settings of the adapter to train; ignored with `full`. */
  lora?: LoraConfig;
  /** Train every base weight instead of an adapter. */
  full?: boolean;
  /** An adapter to start from: merged into the base (it becomes part of the reference). */
  initAdapter?: string;
  /** Where the base model came from (written into adapter_config.json as base_model_name_or_path). */
  baseModelPath?: string;
  seed: number;
  /** Padded tokens per forward pass; larger batches are split (memory bound on (tokens, vocab) logits). */
  maxBatchTokens?: number;
  /**
   * Sample with the adapter merged into per-call F32 copies of the weights (withMergedAdapter) instead
   * of two extra LoRA products per projection per token. "auto" (default): on for an F32 base; off for
   * a 16-bit base, whose F32 copies would double the bytes streamed per token.
   */
  mergedRollouts?: 'auto' | 'on' | 'off';
}

/** The model layer's tokenizer seen through the rollout contract. */
export function chatTokenizer(tok: ModelTokenizer): ChatTokenizer {
  return {
    encode: (text) => tok.encode(text, { addSpecialTokens: false }),
    decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
    applyChatTemplate: (messages: RowMessage[], opts: { addGenerationPrompt: boolean; tools?: Tool[] }) =>
      tok.encodeChat(messages as unknown as ChatMessage[], { addGenerationPrompt: opts.addGenerationPrompt, tools: opts.tools }),
    stopTokenIds: tok.eosTokenIds,
  };
}

export class TransformerPolicy implements PolicyEngine {
  private readonly trainable: Tensor[];
  private optimizer: AdamW;
  /** Forward/backward calls so far: seeds LoRA dropout so a resumed run draws the same masks. */
  private fbCalls = 0;
  /** The adapter merged into the base at start (kept to fold into saved adapters). */
  private readonly initial: { config: LoraConfig; tensors: Map<string, NamedTensor> } | null = null;
  private readonly adapter: LoraAdapter | null;
  /** The reference policy's trainable weights, once there are some to keep (see asReference). */
  private refWeights: Float32Array[] | null = null;

  constructor(readonly model: Transformer, readonly tokenizer: ModelTokenizer, readonly opts: TransformerPolicyOptions) {
    if (opts.initAdapter) {
      const a = loadAdapter(model, opts.initAdapter);
      this.initial = { config: a.config, tensors: new Map([...a.stateDict()].map(([k, t]) => [k, { shape: [...t.shape], data: Float32Array.from(t.data) }])) };
      mergeLora(model);
    }
    if (opts.full) {
      model.setBaseTrainable(true); // throws for 16-bit base weights: full training is F32
      this.adapter = null;
      this.trainable = [...model.params.values()].filter((t): t is Tensor => !(t instanceof Tensor16));
    } else {
      if (!opts.lora) throw new Error('TransformerPolicy: give a LoRA config, or full: true');
      const missing = this.initial?.config.targetModules.filter((m) => !opts.lora!.targetModules.includes(m)) ?? [];
      if (missing.length) {
        throw new Error(`the starting adapter ${opts.initAdapter} adapts ${missing.join(', ')}, which the new adapter does not target; add them to --target-modules so the two can be saved as one adapter`);
      }
      model.setBaseTrainable(false);
      this.adapter = addLora(model, opts.lora, new Rng(opts.seed));
      this.trainable = this.adapter.parameters();
    }
    this.optimizer = new AdamW(this.trainable, { lr: 0, weightDecay: 0 });
  }

  /** Whether sample() merges the adapter into the weights (see TransformerPolicyOptions.mergedRollouts). */
  get mergedRollouts(): boolean {
    const m = this.opts.mergedRollouts ?? 'auto';
    if (!this.adapter || m === 'off') return false;
    return m === 'on' || this.model.weightsDtype === 'f32';
  }

  get chat(): ChatTokenizer {
    return chatTokenizer(this.tokenizer);
  }

  async sample(req: SampleRequest): Promise<Sample[]> {
    const prompts: number[][] = [];
    for (const p of req.prompts) for (let i = 0; i < req.n; i++) prompts.push(p);
    this.model.train(false);
    const run = () =>
      sample(this.model, prompts, {
        maxNewTokens: req.maxNewTokens,
        temperature: req.temperature,
        topP: req.topP,
        topK: req.topK,
        stopTokenIds: req.stopTokens,
        stopStrings: req.stopStrings,
        seed: req.seed,
        tokenizer: this.tokenizer,
      });
    const out = req.reference ? this.asReference(run) : this.mergedRollouts ? withMergedAdapter(this.model, run) : run();
    return out.map((s, i) => ({ prompt: Math.floor(i / req.n), tokens: s.tokens, logprobs: s.logprobs, finishReason: s.finishReason }));
  }

  async logprobs(seqs: Sequence[], opts: { reference?: boolean; temperature?: number } = {}): Promise<Float32Array[]> {
    this.model.train(false);
    const run = () => logprobs(this.model, seqs, { temperature: opts.temperature, maxTokens: this.opts.maxBatchTokens });
    const out = opts.reference ? this.asReference(run) : run();
    return out.map((l) => Float32Array.from(l));
  }

  /**
   * Runs fn as the reference policy. Until a reset that is the policy training started from:
   * the adapter disabled (LoRA), or for full weights the weights before the first update (copied
   * when first asked for, which must be before any update). After resetReference() it is the
   * trainable weights as they were at the reset, swapped in for the duration of fn.
   */
  private asReference<T>(fn: () => T): T {
    if (!this.refWeights && this.opts.full) {
      if (this.optimizer.stepCount > 0) {
        throw new Error('the reference policy of a full-weight run is its starting weights, which were not kept (a resumed run from an older checkpoint?); train with --kl-beta 0, or start the run again');
      }
      this.refWeights = this.trainable.map((t) => Float32Array.from(t.data));
    }
    if (!this.refWeights) return this.model.withoutAdapters(fn);
    const saved = this.trainable.map((t) => Float32Array.from(t.data));
    this.trainable.forEach((t, i) => t.data.set(this.refWeights![i]!));
    try {
      return fn();
    } finally {
      this.trainable.forEach((t, i) => t.data.set(saved[i]!));
    }
  }

  /** ProRL's reference reset: the current weights become the reference; AdamW's moments restart. */
  async resetReference(): Promise<void> {
    this.refWeights = this.trainable.map((t) => Float32Array.from(t.data));
    for (const st of this.optimizer.state) {
      st.m.fill(0);
      st.v.fill(0);
    }
    this.optimizer.stepCount = 0;
  }

  /** Log-probs and entropies of each completion token, without gradient (eval mode). */
  private valuesWithEntropy(seqs: Sequence[], temperature: number): { values: Float32Array[]; entropies: Float32Array[] } {
    this.model.train(false);
    const values: Float32Array[] = [];
    const entropies: Float32Array[] = [];
    for (const chunk of this.chunks(seqs)) {
      noGrad(() => scope(() => {
        const r = completionLogprobs(this.model, chunk, { temperature, withEntropy: true });
        const d = r.logprobs.data;
        for (const rows of r.index) {
          values.push(Float32Array.from(rows, (k) => d[k]!));
          entropies.push(Float32Array.from(rows, (k) => r.entropy![k]!));
        }
      }));
    }
    return { values, entropies };
  }

  /** Splits sequences into chunks of at most maxBatchTokens padded tokens. */
  private chunks(seqs: Sequence[]): Sequence[][] {
    const max = this.opts.maxBatchTokens ?? 8192;
    const out: Sequence[][] = [];
    let cur: Sequence[] = [];
    let longest = 0;
    for (const s of seqs) {
      const len = s.prompt.length + s.completion.length;
      if (cur.length && Math.max(longest, len) * (cur.length + 1) > max) {
        out.push(cur);
        cur = [];
        longest = 0;
      }
      cur.push(s);
      longest = Math.max(longest, len);
    }
    if (cur.length) out.push(cur);
    return out;
  }

  async forwardBackward(seqs: Sequence[], loss: LossFn, opts: { temperature?: number } = {}): Promise<{ loss: number; entropy: number }> {
    const temperature = opts.temperature ?? 1;
    const chunks = this.chunks(seqs);
    const dropoutSeed = (this.opts.seed * 7919 + ++this.fbCalls) >>> 0;
    let entSum = 0;
    let entN = 0;
    type Grads = { dlogp: ArrayLike<number>[]; dentropy?: ArrayLike<number>[] };
    // Forward + backward of one chunk, given the upstream dLoss/dlogp (and dLoss/dentropy) for its sequences.
    const backwardChunk = (chunk: Sequence[], ci: number, grads: () => Grads | null, values?: Float32Array[], entropies?: Float32Array[]) =>
      scope(() => {
        this.model.train(true, new Rng((dropoutSeed + ci * 104729) >>> 0));
        try {
          const r = completionLogprobs(this.model, chunk, { temperature, entropyGrad: true });
          const d = r.logprobs.data;
          r.index.forEach((rows) => rows.forEach((k) => {
            entSum += r.entropy![k];
            entN++;
          }));
          if (values) r.index.forEach((rows) => values.push(Float32Array.from(rows, (k) => d[k])));
          if (entropies) r.index.forEach((rows) => entropies.push(Float32Array.from(rows, (k) => r.entropy![k])));
          const g = grads();
          if (!g) return;
          const upstream = new Float32Array(d.length);
          r.index.forEach((rows, b) => rows.forEach((k, j) => (upstream[k] = g.dlogp[b][j])));
          if (!g.dentropy) {
            backward(r.logprobs, upstream);
            return;
          }
          // The loss depends on the entropies too: one backward of Σ up·logp + Σ upH·H.
          const upH = new Float32Array(d.length);
          r.index.forEach((rows, b) => rows.forEach((k, j) => (upH[k] = g.dentropy![b][j])));
          const shape = [...r.logprobs.shape];
          backward(add(sum(mul(r.logprobs, tensor(upstream, shape))), sum(mul(r.entropyTensor!, tensor(upH, shape)))));
        } finally {
          this.model.train(false);
        }
      });

    if (chunks.length === 1) {
      // One pass: the values the loss needs come from the same forward that is back-propagated.
      const values: Float32Array[] = [];
      const entropies: Float32Array[] = [];
      let value = 0;
      backwardChunk(chunks[0], 0, () => {
        const out = loss(values, entropies);
        value = out.loss;
        return out;
      }, values, entropies);
      return { loss: value, entropy: entN ? entSum / entN : NaN };
    }
    // Several chunks: the loss couples all sequences, so take every value first (no gradient),
    // then back-propagate chunk by chunk.
    const { values, entropies } = this.valuesWithEntropy(seqs, temperature);
    const out = loss(values, entropies);
    let offset = 0;
    chunks.forEach((chunk, ci) => {
      const g = { dlogp: out.dlogp.slice(offset, offset + chunk.length), dentropy: out.dentropy?.slice(offset, offset + chunk.length) };
      offset += chunk.length;
      backwardChunk(chunk, ci, () => g);
    });
    return { loss: out.loss, entropy: entN ? entSum / entN : NaN };
  }

  async optimStep(p: OptimParams): Promise<{ gradNorm: number }> {
    let sq = 0;
    for (const t of this.trainable) if (t.grad) for (const g of t.grad) sq += g * g;
    const gradNorm = Math.sqrt(sq);
    if (!Number.isFinite(gradNorm)) {
      this.optimizer.zeroGrad();
      throw new Error(`optimStep: the gradient norm is ${gradNorm}; the step was skipped (lower the learning rate?)`);
    }
    if (p.maxGradNorm && gradNorm > p.maxGradNorm) {
      const c = p.maxGradNorm / (gradNorm + 1e-6);
      for (const t of this.trainable) if (t.grad) for (let i = 0; i < t.grad.length; i++) t.grad[i] *= c;
    }
    const o = this.optimizer;
    o.lr = p.lr;
    o.beta1 = p.beta1 ?? 0.9;
    o.beta2 = p.beta2 ?? 0.999;
    o.eps = p.eps ?? 1e-8;
    o.weightDecay = p.weightDecay ?? 0;
    o.step();
    o.zeroGrad();
    return { gradNorm };
  }

  /** PEFT adapter against the original base (the initial adapter folded in), or a full checkpoint with `full`. */
  async saveAdapter(dir: string): Promise<void> {
    if (this.opts.full) {
      noGrad(() => saveModel(this.model, dir, { tokenizerFrom: this.opts.baseModelPath }));
      return;
    }
    if (!this.initial) {
      savePeftAdapter(this.model, dir, { baseModel: this.opts.baseModelPath });
      return;
    }
    // ΔW = s₁·B₁A₁ + s₂·B₂A₂ = [s₁B₁ | s₂B₂]·[A₁; A₂]: one adapter of rank r₁ + r₂ with scaling 1
    // (alpha = rank), exact, on every module either adapter touches.
    writeCombinedAdapter(dir, this.initial, this.adapter!, this.opts.baseModelPath);
  }

  async loadAdapter(dir: string): Promise<void> {
    if (this.opts.full) throw new Error('loadAdapter: this policy trains full weights; load a checkpoint with loadModel instead');
    const cfg = this.adapter!.config;
    const { tensors } = readSafetensors(join(dir, 'adapter_model.safetensors'));
    for (const p of this.adapter!.projections) {
      for (const [suffix, t] of [['lora_A', p.lora!.A], ['lora_B', p.lora!.B]] as const) {
        const name = `base_model.model.${p.name}.${suffix}.weight`;
        const src = tensors.get(name);
        if (!src || src.data.length !== t.size) throw new Error(`loadAdapter: ${dir} has no ${name} of ${t.size} values (rank ${cfg.r}); was it saved by this run?`);
        t.data.set(src.data);
      }
    }
  }

  async saveTrainingState(dir: string): Promise<void> {
    const tensors = new Map<string, NamedTensor>();
    this.trainable.forEach((t, i) => {
      tensors.set(`param.${i}`, { shape: [...t.shape], data: t.data });
      tensors.set(`adam_m.${i}`, { shape: [...t.shape], data: this.optimizer.state[i].m });
      tensors.set(`adam_v.${i}`, { shape: [...t.shape], data: this.optimizer.state[i].v });
      if (this.refWeights) tensors.set(`ref.${i}`, { shape: [...t.shape], data: this.refWeights[i]! });
    });
    writeSafetensors(join(dir, 'training_state.safetensors'), tensors);
    writeFileSync(join(dir, 'training_state.json'), JSON.stringify({ step: this.optimizer.stepCount, forward_backward_calls: this.fbCalls, params: this.trainable.length }) + '\n');
  }

  async loadTrainingState(dir: string): Promise<void> {
    const meta = join(dir, 'training_state.json');
    if (!existsSync(meta)) throw new Error(`${dir} has no training_state.json; it is not a checkpoint of this kind of run`);
    const j = JSON.parse(readFileSync(meta, 'utf8'));
    if (j.params !== this.trainable.length) throw new Error(`${dir} holds ${j.params} trainable tensors, this policy has ${this.trainable.length} (different LoRA settings?)`);
    const { tensors } = readSafetensors(join(dir, 'training_state.safetensors'));
    this.trainable.forEach((t, i) => {
      for (const [name, dst] of [[`param.${i}`, t.data], [`adam_m.${i}`, this.optimizer.state[i].m], [`adam_v.${i}`, this.optimizer.state[i].v]] as const) {
        const src = tensors.get(name);
        if (!src || src.data.length !== dst.length) throw new Error(`${dir}: ${name} is missing or has the wrong size`);
        dst.set(src.data);
      }
    });
    this.refWeights = tensors.has('ref.0') ? this.trainable.map((t, i) => Float32Array.from(tensors.get(`ref.${i}`)!.data)) : null;
    if (this.refWeights?.some((r, i) => r.length !== this.trainable[i]!.size)) throw new Error(`${dir}: the reference weights have the wrong size`);
    this.optimizer.stepCount = j.step;
    this.fbCalls = j.forward_backward_calls;
    this.optimizer.zeroGrad();
  }
}

function writeCombinedAdapter(dir: string, initial: { config: LoraConfig; tensors: Map<string, NamedTensor> }, current: LoraAdapter, baseModel?: string): void {
  const s1 = initial.config.useRslora ? initial.config.alpha / Math.sqrt(initial.config.r) : initial.config.alpha / initial.config.r;
  const r1 = initial.config.r;
  const r2 = current.config.r;
  const rank = r1 + r2;
  const targets = new Set(current.config.targetModules);
  for (const key of initial.tensors.keys()) {
    const m = /\.(\w+_proj)\.lora_A\.weight$/.exec(key);
    if (m && !targets.has(m[1] as never)) {
      throw new Error(`cannot fold the starting adapter into the new one: it adapts ${m[1]}, which the new adapter does not target; add it to --target-modules`);
    }
  }
  const out = new Map<string, NamedTensor>();
  for (const p of current.projections) {
    const l = p.lora!;
    const s2 = l.scaling;
    const name = `base_model.model.${p.name}`;
    const A1 = initial.tensors.get(`${name}.lora_A.weight`);
    const B1 = initial.tensors.get(`${name}.lora_B.weight`);
    const inF = p.inFeatures;
    const outF = p.outFeatures;
    const A = new Float32Array(rank * inF);
    const B = new Float32Array(outF * rank);
    if (A1 && B1) {
      A.set(A1.data, 0);
      for (let o = 0; o < outF; o++) for (let k = 0; k < r1; k++) B[o * rank + k] = s1 * B1.data[o * r1 + k];
    }
    A.set(l.A.data, r1 * inF);
    for (let o = 0; o < outF; o++) for (let k = 0; k < r2; k++) B[o * rank + r1 + k] = s2 * l.B.data[o * r2 + k];
    out.set(`${name}.lora_A.weight`, { shape: [rank, inF], data: A });
    out.set(`${name}.lora_B.weight`, { shape: [outF, rank], data: B });
  }
  writeSafetensors(join(dir, 'adapter_model.safetensors'), out);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: baseModel ?? null,
    r: rank, lora_alpha: rank, lora_dropout: current.config.dropout, target_modules: [...current.config.targetModules],
    bias: 'none', fan_in_fan_out: false, use_rslora: false, inference_mode: true,
  }, null, 2) + '\n');
}
