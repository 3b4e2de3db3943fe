import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, Rng, scope, Tensor16, type Tensor } from '../engine/index.js';
import { loadModel, saveModel } from './load.js';
import { addLora, AdapterError, getAdapter, loadAdapter, mergeLora, saveAdapter } from './lora.js';
import { readSafetensors } from './safetensors.js';
import type { ProjectionName, Transformer } from './transformer.js';

const FIX = fileURLToPath(new URL('../../../src/model/fixtures/', import.meta.url));
const ids = Int32Array.from([4, 8, 15, 16, 23, 42, 7]);
const logits = (m: Transformer) => noGrad(() => scope(() => Array.from(m.forward(ids, 1, ids.length).data)));
const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

function randomAdapter(m: Transformer, seed: number, modules: ProjectionName[] = ['q_proj', 'v_proj', 'gate_proj', 'down_proj']) {
  const rng = new Rng(seed);
  const a = addLora(m, { r: 3, alpha: 6, dropout: 0.1, targetModules: [...modules] }, rng);
  for (const p of a.parameters()) if (p.name!.endsWith('lora_B.weight')) for (let i = 0; i < p.size; i++) p.data[i] = 0.3 * rng.normal();
  return a;
}

test('a fresh adapter leaves the model unchanged (B = 0); disabling it gives the base policy', () => {
  const m = loadModel(`${FIX}qwen2`);
  const base = logits(m);
  addLora(m, { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'o_proj'] }, new Rng(1));
  assert.deepEqual(logits(m), base);
  randomAdapter(m, 2);
  const adapted = logits(m);
  assert.ok(maxDiff(adapted, base) > 1e-2, 'the adapter changes the output');
  assert.deepEqual(m.withoutAdapters(() => logits(m)), base);
  assert.deepEqual(logits(m), adapted);
});

test('adapter save → load round trip in PEFT layout, on a fresh copy of the base model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-lora-'));
  try {
    const m = loadModel(`${FIX}llama`);
    randomAdapter(m, 3);
    const adapted = logits(m);
    saveAdapter(m, dir, { baseModel: 'fixtures/llama' });
    assert.deepEqual(readdirSync(dir).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.equal(cfg.peft_type, 'LORA');
    assert.equal(cfg.r, 3);
    assert.equal(cfg.lora_alpha, 6);
    assert.deepEqual(cfg.target_modules, ['q_proj', 'v_proj', 'gate_proj', 'down_proj']);
    const names = [...readSafetensors(join(dir, 'adapter_model.safetensors')).tensors.keys()];
    assert.ok(names.includes('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight'));
    assert.ok(names.includes('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight'));
    assert.equal(names.length, 2 * 2 * 4);
    const fresh = loadModel(`${FIX}llama`);
    loadAdapter(fresh, dir);
    assert.deepEqual(logits(fresh), adapted);
    assert.equal(getAdapter(fresh)!.parameters().every((p) => p.requiresGrad), true);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('merging folds the adapter into the weights; the saved merged model reproduces the adapted logits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-merge-'));
  try {
    const m = loadModel(`${FIX}qwen3`, { weightsDtype: 'f32' });
    randomAdapter(m, 4, ['q_proj', 'k_proj', 'o_proj', 'up_proj']);
    const adapted = logits(m);
    mergeLora(m);
    assert.equal(getAdapter(m), null);
    assert.ok(maxDiff(logits(m), adapted) < 1e-4);
    saveModel(m, dir, { tokenizerFrom: `${FIX}qwen3` });
    assert.ok(maxDiff(logits(loadModel(dir)), adapted) < 1e-4);
    saveModel(m, dir, { dtype: 'BF16', maxShardBytes: 40_000 });
    const bf = loadModel(dir);
    assert.ok(readdirSync(dir).includes('model.safetensors.index.json'));
    assert.ok(!readdirSync(dir).includes('model.safetensors'), 'the earlier single-file weights are removed');
    const d = maxDiff(logits(bf), adapted);
    assert.ok(d > 0 && d < 0.1, `bf16 copy differs from f32 by ${d}`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('merging into a bf16 base widens the merged projections to F32 and leaves the others at 16 bits', () => {
  const m = loadModel(`${FIX}qwen3`);
  const f = loadModel(`${FIX}qwen3`, { weightsDtype: 'f32' });
  for (const model of [m, f]) randomAdapter(model, 4, ['k_proj']);
  mergeLora(m);
  mergeLora(f);
  const k = m.layers[1]!.proj.k_proj;
  assert.ok(!(k.weight instanceof Tensor16));
  assert.equal(m.params.get(`${k.name}.weight`), k.weight);
  assert.deepEqual((k.weight as Tensor).data, (f.layers[1]!.proj.k_proj.weight as Tensor).data);
  assert.ok(m.layers[1]!.proj.q_proj.weight instanceof Tensor16);
});

test('adapters that do not fit are refused with the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-lora-bad-'));
  try {
    const m = loadModel(`${FIX}llama`);
    assert.throws(() => loadAdapter(m, dir), /no adapter_config.json/);
    assert.throws(() => saveAdapter(m, dir), /no LoRA adapter is attached/);
    assert.throws(() => addLora(m, { r: 0, alpha: 1, dropout: 0, targetModules: ['q_proj'] }, new Rng(1)), /rank r must be a positive integer/);
    assert.throws(() => addLora(m, { r: 2, alpha: 1, dropout: 0, targetModules: ['qkv' as 'q_proj'] }, new Rng(1)), /"qkv" is not one of/);
    // An adapter made for a model with another hidden size.
    const other = loadModel(`${FIX}qwen3`);
    randomAdapter(other, 5, ['k_proj']);
    saveAdapter(other, dir);
    assert.throws(() => loadAdapter(m, dir), (e: Error) => e instanceof AdapterError && /k_proj.lora_[AB] has shape .* another base model/.test(e.message));
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, use_dora: true }));
    assert.throws(() => loadAdapter(m, dir), /use_dora=true \(DoRA\) is not supported/);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, target_modules: ['q_proj'] }));
    assert.throws(() => loadAdapter(other, dir), /missing lora_A for model.layers.0.self_attn.q_proj/);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, target_modules: '.*\\.k_proj' }));
    loadAdapter(other, dir); // a regex over module names, as PEFT allows
    assert.deepEqual(getAdapter(other)!.config.targetModules, ['k_proj']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('LoRA dropout is active only in training mode and reproducible from its generator', () => {
  const m = loadModel(`${FIX}llama`);
  randomAdapter(m, 6); // dropout 0.1
  const evalOut = logits(m);
  assert.deepEqual(logits(m), evalOut);
  m.train(true, new Rng(9));
  const a = logits(m);
  const b = logits(m);
  assert.ok(maxDiff(a, evalOut) > 1e-4 && maxDiff(a, b) > 1e-4, 'dropout masks change the output call to call');
  m.train(true, new Rng(9));
  assert.deepEqual(logits(m), a);
  m.train(false);
  const base = m.withoutAdapters(() => logits(m));
  m.train(true, new Rng(10));
  assert.deepEqual(m.withoutAdapters(() => logits(m)), base); // dropout belongs to the adapters: the base policy stays exact
  m.train(false);
  assert.deepEqual(logits(m), evalOut);
});
