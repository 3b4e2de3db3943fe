import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { noGrad, scope } from '../engine/index.js';
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
    const model = loadModel(`${FIX}${arch}`);
    const got = noGrad(() => scope(() => Array.from(model.forward(Int32Array.from(fx.ids), 1, fx.ids.length).data)));
    const want = fx.logits.flat();
    assert.equal(got.length, want.length);
    const d = maxRelDiff(got, want);
    assert.ok(d < 1e-4, `max relative difference ${d}`);
  });
}

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
