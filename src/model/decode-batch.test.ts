import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, Rng, scope } from '../engine/index.js';
import { loadModel } from './load.js';
import { addLora, removeLora, saveAdapter } from './lora.js';
import { DecodeBatch, prefill, prefillMany, readDetachedAdapter, withDetachedAdapter, type DetachedAdapter } from './decode-batch.js';
import type { Transformer } from './transformer.js';

const FIX = fileURLToPath(new URL('../../../src/model/fixtures/', import.meta.url));

/** Logits after the whole sequence, recomputed without a cache: the reference. */
function lastLogits(model: Transformer, seq: number[]): Float32Array {
  const V = model.config.vocabSize;
  return noGrad(() => scope(() => model.forward(Int32Array.from(seq), 1, seq.length).data.slice((seq.length - 1) * V)));
}
const argmax = (a: Float32Array) => a.reduce((best, v, i) => (v > a[best]! ? i : best), 0);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

function makeAdapter(model: Transformer, seed: number, dir: string): DetachedAdapter {
  const rng = new Rng(seed);
  const a = addLora(model, { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] }, rng);
  for (const p of a.parameters()) if (p.name!.endsWith('lora_B.weight')) for (let i = 0; i < p.size; i++) p.data[i] = 0.4 * rng.normal();
  saveAdapter(model, dir);
  removeLora(model);
  return readDetachedAdapter(model, dir);
}

for (const arch of ['llama', 'qwen3']) {
  test(`${arch}: sequences joining and leaving between steps, with mixed adapters, match full recomputation`, () => {
    const model = loadModel(`${FIX}${arch}`);
    const tmp = mkdtempSync(join(tmpdir(), 'rft-decode-'));
    try {
      const ad1 = makeAdapter(model, 1, join(tmp, 'a1'));
      const ad2 = makeAdapter(model, 2, join(tmp, 'a2'));
      const batch = new DecodeBatch(model, 64);
      const seqs = new Map<number, { seq: number[]; adapter: DetachedAdapter | null; steps: number }>();
      const add = (prompt: number[], adapter: DetachedAdapter | null, steps: number, copies = 1) => {
        const p = prefill(model, prompt, adapter);
        const ref = withDetachedAdapter(model, adapter, () => lastLogits(model, prompt));
        assert.ok(maxDiff(p.logits, ref) < 1e-4, 'prefill logits');
        for (const h of batch.join(p, adapter, copies)) seqs.set(h, { seq: [...prompt, argmax(p.logits)], adapter, steps });
      };
      add([5, 9, 12, 3, 7], null, 6);
      add([8, 2], ad1, 9, 2);
      for (let step = 0; step < 10; step++) {
        if (step === 2) add([30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46], ad2, 5);
        if (step === 3) add([11], null, 4);
        if (batch.size === 0) break;
        const tokens = new Map([...seqs].map(([h, s]) => [h, s.seq[s.seq.length - 1]!]));
        const logits = batch.step(tokens);
        for (const [h, l] of logits) {
          const s = seqs.get(h)!;
          const ref = withDetachedAdapter(model, s.adapter, () => lastLogits(model, s.seq));
          assert.ok(maxDiff(l, ref) < 1e-4, `step ${step} sequence ${h}: logits differ by ${maxDiff(l, ref)}`);
          s.seq.push(argmax(l));
          if (--s.steps === 0) {
            batch.leave(h);
            seqs.delete(h);
          }
        }
      }
      assert.equal(batch.size, seqs.size);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test('prefillMany (one left-padded forward) gives each prompt the cache and logits of its own prefill', () => {
  const model = loadModel(`${FIX}qwen2`);
  const prompts = [[5, 9, 12, 3, 7], [8, 2], [30, 31, 32, 33, 34, 35, 36, 37]];
  const many = prefillMany(model, prompts, null);
  prompts.forEach((p, i) => {
    const one = prefill(model, p, null);
    assert.equal(many[i]!.length, p.length);
    assert.ok(maxDiff(many[i]!.logits, one.logits) < 1e-4, `prompt ${i} logits`);
    many[i]!.k.forEach((k, l) => {
      assert.equal(k.length, one.k[l]!.length);
      assert.ok(maxDiff(k, one.k[l]!) < 1e-4, `prompt ${i} layer ${l} keys`);
      assert.ok(maxDiff(many[i]!.v[l]!, one.v[l]!) < 1e-4, `prompt ${i} layer ${l} values`);
    });
  });
});
