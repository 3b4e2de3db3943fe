import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, parameterCount, ConfigError } from './config.js';
import { inverseFrequencies, RopeTable } from './rope.js';
import { buildConfigJson, DEFAULTS, PRESETS } from './init.js';

const base = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100, rms_norm_eps: 1e-5, rope_theta: 500000,
  max_position_embeddings: 256, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: [2, 3], torch_dtype: 'bfloat16',
};

test('parses a Llama 3.2 style config with llama3 rope scaling and an eos list', () => {
  const c = parseConfig({ ...base, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
  assert.equal(c.arch, 'llama');
  assert.equal(c.headDim, 16);
  assert.deepEqual(c.eosTokenIds, [2, 3]);
  assert.equal(c.ropeScaling?.factor, 32);
  assert.equal(c.qkvBias, false);
  assert.equal(c.qkNorm, false);
  // embed 100·64 (tied) + 2 layers · (q 64·64 + k,v 2·64·32 + o 64·64 + mlp 3·64·128 + 2 norms 64) + final norm 64
  assert.equal(parameterCount(c), 6400 + 2 * (4096 + 4096 + 4096 + 24576 + 128) + 64);
});

test('Qwen2 always has q/k/v biases; Qwen3 has q/k norms and an explicit head_dim', () => {
  const q2 = parseConfig({ ...base, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', use_sliding_window: false, sliding_window: 4096 });
  assert.equal(q2.qkvBias, true);
  assert.equal(q2.oBias, false);
  const q3 = parseConfig({ ...base, architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', head_dim: 32, attention_bias: false });
  assert.equal(q3.headDim, 32);
  assert.equal(q3.qkNorm, true);
  assert.equal(q3.qkvBias, false);
});

test('transformers 5 rope_parameters are read like rope_theta / rope_scaling', () => {
  const c = parseConfig({ ...base, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 1234 } });
  assert.equal(c.ropeTheta, 1234);
  assert.equal(c.ropeScaling, null);
});

test('unsupported or inconsistent configs are clear errors, not guesses', () => {
  const bad = (patch: object, re: RegExp) => assert.throws(() => parseConfig({ ...base, ...patch }, 'm/config.json'), (e: Error) => e instanceof ConfigError && re.test(e.message) && e.message.startsWith('m/config.json'));
  bad({ architectures: ['MistralForCausalLM'] }, /architecture "MistralForCausalLM" is not supported/);
  bad({ model_type: 'qwen2' }, /model_type "qwen2" does not match/);
  bad({ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope scaling type "yarn" is not supported/);
  bad({ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /rope_scaling: missing "low_freq_factor"/);
  bad({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', use_sliding_window: true }, /use_sliding_window=true is not supported/);
  bad({ num_key_value_heads: 3 }, /multiple of num_key_value_heads/);
  bad({ hidden_act: 'gelu' }, /hidden_act "gelu"/);
  bad({ hidden_size: 0 }, /"hidden_size" must be a positive integer/);
  bad({ vocab_size: undefined }, /missing "vocab_size"/);
  bad({ mlp_bias: true }, /mlp_bias/);
  bad({ eos_token_id: [-1] }, /eos_token_id/);
  bad({ layer_types: ['full_attention', 'sliding_attention'] }, /sliding_attention/);
});

test('rope inverse frequencies and tables match a hand computation (plain and llama3-scaled)', () => {
  // D = 8, theta = 10000 → invFreq = 1, 0.1, 0.01, 0.001.
  const plain = inverseFrequencies(8, 10000, null);
  [1, 0.1, 0.01, 0.001].forEach((v, i) => assert.ok(Math.abs(plain[i]! - v) < 1e-7 * v));
  // llama3, original context 1000, low 1, high 4, factor 8: wavelengths 2π/f = 6.28, 62.8 (kept: < 250),
  // 628.3 (between 250 and 1000: smoothed), 6283 (> 1000: divided by 8).
  const s = inverseFrequencies(8, 10000, { ropeType: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 1000 });
  const smooth = (1000 / ((2 * Math.PI) / 0.01) - 1) / 3; // 0.19718
  const want = [1, 0.1, (1 - smooth) * (0.01 / 8) + smooth * 0.01, 0.001 / 8];
  want.forEach((v, i) => assert.ok(Math.abs(s[i]! - v) < 1e-6 * v, `invFreq[${i}] ${s[i]} vs ${v}`));
  const t = new RopeTable(8, 10000, null);
  t.ensure(10);
  assert.ok(t.length >= 10);
  for (const p of [0, 3, 9]) for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(t.cos[p * 4 + i]! - Math.cos(p * [1, 0.1, 0.01, 0.001][i]!)) < 1e-6);
    assert.ok(Math.abs(t.sin[p * 4 + i]! - Math.sin(p * [1, 0.1, 0.01, 0.001][i]!)) < 1e-6);
  }
  const before = t.cos.slice(0, 40);
  t.ensure(1000); // growing keeps the existing rows
  assert.deepEqual([...t.cos.slice(0, 40)], [...before]);
  assert.ok(Math.abs(t.sin[999 * 4 + 1]! - Math.sin(Math.fround(999 * Math.fround(0.1)))) < 1e-6);
});

test('published configs parse, and their parameter counts match the published model sizes', () => {
  // config.json of meta-llama/Llama-3.2-1B (1,235,814,400 parameters).
  const llama = parseConfig({
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001, head_dim: 64,
    hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 131072, mlp_bias: false,
    model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1, rms_norm_eps: 1e-5,
    rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
    rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true, vocab_size: 128256,
  });
  assert.equal(parameterCount(llama), 1_235_814_400);
  // Qwen/Qwen2.5-0.5B: 0.49B parameters, 0.36B without embeddings.
  const qwen2 = parseConfig({
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu', hidden_size: 896,
    initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24, model_type: 'qwen2', num_attention_heads: 14,
    num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true,
    torch_dtype: 'bfloat16', use_cache: true, use_sliding_window: false, vocab_size: 151936,
  });
  assert.equal(parameterCount(qwen2), 494_032_768);
  assert.equal(parameterCount(qwen2) - 151936 * 896, 357_898_112);
  // Qwen/Qwen3-0.6B: 0.6B parameters, 0.44B without embeddings; head_dim 128 ≠ 1024 / 16.
  const qwen3 = parseConfig({
    architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645, head_dim: 128,
    hidden_act: 'silu', hidden_size: 1024, initializer_range: 0.02, intermediate_size: 3072, max_position_embeddings: 40960, max_window_layers: 28,
    model_type: 'qwen3', num_attention_heads: 16, num_hidden_layers: 28, num_key_value_heads: 8, rms_norm_eps: 1e-6, rope_scaling: null,
    rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true, use_sliding_window: false, vocab_size: 151936,
  });
  assert.equal(parameterCount(qwen3), 596_049_920);
  assert.equal(qwen3.headDim, 128);
});

test('the smollm-135m preset has SmolLM-135M\'s shapes and parameter count', () => {
  const spec = { ...DEFAULTS, ...PRESETS['smollm-135m'] };
  const c = parseConfig(buildConfigJson(spec, 101, { bos: null, eos: 2, pad: 0 }));
  assert.equal(parameterCount(c), 134_515_008); // HuggingFaceTB/SmolLM-135M
  assert.deepEqual([c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.intermediateSize, c.vocabSize], [576, 30, 9, 3, 1536, 49152]);
});

test('the qwen2.5-0.5b and qwen3-0.6b presets have the published models\' parameter counts', () => {
  const count = (name: string) => parameterCount(parseConfig(buildConfigJson({ ...DEFAULTS, ...PRESETS[name] }, 101, { bos: null, eos: 2, pad: 0 })));
  assert.equal(count('qwen2.5-0.5b'), 494_032_768); // Qwen/Qwen2.5-0.5B
  assert.equal(count('qwen3-0.6b'), 596_049_920); // Qwen/Qwen3-0.6B
});
