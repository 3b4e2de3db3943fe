/**
 * LoRA adapters on the decoder's projections, saved and loaded in PEFT layout so they load in
 * Hugging Face PEFT and vLLM:
 *   adapter_config.json        { peft_type: "LORA", r, lora_alpha, lora_dropout, target_modules, ... }
 *   adapter_model.safetensors  base_model.model.<module>.lora_A.weight (r, in), ….lora_B.weight (out, r)
 * Base weights stay frozen and shared; only A and B take gradients. Merging folds scaling·B·A into W.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernels, tensor, Tensor16, type Rng, type Tensor } from '../engine/index.js';
import { PROJECTIONS, type ProjectionName, type Transformer } from './transformer.js';
import type { Projection } from './projection.js';
import { readSafetensors, serializeSafetensors, writeFileAtomic, type NamedTensor } from './safetensors.js';

export class AdapterError extends Error {}

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: ProjectionName[];
  /** rsLoRA: scaling alpha/√r instead of alpha/r. */
  useRslora?: boolean;
}

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
const PEFT_PREFIX = 'base_model.model.';

export function loraScaling(c: LoraConfig): number {
  return c.useRslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

function validate(c: LoraConfig, where: string): void {
  if (!Number.isSafeInteger(c.r) || c.r < 1) throw new AdapterError(`${where}: LoRA rank r must be a positive integer, got ${c.r}`);
  if (!(typeof c.alpha === 'number' && c.alpha > 0 && Number.isFinite(c.alpha))) throw new AdapterError(`${where}: lora_alpha must be a positive number, got ${c.alpha}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new AdapterError(`${where}: lora_dropout must be in [0, 1), got ${c.dropout}`);
  if (c.targetModules.length === 0) throw new AdapterError(`${where}: target_modules is empty; choose among ${PROJECTIONS.join(', ')}`);
  for (const m of c.targetModules) if (!PROJECTIONS.includes(m)) throw new AdapterError(`${where}: target module "${m}" is not one of ${PROJECTIONS.join(', ')}`);
}

/** The projections an adapter config targets, in model order. */
function targets(model: Transformer, modules: readonly ProjectionName[]): Projection[] {
  const out: Projection[] = [];
  for (const L of model.layers) for (const name of PROJECTIONS) if (modules.includes(name)) out.push(L.proj[name]);
  return out;
}

/** The adapter currently attached to a model (one at a time). */
export class LoraAdapter {
  constructor(
    readonly config: LoraConfig,
    /** Projections carrying this adapter. */
    readonly projections: Projection[],
  ) {}

  /** Trainable tensors (A then B per projection). */
  parameters(): Tensor[] {
    return this.projections.flatMap((p) => [p.lora!.A, p.lora!.B]);
  }

  /** PEFT-named weights. */
  stateDict(): Map<string, NamedTensor> {
    const m = new Map<string, NamedTensor>();
    for (const p of this.projections) {
      m.set(`${PEFT_PREFIX}${p.name}.lora_A.weight`, { shape: [...p.lora!.A.shape], data: p.lora!.A.data });
      m.set(`${PEFT_PREFIX}${p.name}.lora_B.weight`, { shape: [...p.lora!.B.shape], data: p.lora!.B.data });
    }
    return m;
  }
}

const attached = new WeakMap<Transformer, LoraAdapter>();

export function getAdapter(model: Transformer): LoraAdapter | null {
  return attached.get(model) ?? null;
}

/**
 * Adds a fresh adapter, initialised as PEFT does: A ~ kaiming-uniform(a=√5), i.e. U(−1/√in, 1/√in),
 * B = 0 (so the adapted model starts equal to the base). Replaces any attached adapter.
 */
export function addLora(model: Transformer, config: LoraConfig, rng: Rng): LoraAdapter {
  validate(config, 'LoRA config');
  removeLora(model);
  const scaling = loraScaling(config);
  const projs = targets(model, config.targetModules);
  for (const p of projs) {
    const bound = 1 / Math.sqrt(p.inFeatures);
    const a = new Float32Array(config.r * p.inFeatures);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
    p.lora = {
      A: tensor(a, [config.r, p.inFeatures], { requiresGrad: true, name: `${p.name}.lora_A.weight` }),
      B: tensor(new Float32Array(p.outFeatures * config.r), [p.outFeatures, config.r], { requiresGrad: true, name: `${p.name}.lora_B.weight` }),
      scaling,
      dropout: config.dropout,
    };
  }
  const adapter = new LoraAdapter(config, projs);
  attached.set(model, adapter);
  return adapter;
}

export function removeLora(model: Transformer): void {
  const a = attached.get(model);
  if (!a) return;
  for (const p of a.projections) p.lora = null;
  attached.delete(model);
}

/** Writes adapter_config.json + adapter_model.safetensors (F32) atomically. */
export function saveAdapter(model: Transformer, dir: string, opts: { baseModel?: string } = {}): void {
  const a = attached.get(model);
  if (!a) throw new AdapterError('no LoRA adapter is attached to this model; nothing to save');
  mkdirSync(dir, { recursive: true });
  const c = a.config;
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: opts.baseModel ?? null,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: [...c.targetModules],
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: c.useRslora ?? false,
    use_dora: false,
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
  writeFileAtomic(join(dir, ADAPTER_WEIGHTS), serializeSafetensors(a.stateDict(), { metadata: { format: 'pt' } }));
  writeFileAtomic(join(dir, ADAPTER_CONFIG), JSON.stringify(config, null, 2) + '\n');
}

/** Parses adapter_config.json, refusing PEFT options that would change the math and that we do not implement. */
export function readAdapterConfig(dir: string, model: Transformer): LoraConfig {
  const path = join(dir, ADAPTER_CONFIG);
  if (!existsSync(path)) throw new AdapterError(`${dir}: no ${ADAPTER_CONFIG}; is this a PEFT LoRA adapter folder?`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AdapterError(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (raw.peft_type !== 'LORA') throw new AdapterError(`${path}: peft_type "${String(raw.peft_type)}" is not supported (only LORA)`);
  const refuse = (cond: boolean, what: string) => {
    if (cond) throw new AdapterError(`${path}: ${what} is not supported`);
  };
  refuse(raw.use_dora === true, 'use_dora=true (DoRA)');
  refuse(raw.bias !== undefined && raw.bias !== 'none', `bias "${String(raw.bias)}"`);
  refuse(raw.fan_in_fan_out === true, 'fan_in_fan_out=true');
  refuse(Array.isArray(raw.modules_to_save) && raw.modules_to_save.length > 0, 'modules_to_save');
  refuse(raw.layers_to_transform !== undefined && raw.layers_to_transform !== null, 'layers_to_transform');
  for (const k of ['rank_pattern', 'alpha_pattern']) refuse(!!raw[k] && typeof raw[k] === 'object' && Object.keys(raw[k] as object).length > 0, k);
  let modules: ProjectionName[];
  const tm = raw.target_modules;
  if (Array.isArray(tm)) {
    // PEFT matches list entries against the end of module names ("q_proj" or "self_attn.q_proj").
    const names = tm.map(String);
    for (const n of names) {
      const last = n.split('.').at(-1)!;
      if (!PROJECTIONS.includes(last as ProjectionName)) throw new AdapterError(`${path}: target module "${n}" is not one of ${PROJECTIONS.join(', ')}`);
    }
    modules = PROJECTIONS.filter((p) => names.some((n) => n.split('.').at(-1) === p));
  } else if (typeof tm === 'string') {
    // A regular expression matched against full module names (PEFT uses re.fullmatch).
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${tm})$`);
    } catch (e) {
      throw new AdapterError(`${path}: target_modules regex ${JSON.stringify(tm)} is invalid (${(e as Error).message})`);
    }
    const hit = new Set<ProjectionName>();
    for (const L of model.layers) for (const p of PROJECTIONS) if (re.test(L.proj[p].name)) hit.add(p);
    modules = PROJECTIONS.filter((p) => hit.has(p));
    // Partial-layer regexes would need per-layer targeting; we only take patterns that select whole kinds.
    for (const p of modules) for (const L of model.layers) if (!re.test(L.proj[p].name)) throw new AdapterError(`${path}: target_modules regex selects ${p} in some layers only; not supported`);
  } else throw new AdapterError(`${path}: target_modules must be a list or a regex string`);
  const c: LoraConfig = {
    r: Number(raw.r),
    alpha: Number(raw.lora_alpha ?? raw.r),
    dropout: Number(raw.lora_dropout ?? 0),
    targetModules: modules,
    useRslora: raw.use_rslora === true,
  };
  validate(c, path);
  return c;
}

/**
 * Loads a PEFT adapter onto the model (replacing any attached one). Accepts PEFT's saved names
 * (`base_model.model.X.lora_A.weight`) and the in-memory form with the adapter name
 * (`….lora_A.default.weight`). Every targeted projection must have A and B of the right shapes.
 */
export function loadAdapter(model: Transformer, dir: string): LoraAdapter {
  const config = readAdapterConfig(dir, model);
  const path = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(path)) throw new AdapterError(`${dir}: no ${ADAPTER_WEIGHTS} (adapter_model.bin is not supported; save with safe_serialization=True)`);
  const { tensors } = readSafetensors(path);
  const byName = new Map<string, NamedTensor>();
  for (const [name, t] of tensors) {
    const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(name);
    if (!m) throw new AdapterError(`${path}: unexpected tensor "${name}" (expected base_model.model.<module>.lora_A/B.weight)`);
    byName.set(`${m[1]}.${m[2]}`, t);
  }
  removeLora(model);
  const projs = targets(model, config.targetModules);
  const scaling = loraScaling(config);
  const used = new Set<string>();
  for (const p of projs) {
    const A = byName.get(`${p.name}.A`);
    const B = byName.get(`${p.name}.B`);
    if (!A || !B) throw new AdapterError(`${path}: missing lora_${A ? 'B' : 'A'} for ${p.name}`);
    if (A.shape.length !== 2 || A.shape[0] !== config.r || A.shape[1] !== p.inFeatures)
      throw new AdapterError(`${path}: ${p.name}.lora_A has shape ${JSON.stringify(A.shape)}, expected [${config.r}, ${p.inFeatures}] (r from ${ADAPTER_CONFIG}, in from the model); is this adapter for another base model?`);
    if (B.shape.length !== 2 || B.shape[0] !== p.outFeatures || B.shape[1] !== config.r)
      throw new AdapterError(`${path}: ${p.name}.lora_B has shape ${JSON.stringify(B.shape)}, expected [${p.outFeatures}, ${config.r}]; is this adapter for another base model?`);
    used.add(`${p.name}.A`).add(`${p.name}.B`);
    p.lora = {
      A: tensor(A.data, A.shape, { requiresGrad: true, name: `${p.name}.lora_A.weight` }),
      B: tensor(B.data, B.shape, { requiresGrad: true, name: `${p.name}.lora_B.weight` }),
      scaling,
      dropout: config.dropout,
    };
  }
  const extra = [...byName.keys()].filter((k) => !used.has(k));
  if (extra.length) {
    for (const p of projs) p.lora = null;
    throw new AdapterError(`${path}: weights for modules outside target_modules or the model, e.g. ${extra[0]!.replace(/\.([AB])$/, '.lora_$1')}`);
  }
  const adapter = new LoraAdapter(config, projs);
  attached.set(model, adapter);
  return adapter;
}

/**
 * Folds the adapter into the base weights (W += scaling · B·A, in float64 accumulation) and
 * detaches it; the model then computes the adapted function with no adapter. A 16-bit base weight
 * is widened to F32 first (rounding the merged weight back to 16 bits would change the function).
 */
export function mergeLora(model: Transformer): void {
  const a = attached.get(model);
  if (!a) throw new AdapterError('no LoRA adapter is attached; nothing to merge');
  for (const p of a.projections) {
    const { A, B, scaling } = p.lora!;
    const r = A.shape[0]!;
    const inF = p.inFeatures;
    const outF = p.outFeatures;
    if (p.weight instanceof Tensor16) {
      const wide = tensor(p.weight.toFloat32(), p.weight.shape, { name: p.weight.name });
      if (model.params.get(`${p.name}.weight`) === p.weight) model.params.set(`${p.name}.weight`, wide);
      p.weight = wide;
    }
    const W = p.weight.data;
    const Ad = A.data;
    const Bd = B.data;
    for (let o = 0; o < outF; o++) {
      for (let i = 0; i < inF; i++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += Bd[o * r + k]! * Ad[k * inF + i]!;
        W[o * inF + i]! += scaling * s;
      }
    }
  }
  removeLora(model);
}

/** Per-projection F32 buffers of merged weights, kept between calls so each step reuses them. */
const mergedBuffers = new WeakMap<Projection, Float32Array>();

/**
 * Runs fn (sampling) with the attached adapter folded into F32 copies of the weights it targets:
 * each projection computes x·(W + scaling·B·A)ᵀ in one product instead of x·Wᵀ plus two small
 * LoRA products per token. The copies are rebuilt on every call (the adapter changes between
 * steps), into buffers kept for the next call; the model is restored afterwards, also when fn
 * throws. The merged product differs from the training forward only by F32 rounding (measured:
 * log-probs within ~1e-6; see README). LoRA dropout is ignored (sampling runs in eval mode).
 * A model without an adapter just runs fn. Costs 4 bytes per targeted weight while kept.
 */
export function withMergedAdapter<T>(model: Transformer, fn: () => T): T {
  const a = attached.get(model);
  if (!a || !model.mode.adapters) return fn();
  const saved = a.projections.map((p) => ({ p, weight: p.weight, lora: p.lora! }));
  const K = kernels();
  try {
    for (const s of saved) {
      const { p, lora } = s;
      const n = p.outFeatures * p.inFeatures;
      let buf = mergedBuffers.get(p);
      if (!buf || buf.length !== n) {
        buf = new Float32Array(n);
        mergedBuffers.set(p, buf);
      }
      buf.set(s.weight instanceof Tensor16 ? s.weight.toFloat32() : s.weight.data);
      const r = lora.A.shape[0]!;
      // W' = scaling · B (out, r) · A (r, in) + W
      K.sgemm(false, false, p.outFeatures, p.inFeatures, r, lora.scaling, lora.B.data, r, lora.A.data, p.inFeatures, 1, buf, p.inFeatures);
      p.weight = tensor(buf, [p.outFeatures, p.inFeatures], { name: `${p.name}.weight (merged)` });
      p.lora = null;
    }
    return fn();
  } finally {
    for (const s of saved) {
      s.p.weight = s.weight;
      s.p.lora = s.lora;
    }
  }
}

/** Drops the buffers withMergedAdapter keeps for this model's projections. */
export function releaseMergedBuffers(model: Transformer): void {
  for (const L of model.layers) for (const name of PROJECTIONS) mergedBuffers.delete(L.proj[name]);
}
