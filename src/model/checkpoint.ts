/**
 * A checkpoint directory's weights in Hugging Face layout: either one `model.safetensors` or
 * shards listed by `model.safetensors.index.json` (`{ metadata: { total_size }, weight_map: { name: file } }`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHeader, readSafetensors, SafetensorsError, serializeSafetensors, writeFileAtomic, type DType, type NamedTensor, type NamedTensor16, type ReadOptions, type TensorInfo } from './safetensors.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export interface CheckpointTensors {
  tensors: Map<string, NamedTensor>;
  /** Tensors kept at 16 bits (ReadOptions.keep16); not in `tensors`. */
  half: Map<string, NamedTensor16>;
  /** Storage dtype of each tensor as found on disk. */
  dtypes: Map<string, DType>;
}

/** Reads the shard index and checks its shape; returns name → shard file name. */
function readIndex(dir: string): Map<string, string> {
  const path = join(dir, INDEX_FILE);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot read the shard index (${(e as Error).message})`);
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) throw new SafetensorsError(`${path}: missing "weight_map" object`);
  const map = new Map<string, string>();
  for (const [name, file] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file === '..')
      throw new SafetensorsError(`${path}: weight_map["${name}"] must be a file name in the same folder, got ${JSON.stringify(file)}`);
    map.set(name, file);
  }
  return map;
}

/** Which files hold the weights, in a stable order. Errors say what the folder is missing. */
export function checkpointFiles(dir: string): { files: string[]; index: Map<string, string> | null } {
  if (existsSync(join(dir, INDEX_FILE))) {
    const index = readIndex(dir);
    const files = [...new Set(index.values())].sort();
    for (const f of files) if (!existsSync(join(dir, f))) throw new SafetensorsError(`${join(dir, INDEX_FILE)} lists shard ${f} but ${join(dir, f)} does not exist`);
    return { files, index };
  }
  if (existsSync(join(dir, SINGLE_FILE))) return { files: [SINGLE_FILE], index: null };
  throw new SafetensorsError(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE}; is this a Hugging Face model folder?`);
}

/** Headers only (for parameter counts without reading the weights). */
export function readCheckpointHeaders(dir: string): Map<string, TensorInfo> {
  const { files } = checkpointFiles(dir);
  const out = new Map<string, TensorInfo>();
  for (const f of files) for (const [name, t] of readHeader(join(dir, f)).tensors) out.set(name, t);
  return out;
}

/** Reads every tensor; with an index, checks that each shard holds exactly what the index says. */
export function readCheckpoint(dir: string, opts: ReadOptions = {}): CheckpointTensors {
  const { files, index } = checkpointFiles(dir);
  const tensors = new Map<string, NamedTensor>();
  const half = new Map<string, NamedTensor16>();
  const dtypes = new Map<string, DType>();
  for (const f of files) {
    const path = join(dir, f);
    const st = readSafetensors(path, opts);
    for (const [name, t] of [...st.tensors, ...st.half]) {
      if (tensors.has(name) || half.has(name)) throw new SafetensorsError(`${path}: tensor "${name}" also appears in another shard`);
      if (index && index.get(name) !== f) throw new SafetensorsError(`${path}: tensor "${name}" is in this shard but ${INDEX_FILE} says ${index.get(name) ?? 'nothing about it'}`);
      if ('bits' in t) half.set(name, t);
      else tensors.set(name, t);
      dtypes.set(name, st.dtypes.get(name)!);
    }
  }
  if (index) for (const [name, f] of index) if (!tensors.has(name) && !half.has(name)) throw new SafetensorsError(`${join(dir, INDEX_FILE)} maps "${name}" to ${f} but that shard does not contain it`);
  return { tensors, half, dtypes };
}

export interface WriteCheckpointOptions {
  dtype?: DType;
  /** Split into shards of at most this many bytes of tensor data (default: one file). */
  maxShardBytes?: number;
}

/** Writes weights as `model.safetensors`, or shards + index when they exceed maxShardBytes. */
export function writeCheckpoint(dir: string, tensors: Map<string, NamedTensor>, opts: WriteCheckpointOptions = {}): string[] {
  const dtype = opts.dtype ?? 'F32';
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const names = [...tensors.keys()].sort();
  const total = names.reduce((a, n) => a + tensors.get(n)!.data.length * bytesPer, 0);
  const max = opts.maxShardBytes ?? Infinity;
  if (total <= max) {
    writeFileAtomic(join(dir, SINGLE_FILE), serializeSafetensors(tensors, { dtype, metadata: { format: 'pt' } }));
    return [SINGLE_FILE];
  }
  const shards: string[][] = [[]];
  let size = 0;
  for (const n of names) {
    const b = tensors.get(n)!.data.length * bytesPer;
    if (size > 0 && size + b > max) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1]!.push(n);
    size += b;
  }
  const files = shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((group, i) => {
    const part = new Map(group.map((n) => [n, tensors.get(n)!]));
    writeFileAtomic(join(dir, files[i]!), serializeSafetensors(part, { dtype, metadata: { format: 'pt' } }));
    for (const n of group) weightMap[n] = files[i]!;
  });
  writeFileAtomic(join(dir, INDEX_FILE), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n');
  return [...files, INDEX_FILE];
}
