import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parameterCount, readConfig } from '../../model/config.js';
import { readCheckpoint } from '../../model/checkpoint.js';
import { loadModel } from '../../model/load.js';
import { addLora, saveAdapter } from '../../model/lora.js';
import { noGrad, Rng, scope } from '../../engine/index.js';

const bin = fileURLToPath(new URL('../main.js', import.meta.url));
const FIX = fileURLToPath(new URL('../../../../src/model/fixtures/', import.meta.url));
const rft = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, RFT_ENGINE: 'reference' } });

test('rft model init writes a loadable HF folder; the seed fixes the weights; info reports it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-init-'));
  try {
    const args = ['model', 'init', '--arch', 'qwen3', '--hidden', '48', '--layers', '2', '--heads', '4', '--kv-heads', '2', '--head-dim', '16', '--intermediate', '96', '--no-tie', '--seed', '9', '--dtype', 'bf16'];
    const r = rft(...args, '--out', join(dir, 'a'));
    assert.equal(r.status, 0, r.stderr);
    const c = readConfig(join(dir, 'a'));
    assert.equal(c.architecture, 'Qwen3ForCausalLM');
    assert.equal(c.headDim, 16);
    assert.equal(c.tieWordEmbeddings, false);
    const w = readCheckpoint(join(dir, 'a'));
    assert.equal(w.dtypes.get('lm_head.weight'), 'BF16');
    const q = w.tensors.get('model.layers.1.self_attn.q_proj.weight')!;
    assert.deepEqual(q.shape, [64, 48]);
    const std = Math.sqrt(q.data.reduce((a, v) => a + v * v, 0) / q.data.length);
    assert.ok(Math.abs(std - 0.02) < 0.003, `init std ${std}`);
    assert.ok(w.tensors.get('model.norm.weight')!.data.every((v) => v === 1));
    assert.equal(rft(...args, '--out', join(dir, 'b')).status, 0);
    assert.deepEqual(readFileSync(join(dir, 'a', 'model.safetensors')), readFileSync(join(dir, 'b', 'model.safetensors')));
    assert.equal(rft(...args.slice(0, -4), '--seed', '10', '--out', join(dir, 'c')).status, 0);
    assert.notDeepEqual(readFileSync(join(dir, 'a', 'model.safetensors')), readFileSync(join(dir, 'c', 'model.safetensors')));

    const info = rft('model', 'info', join(dir, 'a'), '--json');
    assert.equal(info.status, 0, info.stderr);
    const j = JSON.parse(info.stdout);
    assert.equal(j.parameters, parameterCount(c));
    assert.equal(j.expected_parameters, j.parameters);
    assert.deepEqual(Object.keys(j.dtypes), ['BF16']);
    assert.equal(j.tokenizer.size, 101);
    assert.deepEqual(j.tokenizer.eos.map((e: { token: string }) => e.token), ['<|endoftext|>', '<|im_end|>']);
    assert.equal(j.warnings.length, 0);
    assert.match(rft('model', 'info', join(dir, 'a')).stdout, /Qwen3ForCausalLM[\s\S]*parameters/);

    const again = rft(...args, '--out', join(dir, 'a'));
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already holds a model .* --force/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('rft model init: the tiny preset has about 10M parameters; bad flags are clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-init-'));
  try {
    const r = rft('model', 'init', '--preset', 'tiny', '--out', dir, '--json');
    assert.equal(r.status, 0, r.stderr);
    const n = JSON.parse(r.stdout).parameters;
    assert.ok(n > 8e6 && n < 12e6, `${n} parameters`);
    const bad = (args: string[], re: RegExp) => {
      const x = rft('model', 'init', '--out', join(dir, 'x'), ...args);
      assert.equal(x.status, 2);
      assert.match(x.stderr, re);
      assert.doesNotMatch(x.stderr, /at .*\.js:\d+/); // no stack trace
    };
    bad(['--arch', 'gpt2'], /--arch must be llama, qwen2 or qwen3/);
    bad(['--heads', '5', '--hidden', '64'], /not divisible by --heads 5/);
    bad(['--heads', '4', '--kv-heads', '3'], /multiple of --kv-heads 3/);
    bad(['--preset', 'huge'], /unknown --preset "huge"/);
    bad(['--vocab-from', join(dir, 'missing.txt')], /--vocab-from .*missing.txt: cannot read/);
    bad(['--llama3-rope', '8,1,4'], /--llama3-rope must be four positive numbers/);
    bad(['--dtype', 'q4'], /--dtype must be f32, f16 or bf16/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('rft model forward --json prints the logits the fixture implementation computed', () => {
  const fx = JSON.parse(readFileSync(join(FIX, 'llama', 'logits.json'), 'utf8'));
  const r = rft('model', 'forward', '--model', join(FIX, 'llama'), '--ids', fx.ids.join(','), '--json');
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout).logits as number[][];
  assert.equal(got.length, fx.ids.length);
  assert.equal(got[0]!.length, 64);
  got.forEach((row, t) => row.forEach((v, i) => assert.ok(Math.abs(v - fx.logits[t][i]) < 1e-3)));
  // With an adapter: the logits the in-process model computes with that adapter loaded.
  const dir = mkdtempSync(join(tmpdir(), 'rft-fwd-'));
  try {
    const m = loadModel(join(FIX, 'llama'));
    const a = addLora(m, { r: 2, alpha: 4, dropout: 0, targetModules: ['v_proj', 'up_proj'] }, new Rng(3));
    for (const p of a.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = 0.2 * Math.sin(i + p.size);
    saveAdapter(m, dir);
    const want = noGrad(() => scope(() => Array.from(m.forward(Int32Array.from([3, 4, 5]), 1, 3).data)));
    const withA = rft('model', 'forward', '--model', join(FIX, 'llama'), '--adapter', dir, '--ids', '3,4,5', '--json');
    assert.equal(withA.status, 0, withA.stderr);
    const flat = (JSON.parse(withA.stdout).logits as number[][]).flat();
    flat.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5));
    const base = (JSON.parse(rft('model', 'forward', '--model', join(FIX, 'llama'), '--ids', '3,4,5', '--json').stdout).logits as number[][]).flat();
    assert.ok(base.some((v, i) => Math.abs(v - want[i]!) > 1e-3), 'the adapter changes the logits');
  } finally {
    rmSync(dir, { recursive: true });
  }
  const bad = rft('model', 'forward', '--model', join(FIX, 'llama'), '--ids', '1,x');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--ids must be comma-separated/);
  const nodir = rft('model', 'forward', '--model', join(FIX, 'nope'), '--ids', '1');
  assert.equal(nodir.status, 2);
  assert.match(nodir.stderr, /cannot read .*config.json/);
});

test('rft generate samples from a prompt or chat messages, with a seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-gen-'));
  try {
    const args = ['generate', '--model', join(FIX, 'qwen2'), '--max-tokens', '6', '--temperature', '0.9', '--seed', '4', '--json', '--n', '2'];
    const a = rft(...args, '--prompt', 'abc');
    assert.equal(a.status, 0, a.stderr);
    const lines = a.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    for (const s of lines) {
      assert.ok(s.tokens.length >= 1 && s.tokens.length <= 6);
      assert.equal(s.logprobs.length, s.tokens.length);
      assert.ok(['stop', 'length'].includes(s.finish_reason));
    }
    assert.equal(rft(...args, '--prompt', 'abc').stdout, a.stdout);
    writeFileSync(join(dir, 'm.json'), JSON.stringify({ messages: [{ role: 'user', content: '1+1=' }] }));
    const c = rft(...args, '--messages', join(dir, 'm.json'));
    assert.equal(c.status, 0, c.stderr);
    // <|im_start|> "user\n1+1=" <|im_end|> "\n" <|im_start|> "assistant\n": 1 + 9 + 1 + 1 + 1 + 10 tokens (one per character).
    assert.equal(JSON.parse(c.stdout.split('\n')[0]!).prompt_tokens, 23);
    const both = rft('generate', '--model', join(FIX, 'qwen2'), '--prompt', 'a', '--messages', join(dir, 'm.json'));
    assert.equal(both.status, 2);
    assert.match(both.stderr, /exactly one of --prompt TEXT or --messages FILE/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('rft bench model --json prints the figures as one JSON object', () => {
  const r = rft('bench', 'model', '--model', join(FIX, 'qwen3'), '--batch', '1', '--seq', '8', '--sample-seqs', '2', '--sample-tokens', '2', '--repeats', '1', '--lora-rank', '2', '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const numbers = ['fwd_bwd_tokens_per_s', 'fwd_tokens_per_s', 'peak_rss_mb', 'sample_merged_tokens_per_s', 'sample_tokens_per_s', 'threads'];
  // The bandwidth bound needs the native addon; this run is on the reference kernels.
  const bound = ['read_bandwidth_gbs', 'sample_bound_tokens_per_s', 'sample_fraction_of_bound'];
  assert.deepEqual(Object.keys(j).sort(), [...numbers, ...bound, 'weights_dtype'].sort());
  for (const k of numbers) assert.ok(typeof j[k] === 'number' && j[k] > 0, k);
  for (const k of bound) assert.equal(j[k], null, k);
  assert.equal(j.weights_dtype, 'bf16');
});

test('--weights-dtype: generate on a bf16 checkpoint gives the same greedy tokens with its bf16 weights and widened to f32; bad values are refused', () => {
  const args = ['generate', '--model', `${FIX}qwen3`, '--prompt', 'abc', '--max-tokens', '5', '--temperature', '0', '--json'];
  const bf = rft(...args);
  assert.equal(bf.status, 0, bf.stderr);
  const f32 = rft(...args, '--weights-dtype', 'f32');
  assert.equal(f32.status, 0, f32.stderr);
  // The reference engine sums the bf16 products in float64 either way: the same tokens and log-probs.
  assert.deepEqual(JSON.parse(bf.stdout).tokens, JSON.parse(f32.stdout).tokens);
  const bad = rft(...args, '--weights-dtype', 'int4');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--weights-dtype must be f32 or bf16, got "int4"/);
});
