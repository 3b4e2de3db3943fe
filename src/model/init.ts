/**
 * `rft model init`: a new, randomly initialised model written in Hugging Face layout
 * (config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json).
 * Initialisation follows transformers: linear and embedding weights normal(0, initializer_range),
 * biases 0, norm weights 1, all from one seed.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type Arch, type ModelConfig } from './config.js';
import { expectedWeights } from './weights.js';
import { Rng } from '../engine/index.js';
import { writeCheckpoint } from './checkpoint.js';
import { writeFileAtomic, type DType, type NamedTensor } from './safetensors.js';
import { alphabetFromText, buildCharTokenizer, defaultAlphabet } from './char-tokenizer.js';

export interface InitSpec {
  arch: Arch;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** Defaults to hidden / heads. */
  headDim?: number;
  intermediate: number;
  /** "chars" (printable ASCII) or the path of a text file whose characters form the vocabulary. */
  vocabFrom: string;
  /** config vocab_size; at least the tokenizer's size (larger pads the embedding, as HF models often do). */
  vocabSize?: number;
  tieEmbeddings: boolean;
  ropeTheta: number;
  /** [factor, low_freq_factor, high_freq_factor, original_max_position_embeddings] for llama3 rope scaling. */
  llama3Rope?: [number, number, number, number];
  maxPositions: number;
  rmsNormEps: number;
  /** attention_bias (Llama / Qwen3: q, k, v, o biases). Qwen2 always has q/k/v biases. */
  attentionBias?: boolean;
  seed: number;
  dtype: DType;
  /** initializer_range: std of the normal init of linear and embedding weights (HF default 0.02). */
  initStd?: number;
  /** Randomise norm weights and biases too (they are 1 and 0 in a fresh HF model); for comparing implementations. */
  randomNorms?: boolean;
}

export const PRESETS: Record<string, Partial<InitSpec>> = {
  // ≈ 9.5M parameters with the character vocabulary.
  tiny: { arch: 'llama', hidden: 384, layers: 6, heads: 6, kvHeads: 2, intermediate: 1024, tieEmbeddings: true },
  // SmolLM-135M's shapes (vocab 49152; the character tokenizer covers the first ids).
  'smollm-135m': { arch: 'llama', hidden: 576, layers: 30, heads: 9, kvHeads: 3, intermediate: 1536, vocabSize: 49152, tieEmbeddings: true, ropeTheta: 10000, maxPositions: 2048, rmsNormEps: 1e-5 },
  // The published Qwen2.5-0.5B and Qwen3-0.6B configs' shapes (random weights; benchmarks).
  'qwen2.5-0.5b': { arch: 'qwen2', hidden: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64, intermediate: 4864, vocabSize: 151936, tieEmbeddings: true, ropeTheta: 1000000, maxPositions: 32768, rmsNormEps: 1e-6 },
  'qwen3-0.6b': { arch: 'qwen3', hidden: 1024, layers: 28, heads: 16, kvHeads: 8, headDim: 128, intermediate: 3072, vocabSize: 151936, tieEmbeddings: true, ropeTheta: 1000000, maxPositions: 40960, rmsNormEps: 1e-6 },
};

export const DEFAULTS: InitSpec = {
  arch: 'llama', hidden: 128, layers: 4, heads: 4, kvHeads: 2, intermediate: 384, vocabFrom: 'chars', tieEmbeddings: true,
  ropeTheta: 10000, maxPositions: 2048, rmsNormEps: 1e-6, seed: 0, dtype: 'F32',
};

const CLASS: Record<Arch, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' };
const TORCH_DTYPE: Record<DType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** The config.json object for a spec and tokenizer size; validated by parseConfig like any other. */
export function buildConfigJson(s: InitSpec, tokenizerSize: number, ids: { bos: number | null; eos: number; pad: number }): Record<string, unknown> {
  const vocab = s.vocabSize ?? tokenizerSize;
  if (vocab < tokenizerSize) throw new Error(`vocab size ${vocab} is smaller than the tokenizer (${tokenizerSize} tokens)`);
  const headDim = s.headDim ?? s.hidden / s.heads;
  const c: Record<string, unknown> = {
    architectures: [CLASS[s.arch]],
    model_type: s.arch,
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: headDim,
    hidden_act: 'silu',
    max_position_embeddings: s.maxPositions,
    initializer_range: s.initStd ?? 0.02,
    rms_norm_eps: s.rmsNormEps,
    rope_theta: s.ropeTheta,
    rope_scaling: s.llama3Rope
      ? { rope_type: 'llama3', factor: s.llama3Rope[0], low_freq_factor: s.llama3Rope[1], high_freq_factor: s.llama3Rope[2], original_max_position_embeddings: s.llama3Rope[3] }
      : null,
    tie_word_embeddings: s.tieEmbeddings,
    vocab_size: vocab,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    torch_dtype: TORCH_DTYPE[s.dtype],
    use_cache: true,
  };
  if (s.arch === 'qwen2') Object.assign(c, { use_sliding_window: false, sliding_window: null, max_window_layers: s.layers });
  else c.attention_bias = s.attentionBias ?? false;
  if (s.arch === 'llama') c.mlp_bias = false;
  return c;
}

/** Fresh weights for a config, HF-style, from a seed. Tensors are generated in model order so the seed fixes them all. */
export function initWeights(c: ModelConfig, seed: number, randomNorms = false): Map<string, NamedTensor> {
  const rng = new Rng(seed);
  const out = new Map<string, NamedTensor>();
  for (const [name, spec] of expectedWeights(c)) {
    const data = new Float32Array(spec.shape.reduce((a, d) => a * d, 1));
    const fill = (mean: number, std: number) => {
      for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
    };
    if (spec.kind === 'linear' || spec.kind === 'embedding') fill(0, c.initializerRange);
    else if (spec.kind === 'norm') randomNorms ? fill(1, 0.1) : data.fill(1);
    else if (randomNorms) fill(0, 0.05);
    out.set(name, { shape: spec.shape, data });
  }
  return out;
}

export class InitError extends Error {}

/** Writes the whole model folder. Refuses to overwrite a folder that already holds a model unless `force`. */
export function initModel(dir: string, s: InitSpec, force = false): { config: ModelConfig; files: string[] } {
  if (existsSync(join(dir, 'config.json')) && !force) throw new InitError(`${dir} already holds a model (config.json exists); choose another --out or pass --force`);
  let alphabet: string[];
  if (s.vocabFrom === 'chars') alphabet = defaultAlphabet();
  else {
    let text: string;
    try {
      text = readFileSync(s.vocabFrom, 'utf8');
    } catch (e) {
      throw new InitError(`--vocab-from ${s.vocabFrom}: cannot read (${(e as Error).message}); give "chars" or a text file whose characters form the vocabulary`);
    }
    alphabet = alphabetFromText(text);
  }
  const tok = buildCharTokenizer(alphabet);
  let config: ModelConfig;
  try {
    config = parseConfig(buildConfigJson(s, tok.size, { bos: null, eos: tok.ids.imEnd, pad: tok.ids.endoftext }), 'the requested model');
  } catch (e) {
    throw new InitError((e as Error).message);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InitError(`cannot create ${dir}: ${(e as Error).message}`);
  }
  const weights = initWeights(config, s.seed, s.randomNorms);
  const files = writeCheckpoint(dir, weights, { dtype: s.dtype });
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  writeFileAtomic(join(dir, 'config.json'), json(config.raw));
  writeFileAtomic(join(dir, 'tokenizer.json'), json(tok.tokenizer));
  writeFileAtomic(join(dir, 'tokenizer_config.json'), json(tok.config));
  writeFileAtomic(join(dir, 'generation_config.json'), json({ eos_token_id: [tok.ids.imEnd, tok.ids.endoftext], pad_token_id: tok.ids.endoftext }));
  return { config, files: ['config.json', ...files, 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'] };
}
