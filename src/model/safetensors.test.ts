import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './dtype.js';
import { parseSafetensors, readHeader, serializeSafetensors, writeSafetensors, readSafetensors, SafetensorsError } from './safetensors.js';
import { readCheckpoint, writeCheckpoint, INDEX_FILE } from './checkpoint.js';

/** Builds a file by hand, byte by byte, the way the format spec describes it. */
function handFile(header: object, data: Uint8Array, pad = true): Buffer {
  let json = Buffer.from(JSON.stringify(header));
  if (pad && json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

test('f16 conversion matches IEEE half bit patterns, rounding to nearest even', () => {
  assert.equal(f32ToF16(1), 0x3c00);
  assert.equal(f32ToF16(-2), 0xc000);
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(65520), 0x7c00); // halfway to the next (non-existent) value rounds to inf
  assert.equal(f32ToF16(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(f32ToF16(2 ** -25), 0x0000); // tie with zero rounds to even (zero)
  assert.equal(f32ToF16(3 * 2 ** -25), 0x0002); // tie between 1 and 2 subnormal steps → even
  assert.equal(f32ToF16(2 ** -14), 0x0400); // smallest normal
  assert.equal(f32ToF16(0.1), 0x2e66);
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // tie → even mantissa
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
  assert.equal(f16ToF32(0x7c00), Infinity);
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.equal(f16ToF32(0x2e66), 0.0999755859375);
  for (let h = 0; h < 0x7c00; h += 37) assert.equal(f32ToF16(f16ToF32(h)), h, `round trip of half 0x${h.toString(16)}`);
});

test('bf16 conversion keeps the top 16 bits, rounding to nearest even', () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(Math.PI), 0x4049);
  assert.equal(bf16ToF32(0x4049), 3.140625);
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  assert.equal(f32ToBf16(-Infinity), 0xff80);
});

test('reads a hand-built file with metadata, F32, F16 and BF16 tensors', () => {
  const data = Buffer.alloc(8 + 4 + 4);
  data.writeFloatLE(1.5, 0);
  data.writeFloatLE(-2, 4);
  data.writeUInt16LE(0x3c00, 8); // F16 1.0
  data.writeUInt16LE(0xc000, 10); // F16 -2.0
  data.writeUInt16LE(0x4049, 12); // BF16 3.140625
  data.writeUInt16LE(0x3f80, 14); // BF16 1.0
  const buf = handFile({
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F16', shape: [1, 2], data_offsets: [8, 12] },
    c: { dtype: 'BF16', shape: [2, 1], data_offsets: [12, 16] },
  }, data);
  const st = parseSafetensors(buf);
  assert.deepEqual(st.metadata, { format: 'pt' });
  assert.deepEqual([...st.tensors.get('a')!.data], [1.5, -2]);
  assert.deepEqual(st.tensors.get('b')!.shape, [1, 2]);
  assert.deepEqual([...st.tensors.get('b')!.data], [1, -2]);
  assert.deepEqual([...st.tensors.get('c')!.data], [3.140625, 1]);
  assert.equal(st.dtypes.get('c'), 'BF16');
});

test('writer pads the header to 8 bytes and round-trips F32 exactly, F16/BF16 to their precision', () => {
  const t = { 'model.w': { shape: [3, 2], data: new Float32Array([0.1, -0.2, 3.3, 1e-3, 7, -65000]) }, 'model.b': { shape: [0], data: new Float32Array(0) } };
  const buf = serializeSafetensors(t, { metadata: { format: 'pt' } });
  assert.equal(Number(buf.readBigUInt64LE(0)) % 8, 0);
  const back = parseSafetensors(buf);
  assert.deepEqual([...back.tensors.get('model.w')!.data], [...t['model.w'].data]);
  assert.deepEqual(back.tensors.get('model.b')!.shape, [0]);
  for (const dtype of ['F16', 'BF16'] as const) {
    const r = parseSafetensors(serializeSafetensors(t, { dtype })).tensors.get('model.w')!;
    const conv = dtype === 'F16' ? (x: number) => f16ToF32(f32ToF16(x)) : (x: number) => bf16ToF32(f32ToBf16(x));
    assert.deepEqual([...r.data], [...t['model.w'].data].map(conv));
    const rel = dtype === 'F16' ? 2 ** -11 : 2 ** -8;
    [...r.data].forEach((v, i) => assert.ok(Math.abs(v - t['model.w'].data[i]!) <= rel * Math.abs(t['model.w'].data[i]!) + 1e-7));
  }
});

test('file write is atomic and leaves no temp files; readHeader reads only the header', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-st-'));
  try {
    const p = join(dir, 'x.safetensors');
    writeSafetensors(p, { a: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, { dtype: 'BF16' });
    assert.deepEqual(readdirSync(dir), ['x.safetensors']);
    const h = readHeader(p);
    assert.deepEqual(h.tensors.get('a')!.shape, [2, 2]);
    assert.equal(h.tensors.get('a')!.dtype, 'BF16');
    assert.deepEqual([...readSafetensors(p).tensors.get('a')!.data], [1, 2, 3, 4]);
    assert.throws(() => readSafetensors(join(dir, 'missing.safetensors')), /cannot read .*missing\.safetensors/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('corrupt files give errors that name the file and the tensor', () => {
  const f = (h: object, n: number) => handFile(h, Buffer.alloc(n));
  const bad = (buf: Buffer, re: RegExp) => assert.throws(() => parseSafetensors(buf, 'm.safetensors'), (e: Error) => e instanceof SafetensorsError && re.test(e.message) && e.message.includes('m.safetensors'));
  bad(Buffer.alloc(4), /shorter than the 8-byte/);
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(1000n);
  bad(huge, /runs past the end/);
  const giant = Buffer.alloc(16);
  giant.writeBigUInt64LE(2n ** 62n);
  bad(giant, /larger than/);
  bad(handFile({}, Buffer.alloc(0)).fill(0x7b, 8), /not valid UTF-8 JSON/);
  bad(f({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "a".*unknown dtype "Q4"/);
  bad(f({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8), /tensor "a".*I64 is not supported/);
  bad(f({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor "a".*needs 12 bytes but data_offsets span 8/);
  bad(f({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /tensor "a".*run past the data section/);
  bad(f({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /"b" overlaps|"a" overlaps/);
  bad(f({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /gap of 4 bytes before tensor "a"/);
  bad(f({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), /4 trailing bytes/);
  bad(f({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /tensor "a".*shape must be/);
  bad(f({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), /end 0 is before begin 4/);
  bad(f({ __metadata__: { n: 1 } }, 0), /__metadata__ must be an object of strings/);
  assert.throws(() => serializeSafetensors({ a: { shape: [3], data: new Float32Array(2) } }), /tensor "a": shape \[3\] does not match 2 values/);
});

test('sharded checkpoints: written with an index, read back, and inconsistent indexes rejected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-shard-'));
  try {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (let i = 0; i < 5; i++) tensors.set(`model.layers.${i}.w`, { shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, j) => i * 100 + j) });
    const files = writeCheckpoint(dir, tensors, { maxShardBytes: 2 * 64 });
    assert.equal(files.length, 4); // 3 shards of ≤ 2 tensors + the index
    const back = readCheckpoint(dir);
    assert.equal(back.tensors.size, 5);
    for (const [n, t] of tensors) assert.deepEqual([...back.tensors.get(n)!.data], [...t.data]);
    const idx = JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8'));
    assert.equal(idx.metadata.total_size, 5 * 64);
    idx.weight_map['model.layers.0.w'] = files[1];
    writeFileSync(join(dir, INDEX_FILE), JSON.stringify(idx));
    assert.throws(() => readCheckpoint(dir), /"model.layers.0.w" is in this shard but model.safetensors.index.json says model-00002/);
    idx.weight_map['model.layers.0.w'] = 'model-00009-of-00009.safetensors';
    writeFileSync(join(dir, INDEX_FILE), JSON.stringify(idx));
    assert.throws(() => readCheckpoint(dir), /lists shard model-00009-of-00009.safetensors but .* does not exist/);
    rmSync(join(dir, INDEX_FILE));
    assert.throws(() => readCheckpoint(dir), /no model.safetensors or model.safetensors.index.json/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
