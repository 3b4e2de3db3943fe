import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, initModel } from './init.js';
import { fileURLToPath } from 'node:url';
import { noGrad, scope, Tensor16, type Tensor } from '../engine/index.js';
import { loadModel } from './load.js';
import { ModelError } from './transformer.js';

const FIX = fileURLToPath(new URL('../../../src/model/fixtures/', import.meta.url));

/** Max |a − b| relative to the largest |b| (logits are compared as a whole). */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return m / s;
}

for (const arch of ['llama', 'qwen2', 'qwen3']) {
  test(`${arch}: logits match the independent PyTorch implementation (fixture)`, () => {
    const fx = JSON.parse(readFileSync(`${FIX}${arch}/logits.json`, 'utf8')) as { ids: number[]; logits: number[][] };
    const model = loadModel(`${FIX}${arch}`, { weightsDtype: 'f32' });
    const got = noGrad(() => scope(() => Array.from(model.forward(Int32Array.from(fx.ids), 1, fx.ids.length).data)));
    const want = fx.logits.flat();
    assert.equal(got.length, want.length);
    const d = maxRelDiff(got, want);
    assert.ok(d < 1e-4, `max relative difference ${d}`);
  });
}

test('qwen3 (a bf16 checkpoint) keeps its linear and embedding weights at 16 bits by default and still matches PyTorch', () => {
  const fx = JSON.parse(readFileSync(`${FIX}qwen3/logits.json`, 'utf8')) as { ids: number[]; logits: number[][] };
  const model = loadModel(`${FIX}qwen3`);
  assert.equal(model.weightsDtype, 'bf16');
  assert.ok(model.embed instanceof Tensor16 && model.layers[0]!.proj.q_proj.weight instanceof Tensor16);
  assert.ok(!(model.finalNorm instanceof Tensor16));
  const got = noGrad(() => scope(() => Array.from(model.forward(Int32Array.from(fx.ids), 1, fx.ids.length).data)));
  // Same weights; on AVX512-BF16 the products hold activations as two bf16 parts (2⁻¹⁶ relative):
  // measured 1.3e-5 of the largest logit (F32: 8e-7).
  const d = maxRelDiff(got, fx.logits.flat());
  assert.ok(d < 1e-4, `max relative difference ${d}`);
});

test('an F16 checkpoint stays f16 by default and computes exactly what its F32-widened copy computes; bf16 converts it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-f16-'));
  try {
    initModel(dir, { ...DEFAULTS, arch: 'qwen2', hidden: 96, layers: 2, heads: 4, kvHeads: 2, intermediate: 160, seed: 4, dtype: 'F16' });
    const f16 = loadModel(dir);
    const f32 = loadModel(dir, { weightsDtype: 'f32' });
    assert.equal(f16.weightsDtype, 'f16');
    const ids = Int32Array.from([3, 9, 27, 4, 11]);
    const run = (m: typeof f16) => noGrad(() => scope(() => Array.from(m.forward(ids, 1, ids.length).data)));
    // f16 weights take the widening paths (no f16 dot-product instruction): the same sums as F32.
    assert.deepEqual(run(f16), run(f32));
    assert.equal(loadModel(dir, { weightsDtype: 'bf16' }).weightsDtype, 'bf16');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--weights-dtype bf16 rounds an F32 checkpoint to bf16; a bad dtype is refused', () => {
  const f32 = loadModel(`${FIX}llama`);
  assert.equal(f32.weightsDtype, 'f32');
  const bf = loadModel(`${FIX}llama`, { weightsDtype: 'bf16' });
  assert.equal(bf.weightsDtype, 'bf16');
  const w = f32.layers[1]!.proj.down_proj.weight as Tensor;
  const w16 = bf.layers[1]!.proj.down_proj.weight as Tensor16;
  const wide = w16.toFloat32();
  for (let i = 0; i < w.size; i++) {
    const err = Math.abs(wide[i]! - w.data[i]!);
    assert.ok(err <= 2 ** -8 * Math.abs(w.data[i]!), `element ${i}: ${w.data[i]} → ${wide[i]}`);
  }
  assert.throws(() => loadModel(`${FIX}llama`, { weightsDtype: 'q4' as 'f32' }), /weights dtype must be one of auto, f32, bf16, got "q4"/);
  assert.throws(() => bf.setBaseTrainable(true), /base weights are bf16 \(frozen\); training them needs F32 weights/);
});

test('batched forward with left padding equals each sequence alone', () => {
  const model = loadModel(`${FIX}qwen3`);
  const a = [5, 9, 12, 3, 7];
  const b = [8, 2, 6];
  noGrad(() => scope(() => {
    const alone = (s: number[]) => Array.from(model.forward(Int32Array.from(s), 1, s.length).data);
    const la = alone(a);
    const lb = alone(b);
    const V = model.config.vocabSize;
    // b is left-padded by 2 with an arbitrary id; its padding must not change anything.
    const ids = Int32Array.from([...a, 1, 1, ...b]);
    const both = model.forward(ids, 2, 5, { pad: Int32Array.from([0, 2]) }).data;
    assert.ok(maxRelDiff(both.subarray(0, 5 * V), la) < 1e-6);
    assert.ok(maxRelDiff(both.subarray((5 + 2) * V, 10 * V), lb) < 1e-6);
  }));
});

test('forward rejects out-of-vocabulary ids and mis-shaped batches', () => {
  const model = loadModel(`${FIX}llama`);
  assert.throws(() => model.forward(Int32Array.from([1, 64]), 1, 2), (e: Error) => e instanceof ModelError && /token id 64 at index 1/.test(e.message));
  assert.throws(() => model.forward(Int32Array.from([1, 2, 3]), 2, 2), /do not form a \(B=2, T=2\) batch/);
});
