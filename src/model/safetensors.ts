/**
 * Our own safetensors reader and writer (https://github.com/huggingface/safetensors format):
 *
 *   [8 bytes: header length N, u64 little-endian][N bytes: JSON header][data bytes]
 *
 * The header maps tensor names to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative
 * to the start of the data bytes) plus an optional `__metadata__: Record<string, string>`.
 * The reference writer pads the header with spaces to a multiple of 8 bytes and lays tensors out
 * back to back; we do the same. Values are read into Float32Array (F32, F16 and BF16 supported),
 * or kept as 16-bit bits when the caller asks (ReadOptions.keep16), and written as F32, F16 or
 * BF16 with round-to-nearest-even.
 */
import { closeSync, openSync, readFileSync, readSync, fstatSync, renameSync, writeFileSync, unlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './dtype.js';

export type DType = 'F32' | 'F16' | 'BF16';
const BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };
/** Dtypes that exist in the format but that we do not read (so the error can say so precisely). */
const OTHER_DTYPES = new Set(['F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'U16', 'U32', 'U64', 'BOOL', 'F8_E4M3', 'F8_E5M2']);
/** The reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;

export class SafetensorsError extends Error {}

/** One tensor's header entry. */
export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** Absolute byte range in the file (header included). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string> | null;
}

/** A tensor as the model layer sees it: F32 values, row-major, with a shape. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** A BF16 / F16 tensor kept at its stored precision (frozen base weights): the raw bits, row-major. */
export interface NamedTensor16 {
  shape: number[];
  dtype: 'bf16' | 'f16';
  bits: Uint16Array;
}

export interface ReadOptions {
  /** Tensors (stored BF16 or F16) to return as bits in `half` instead of widening them to F32. */
  keep16?: (name: string, info: TensorInfo) => boolean;
}

function checkHost(): void {
  if (endianness() !== 'LE') throw new SafetensorsError('safetensors: only little-endian hosts are supported');
}

/**
 * Parses and validates a header. `fileSize` is the total file size; every check names `file`.
 * Checks: header length vs file size, JSON shape, known dtype, integer shape, offsets in range,
 * byte length = product(shape) · dtype size, no overlaps and no gaps (as the reference requires).
 */
export function parseHeader(prefix: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  if (fileSize < 8 || prefix.length < 8) throw new SafetensorsError(`${file}: not a safetensors file (shorter than the 8-byte header length)`);
  const dv = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw new SafetensorsError(`${file}: header length ${n} is larger than ${MAX_HEADER} bytes; the file is corrupt or not safetensors`);
  const headerLen = Number(n);
  const dataStart = 8 + headerLen;
  if (dataStart > fileSize) throw new SafetensorsError(`${file}: header length ${headerLen} runs past the end of the file (${fileSize} bytes); the file is truncated or not safetensors`);
  if (prefix.length < dataStart) throw new SafetensorsError(`${file}: internal error: header not fully read`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, dataStart)));
  } catch (e) {
    throw new SafetensorsError(`${file}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new SafetensorsError(`${file}: header must be a JSON object`);
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> | null = null;
  const dataSize = fileSize - dataStart;
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string'))
        throw new SafetensorsError(`${file}: __metadata__ must be an object of strings`);
      metadata = v as Record<string, string>;
      continue;
    }
    const where = `${file}: tensor "${name}"`;
    if (v === null || typeof v !== 'object') throw new SafetensorsError(`${where}: entry must be an object`);
    const { dtype, shape, data_offsets } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') throw new SafetensorsError(`${where}: missing dtype`);
    if (!(dtype in BYTES)) {
      if (OTHER_DTYPES.has(dtype)) throw new SafetensorsError(`${where}: dtype ${dtype} is not supported (only F32, F16, BF16)`);
      throw new SafetensorsError(`${where}: unknown dtype "${dtype}"`);
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || data_offsets.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw new SafetensorsError(`${where}: data_offsets must be [begin, end] integers, got ${JSON.stringify(data_offsets)}`);
    const [b, e] = data_offsets as [number, number];
    if (e < b) throw new SafetensorsError(`${where}: data_offsets end ${e} is before begin ${b}`);
    if (e > dataSize) throw new SafetensorsError(`${where}: data_offsets [${b}, ${e}] run past the data section (${dataSize} bytes); the file is truncated`);
    const numel = (shape as number[]).reduce((a, d) => a * d, 1);
    const want = numel * BYTES[dtype as DType];
    if (e - b !== want) throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} of ${dtype} needs ${want} bytes but data_offsets span ${e - b}`);
    tensors.set(name, { dtype: dtype as DType, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
  }
  // Sorted by offset, the tensors must tile the data section exactly (no overlap, no gap).
  const sorted = [...tensors.entries()].sort((x, y) => x[1].begin - y[1].begin || x[1].end - y[1].end);
  let cursor = dataStart;
  for (const [name, t] of sorted) {
    if (t.begin < cursor) throw new SafetensorsError(`${file}: tensor "${name}" overlaps the previous tensor's bytes`);
    if (t.begin > cursor) throw new SafetensorsError(`${file}: gap of ${t.begin - cursor} bytes before tensor "${name}"`);
    cursor = t.end;
  }
  if (cursor !== fileSize) throw new SafetensorsError(`${file}: ${fileSize - cursor} trailing bytes after the last tensor`);
  return { tensors, metadata };
}

/** Reads only the header of a file (cheap, for `rft model info` and shard routing). */
export function readHeader(path: string): SafetensorsHeader {
  checkHost();
  const fd = openFile(path);
  try {
    const size = fstatSync(fd).size;
    const len = Buffer.alloc(8);
    if (size >= 8) readSync(fd, len, 0, 8, 0);
    const n = size >= 8 ? len.readBigUInt64LE(0) : 0n;
    const total = n <= BigInt(MAX_HEADER) && 8 + Number(n) <= size ? 8 + Number(n) : 8;
    const prefix = Buffer.alloc(Math.max(8, total));
    readSync(fd, prefix, 0, Math.min(prefix.length, size), 0);
    return parseHeader(prefix, size, path);
  } finally {
    closeSync(fd);
  }
}

function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new SafetensorsError(`cannot open ${path}: ${(e as Error).message}`);
  }
}

const F16_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = f16ToF32(i);
  return t;
})();

/** Decodes `bytes` (one tensor's raw data) of `dtype` into a new Float32Array. */
export function decode(bytes: Uint8Array, dtype: DType): Float32Array {
  checkHost();
  if (dtype === 'F32') {
    const out = new Float32Array(bytes.length / 4);
    new Uint8Array(out.buffer).set(bytes); // copy: the source may not be 4-byte aligned
    return out;
  }
  const n = bytes.length / 2;
  const u16 = new Uint16Array(n);
  new Uint8Array(u16.buffer).set(bytes);
  const out = new Float32Array(n);
  if (dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = F16_TABLE[u16[i]!]!;
  } else {
    const o32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) o32[i] = u16[i]! << 16;
  }
  return out;
}

/** Encodes F32 values as `dtype` bytes (little-endian). */
export function encode(data: Float32Array, dtype: DType): Uint8Array {
  checkHost();
  if (dtype === 'F32') return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const u16 = new Uint16Array(data.length);
  const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
  for (let i = 0; i < data.length; i++) u16[i] = conv(data[i]!);
  return new Uint8Array(u16.buffer);
}

/** Parses a whole file held in memory; `half` holds the tensors opts.keep16 chose (absent from `tensors`). */
export function parseSafetensors(buf: Uint8Array, file = '<buffer>', opts: ReadOptions = {}): {
  tensors: Map<string, NamedTensor>; half: Map<string, NamedTensor16>; metadata: Record<string, string> | null; dtypes: Map<string, DType>;
} {
  const header = parseHeader(buf, buf.length, file);
  const tensors = new Map<string, NamedTensor>();
  const half = new Map<string, NamedTensor16>();
  const dtypes = new Map<string, DType>();
  for (const [name, t] of header.tensors) {
    const bytes = buf.subarray(t.begin, t.end);
    if (t.dtype !== 'F32' && opts.keep16?.(name, t)) {
      checkHost();
      const bits = new Uint16Array(bytes.length / 2);
      new Uint8Array(bits.buffer).set(bytes); // copy: the source may not be 2-byte aligned
      half.set(name, { shape: t.shape, dtype: t.dtype === 'BF16' ? 'bf16' : 'f16', bits });
    } else tensors.set(name, { shape: t.shape, data: decode(bytes, t.dtype) });
    dtypes.set(name, t.dtype);
  }
  return { tensors, half, metadata: header.metadata, dtypes };
}

export function readSafetensors(path: string, opts: ReadOptions = {}): ReturnType<typeof parseSafetensors> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseSafetensors(buf, path, opts);
}

export interface WriteOptions {
  /** Storage dtype for every tensor (default F32). */
  dtype?: DType;
  metadata?: Record<string, string>;
}

/**
 * Serializes tensors. Names are laid out in sorted order (deterministic files); the header is
 * padded with spaces to a multiple of 8 so every tensor starts 8-byte aligned, as the reference does.
 */
export function serializeSafetensors(tensors: Map<string, NamedTensor> | Record<string, NamedTensor>, opts: WriteOptions = {}): Buffer {
  const dtype = opts.dtype ?? 'F32';
  if (!(dtype in BYTES)) throw new SafetensorsError(`cannot write dtype "${dtype}" (use F32, F16 or BF16)`);
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError('"__metadata__" is reserved and cannot be a tensor name');
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (t.shape.some((d) => !Number.isSafeInteger(d) || d < 0) || numel !== t.data.length)
      throw new SafetensorsError(`tensor "${name}": shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
    const bytes = encode(t.data, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...chunks]);
}

/** Writes `data` to `path` atomically: a temp file in the same folder, then rename. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* the temp file may not exist */
    }
    throw new SafetensorsError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

export function writeSafetensors(path: string, tensors: Map<string, NamedTensor> | Record<string, NamedTensor>, opts: WriteOptions = {}): void {
  writeFileAtomic(path, serializeSafetensors(tensors, opts));
}
