/**
 * Hugging Face `config.json` for the decoder-only Llama family: parsed, validated and normalised.
 * Anything that would change the math and that we do not implement is an error that says so,
 * never a silent guess.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Arch = 'llama' | 'qwen2' | 'qwen3';
export const ARCHITECTURES: Record<string, Arch> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
};
const MODEL_TYPES: Record<Arch, string> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };

export interface Llama3RopeScaling {
  ropeType: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface ModelConfig {
  /** The HF class name, e.g. "Qwen3ForCausalLM". */
  architecture: string;
  arch: Arch;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2 always; Llama/Qwen3 when attention_bias). */
  qkvBias: boolean;
  /** o_proj carries a bias (Llama/Qwen3 attention_bias). */
  oBias: boolean;
  /** Per-head RMSNorm on q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
  /** Storage dtype the config declares (informational; weights are computed in F32). */
  torchDtype: string | null;
  initializerRange: number;
  /** The JSON as read, kept so a saved model (e.g. merged) writes back the same config. */
  raw: Record<string, unknown>;
}

export class ConfigError extends Error {}

function posInt(raw: Record<string, unknown>, key: string, where: string, dflt?: number): number {
  const v = raw[key] ?? dflt;
  if (v === undefined) throw new ConfigError(`${where}: missing "${key}"`);
  if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ConfigError(`${where}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

function posNum(raw: Record<string, unknown>, key: string, where: string, dflt?: number): number {
  const v = raw[key] ?? dflt;
  if (v === undefined) throw new ConfigError(`${where}: missing "${key}"`);
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${where}: "${key}" must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function tokenId(v: unknown, key: string, where: string): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new ConfigError(`${where}: "${key}" must be a token id, got ${JSON.stringify(v)}`);
  return v as number;
}

export function tokenIdList(v: unknown, key: string, where: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => tokenId(x, key, where)!);
}

/** The rope settings may sit at the top level (transformers 4) or in `rope_parameters` (transformers 5). */
function parseRope(raw: Record<string, unknown>, where: string): { theta: number; scaling: Llama3RopeScaling | null } {
  const params = raw.rope_parameters as Record<string, unknown> | undefined;
  const scalingRaw = (params && typeof params === 'object' ? params : raw.rope_scaling) as Record<string, unknown> | null | undefined;
  const theta = posNum(params && typeof params === 'object' && params.rope_theta !== undefined ? params : raw, 'rope_theta', where, 10000);
  if (scalingRaw === null || scalingRaw === undefined) return { theta, scaling: null };
  if (typeof scalingRaw !== 'object') throw new ConfigError(`${where}: "rope_scaling" must be an object or null`);
  const type = scalingRaw.rope_type ?? scalingRaw.type ?? 'default';
  if (type === 'default') return { theta, scaling: null };
  if (type !== 'llama3')
    throw new ConfigError(`${where}: rope scaling type "${String(type)}" is not supported (supported: none/default, llama3); the model would compute different positions`);
  const w = `${where} rope_scaling`;
  const s: Llama3RopeScaling = {
    ropeType: 'llama3',
    factor: posNum(scalingRaw, 'factor', w),
    lowFreqFactor: posNum(scalingRaw, 'low_freq_factor', w),
    highFreqFactor: posNum(scalingRaw, 'high_freq_factor', w),
    originalMaxPositionEmbeddings: posInt(scalingRaw, 'original_max_position_embeddings', w),
  };
  if (s.highFreqFactor <= s.lowFreqFactor) throw new ConfigError(`${w}: high_freq_factor (${s.highFreqFactor}) must exceed low_freq_factor (${s.lowFreqFactor})`);
  return { theta, scaling: s };
}

/** Validates a parsed config.json object. `where` names the file in errors. */
export function parseConfig(raw: unknown, where = 'config.json'): ModelConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${where}: must be a JSON object`);
  const c = raw as Record<string, unknown>;
  const archs = c.architectures;
  if (!Array.isArray(archs) || archs.length !== 1 || typeof archs[0] !== 'string')
    throw new ConfigError(`${where}: "architectures" must list exactly one class (one of ${Object.keys(ARCHITECTURES).join(', ')})`);
  const architecture = archs[0];
  const arch = ARCHITECTURES[architecture];
  if (!arch) throw new ConfigError(`${where}: architecture "${architecture}" is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  if (c.model_type !== undefined && c.model_type !== MODEL_TYPES[arch])
    throw new ConfigError(`${where}: model_type "${String(c.model_type)}" does not match architecture ${architecture} (expected "${MODEL_TYPES[arch]}")`);

  const hiddenSize = posInt(c, 'hidden_size', where);
  const numHeads = posInt(c, 'num_attention_heads', where);
  const numKvHeads = posInt(c, 'num_key_value_heads', where, numHeads);
  if (numHeads % numKvHeads !== 0) throw new ConfigError(`${where}: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  let headDim: number;
  if (c.head_dim !== undefined && c.head_dim !== null) headDim = posInt(c, 'head_dim', where);
  else {
    if (hiddenSize % numHeads !== 0) throw new ConfigError(`${where}: hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numHeads}); give head_dim`);
    headDim = hiddenSize / numHeads;
  }
  if (headDim % 2 !== 0) throw new ConfigError(`${where}: head_dim (${headDim}) must be even for rotary embeddings`);

  const act = c.hidden_act ?? c.hidden_activation ?? 'silu';
  if (act !== 'silu') throw new ConfigError(`${where}: hidden_act "${String(act)}" is not supported (only silu, the SwiGLU MLP)`);
  if (c.mlp_bias === true) throw new ConfigError(`${where}: mlp_bias=true is not supported`);
  if (c.use_sliding_window === true) throw new ConfigError(`${where}: use_sliding_window=true is not supported (sliding-window attention changes the math); set it to false only if the model was trained without it`);
  if (Array.isArray(c.layer_types) && c.layer_types.some((t) => t !== 'full_attention'))
    throw new ConfigError(`${where}: layer_types other than "full_attention" (${[...new Set(c.layer_types)].join(', ')}) are not supported`);
  if (typeof c.pretraining_tp === 'number' && c.pretraining_tp !== 1) {
    // pretraining_tp only slices the matmuls in HF; the math is the same, so it is accepted.
  }
  const { theta, scaling } = parseRope(c, where);
  const attentionBias = c.attention_bias === true;
  const eos = tokenIdList(c.eos_token_id, 'eos_token_id', where);
  const dtype = (c.torch_dtype ?? c.dtype ?? null) as string | null;
  return {
    architecture,
    arch,
    vocabSize: posInt(c, 'vocab_size', where),
    hiddenSize,
    intermediateSize: posInt(c, 'intermediate_size', where),
    numLayers: posInt(c, 'num_hidden_layers', where),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: posNum(c, 'rms_norm_eps', where, 1e-6),
    ropeTheta: theta,
    ropeScaling: scaling,
    maxPositionEmbeddings: posInt(c, 'max_position_embeddings', where, 2048),
    tieWordEmbeddings: c.tie_word_embeddings === true,
    qkvBias: arch === 'qwen2' ? true : attentionBias,
    oBias: arch === 'qwen2' ? false : attentionBias,
    qkNorm: arch === 'qwen3',
    bosTokenId: tokenId(c.bos_token_id, 'bos_token_id', where),
    eosTokenIds: eos,
    padTokenId: tokenId(c.pad_token_id, 'pad_token_id', where),
    torchDtype: typeof dtype === 'string' ? dtype : null,
    initializerRange: posNum(c, 'initializer_range', where, 0.02),
    raw: c,
  };
}

export function readConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}; is ${dir} a Hugging Face model folder?`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(json, path);
}

/** Number of parameters the config implies (embeddings counted once when tied). */
export function parameterCount(c: ModelConfig): number {
  const h = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  let layer = h * q + 2 * h * kv + q * h + 3 * h * c.intermediateSize + 2 * h;
  if (c.qkvBias) layer += q + 2 * kv;
  if (c.oBias) layer += h;
  if (c.qkNorm) layer += 2 * c.headDim;
  return c.vocabSize * h * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * layer + h;
}
