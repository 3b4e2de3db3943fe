/** Loading a model folder (HF layout) into a Transformer, and saving one back. */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig } from './config.js';
import { checkpointFiles, INDEX_FILE, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { Transformer } from './transformer.js';
import { ModelTokenizer } from './tokenizer.js';
import { writeFileAtomic, type DType } from './safetensors.js';

export function loadModel(dir: string): Transformer {
  const config = readConfig(dir);
  const { tensors } = readCheckpoint(dir);
  return new Transformer(config, tensors, dir);
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
