/** Loading a model folder (HF layout) into a Transformer, and saving one back. */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig } from './config.js';
import { checkpointFiles, INDEX_FILE, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { Transformer } from './transformer.js';
import { ModelTokenizer } from './tokenizer.js';
import { decode, writeFileAtomic, type DType, type NamedTensor, type NamedTensor16 } from './safetensors.js';
import { mayStay16 } from './weights.js';
import { toBf16Bits } from './dtype.js';

/**
 * Storage of the frozen linear and embedding weights: "auto" keeps the checkpoint's own (BF16 and
 * F16 stay 16-bit, F32 stays F32), "f32" widens everything (needed to train the base weights),
 * "bf16" keeps BF16 and rounds F32 / F16 weights to bf16 (round to nearest even). Norms and
 * biases are always F32.
 */
export type WeightsDtype = 'auto' | 'f32' | 'bf16';
export const WEIGHTS_DTYPES: readonly WeightsDtype[] = ['auto', 'f32', 'bf16'];

export interface LoadOptions {
  weightsDtype?: WeightsDtype;
}

export function loadModel(dir: string, opts: LoadOptions = {}): Transformer {
  const config = readConfig(dir);
  const wd = opts.weightsDtype ?? 'auto';
  if (!WEIGHTS_DTYPES.includes(wd)) throw new Error(`weights dtype must be one of ${WEIGHTS_DTYPES.join(', ')}, got ${JSON.stringify(wd)}`);
  if (wd === 'f32') return new Transformer(config, readCheckpoint(dir).tensors, dir);
  const { tensors, half } = readCheckpoint(dir, { keep16: (name) => mayStay16(config, name) });
  const all = new Map<string, NamedTensor | NamedTensor16>(tensors);
  for (const [name, t] of half) {
    if (wd === 'bf16' && t.dtype === 'f16') {
      all.set(name, { shape: t.shape, dtype: 'bf16', bits: toBf16Bits(decode(new Uint8Array(t.bits.buffer, t.bits.byteOffset, t.bits.byteLength), 'F16')) });
    } else all.set(name, t);
  }
  if (wd === 'bf16') for (const [name, t] of tensors) if (mayStay16(config, name)) all.set(name, { shape: t.shape, dtype: 'bf16', bits: toBf16Bits(t.data) });
  return new Transformer(config, all, dir);
}

export function loadTokenizer(dir: string, model?: Transformer): ModelTokenizer {
  return ModelTokenizer.load(dir, model?.config.eosTokenIds ?? readConfig(dir).eosTokenIds);
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja', 'special_tokens_map.json'];

/**
 * Writes the model's base weights (and config) as a HF folder; tokenizer files are copied from
 * `tokenizerFrom` when given. Used to save merged models.
 */
export function saveModel(model: Transformer, dir: string, opts: { dtype?: DType; tokenizerFrom?: string; maxShardBytes?: number } = {}): void {
  mkdirSync(dir, { recursive: true });
  // Weight files of an earlier save that the new one does not overwrite would make the folder ambiguous.
  let old: string[] = [];
  try {
    old = checkpointFiles(dir).files;
  } catch {
    // No earlier weights (or a broken index): nothing to clean up.
  }
  const written = new Set(writeCheckpoint(dir, model.stateDict(), { dtype: opts.dtype ?? 'F32', maxShardBytes: opts.maxShardBytes }));
  for (const f of [...old, INDEX_FILE]) if (!written.has(f) && existsSync(join(dir, f))) rmSync(join(dir, f));
  const raw = { ...model.config.raw, torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[opts.dtype ?? 'F32'] };
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(raw, null, 2) + '\n');
  if (opts.tokenizerFrom) for (const f of TOKENIZER_FILES) if (existsSync(join(opts.tokenizerFrom, f))) copyFileSync(join(opts.tokenizerFrom, f), join(dir, f));
}
