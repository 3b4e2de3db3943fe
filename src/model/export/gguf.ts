/**
 * GGUF v3 files (the llama.cpp / Ollama format): a writer and a reader.
 *
 * Layout (little-endian): magic "GGUF", version u32 = 3, tensor count u64, metadata count u64;
 * metadata as (key: string, type: u32, value); tensor infos as (name: string, n_dims: u32,
 * dims: u64[n_dims] fastest-varying first, type: u32, offset: u64 from the data section); padding
 * to the alignment (general.alignment, default 32); the data section, each tensor aligned.
 * A string is a u64 byte length then UTF-8 bytes.
 */
import { closeSync, openSync, readFileSync, writeSync, renameSync } from 'node:fs';
import { f16ToF32, f32ToF16 } from '../dtype.js';

export class GgufError extends Error {}

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

/** Metadata value types. */
export const enum VT {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
}

/** Tensor types this writer handles (ggml_type ids). */
export type GgmlType = 'F32' | 'F16';
const GGML_TYPE_ID: Record<GgmlType, number> = { F32: 0, F16: 1 };
const GGML_TYPE_NAME: Record<number, GgmlType> = { 0: 'F32', 1: 'F16' };

/** A typed metadata value: scalars and arrays carry their GGUF type. */
export type MetaValue =
  | { type: VT.U32 | VT.I32 | VT.F32 | VT.U64 | VT.I64 | VT.F64 | VT.U8 | VT.I8 | VT.U16 | VT.I16; value: number }
  | { type: VT.BOOL; value: boolean }
  | { type: VT.STRING; value: string }
  | { type: VT.ARRAY; itemType: VT.STRING; value: string[] }
  | { type: VT.ARRAY; itemType: VT.I32 | VT.F32 | VT.U32; value: number[] };

export const meta = {
  u32: (value: number): MetaValue => ({ type: VT.U32, value }),
  i32: (value: number): MetaValue => ({ type: VT.I32, value }),
  f32: (value: number): MetaValue => ({ type: VT.F32, value }),
  bool: (value: boolean): MetaValue => ({ type: VT.BOOL, value }),
  str: (value: string): MetaValue => ({ type: VT.STRING, value }),
  strings: (value: string[]): MetaValue => ({ type: VT.ARRAY, itemType: VT.STRING, value }),
  i32s: (value: number[]): MetaValue => ({ type: VT.ARRAY, itemType: VT.I32, value }),
  f32s: (value: number[]): MetaValue => ({ type: VT.ARRAY, itemType: VT.F32, value }),
};

export interface GgufTensor {
  name: string;
  /** Row-major shape as in PyTorch, e.g. (out, in); stored reversed (ne0 = in). */
  shape: number[];
  type: GgmlType;
  data: Float32Array;
}

/** Serialises metadata and tensor infos into one buffer (grows as needed). */
class Writer {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(b, 0, 0, this.length);
    this.buf = b;
  }
  u8(v: number): void { this.ensure(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number): void { this.ensure(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number): void { this.ensure(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number): void { this.ensure(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number): void { this.ensure(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number): void { this.ensure(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: number): void { this.ensure(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  i64(v: number): void { this.ensure(8); this.buf.writeBigInt64LE(BigInt(v), this.length); this.length += 8; }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.ensure(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }
  pad(align: number): void {
    const n = (align - (this.length % align)) % align;
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
  scalar(type: VT, v: number | boolean | string): void {
    switch (type) {
      case VT.U8: return this.u8(v as number);
      case VT.I8: return this.i8(v as number);
      case VT.U16: return this.u16(v as number);
      case VT.I16: return this.i16(v as number);
      case VT.U32: return this.u32(v as number);
      case VT.I32: return this.i32(v as number);
      case VT.F32: return this.f32(v as number);
      case VT.BOOL: return this.u8(v ? 1 : 0);
      case VT.STRING: return this.str(v as string);
      case VT.U64: return this.u64(v as number);
      case VT.I64: return this.i64(v as number);
      case VT.F64: return this.f64(v as number);
      default: throw new GgufError(`metadata type ${type} is not a scalar type`);
    }
  }
}

function tensorBytes(t: GgufTensor): Buffer {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) throw new GgufError(`tensor ${t.name}: shape [${t.shape}] holds ${n} values, data has ${t.data.length}`);
  if (t.type === 'F32') return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const h = new Uint16Array(n);
  for (let i = 0; i < n; i++) h[i] = f32ToF16(t.data[i]!);
  return Buffer.from(h.buffer);
}

/** Writes a GGUF v3 file (atomically: a temporary file renamed into place). */
export function writeGguf(path: string, metadata: Map<string, MetaValue>, tensors: GgufTensor[]): void {
  const align = DEFAULT_ALIGNMENT;
  const w = new Writer();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(metadata.size);
  for (const [key, v] of metadata) {
    w.str(key);
    w.u32(v.type);
    if (v.type === VT.ARRAY) {
      w.u32(v.itemType);
      w.u64(v.value.length);
      for (const x of v.value) w.scalar(v.itemType, x);
    } else w.scalar(v.type, v.value);
  }
  const names = new Set<string>();
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    if (names.has(t.name)) throw new GgufError(`tensor ${t.name} is given twice`);
    names.add(t.name);
    w.str(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(GGML_TYPE_ID[t.type]);
    w.u64(offset);
    const size = t.data.length * (t.type === 'F32' ? 4 : 2);
    sizes.push(size);
    offset += Math.ceil(size / align) * align;
  }
  w.pad(align);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, w.bytes());
    const zeros = Buffer.alloc(align);
    tensors.forEach((t, i) => {
      writeSync(fd, tensorBytes(t));
      const padN = (align - (sizes[i]! % align)) % align;
      if (padN) writeSync(fd, zeros, 0, padN);
    });
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export interface GgufFile {
  version: number;
  metadata: Map<string, unknown>;
  tensors: Map<string, { shape: number[]; type: GgmlType; data: Float32Array }>;
}

/** Reads a GGUF file written with F32/F16 tensors (for checks and tests). */
export function readGguf(path: string): GgufFile {
  const buf = readFileSync(path);
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > buf.length) throw new GgufError(`${path}: truncated while reading ${what} at byte ${at}`);
  };
  const u32 = () => (need(4, 'u32'), (at += 4), buf.readUInt32LE(at - 4));
  const u64 = () => {
    need(8, 'u64');
    const v = buf.readBigUInt64LE(at);
    at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${path}: a u64 of ${v} at byte ${at - 8} is too large`);
    return Number(v);
  };
  const str = () => {
    const n = u64();
    need(n, 'string');
    at += n;
    return buf.toString('utf8', at - n, at);
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case VT.U8: return (need(1, 'u8'), (at += 1), buf.readUInt8(at - 1));
      case VT.I8: return (need(1, 'i8'), (at += 1), buf.readInt8(at - 1));
      case VT.U16: return (need(2, 'u16'), (at += 2), buf.readUInt16LE(at - 2));
      case VT.I16: return (need(2, 'i16'), (at += 2), buf.readInt16LE(at - 2));
      case VT.U32: return u32();
      case VT.I32: return (need(4, 'i32'), (at += 4), buf.readInt32LE(at - 4));
      case VT.F32: return (need(4, 'f32'), (at += 4), buf.readFloatLE(at - 4));
      case VT.BOOL: return (need(1, 'bool'), (at += 1), buf.readUInt8(at - 1) !== 0);
      case VT.STRING: return str();
      case VT.U64: return u64();
      case VT.I64: return (need(8, 'i64'), (at += 8), Number(buf.readBigInt64LE(at - 8)));
      case VT.F64: return (need(8, 'f64'), (at += 8), buf.readDoubleLE(at - 8));
      default: throw new GgufError(`${path}: unknown metadata type ${type} at byte ${at - 4}`);
    }
  };
  if (u32() !== GGUF_MAGIC) throw new GgufError(`${path}: not a GGUF file (bad magic)`);
  const version = u32();
  if (version !== 2 && version !== 3) throw new GgufError(`${path}: GGUF version ${version} is not supported (expected 3)`);
  const nTensors = u64();
  const nMeta = u64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < nMeta; i++) {
    const key = str();
    const type = u32();
    if (type === VT.ARRAY) {
      const itemType = u32();
      const n = u64();
      const arr: unknown[] = [];
      for (let j = 0; j < n; j++) arr.push(scalar(itemType));
      metadata.set(key, arr);
    } else metadata.set(key, scalar(type));
  }
  const infos: { name: string; shape: number[]; type: GgmlType; offset: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    const dims: number[] = [];
    for (let j = 0; j < nd; j++) dims.push(u64());
    const typeId = u32();
    const type = GGML_TYPE_NAME[typeId];
    if (!type) throw new GgufError(`${path}: tensor ${name} has ggml type ${typeId}; only F32 and F16 are read`);
    infos.push({ name, shape: dims.reverse(), type, offset: u64() });
  }
  const align = (metadata.get('general.alignment') as number | undefined) ?? DEFAULT_ALIGNMENT;
  const dataStart = Math.ceil(at / align) * align;
  const tensors = new Map<string, { shape: number[]; type: GgmlType; data: Float32Array }>();
  for (const t of infos) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const start = dataStart + t.offset;
    const size = n * (t.type === 'F32' ? 4 : 2);
    if (start + size > buf.length) throw new GgufError(`${path}: tensor ${t.name} runs past the end of the file`);
    const data = new Float32Array(n);
    if (t.type === 'F32') for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(start + 4 * i);
    else for (let i = 0; i < n; i++) data[i] = f16ToF32(buf.readUInt16LE(start + 2 * i));
    tensors.set(t.name, { shape: t.shape, type: t.type, data });
  }
  return { version, metadata, tensors };
}
