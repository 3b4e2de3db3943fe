import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { noGrad, scope } from '../engine/index.js';
import { loadModel, loadTokenizer } from './load.js';
import { sample } from './sampler.js';
import { logprobs } from './logprobs.js';
import { chooseTokens, SamplingScratch } from './sampling.js';
import { Rng } from '../engine/index.js';
import type { Transformer } from './transformer.js';

const FIX = fileURLToPath(new URL('../../../src/model/fixtures/', import.meta.url));
// The last prompt repeats the second: identical prompts share one prefill.
const prompts = [[5, 9, 12, 3, 7], [8, 2], [30, 31, 32, 33, 34, 35, 36, 37], [11], [8, 2]];

/** Greedy decoding by recomputing the whole sequence every step (no cache). */
function greedyNoCache(model: Transformer, prompt: number[], n: number): number[] {
  const seq = [...prompt];
  const V = model.config.vocabSize;
  for (let i = 0; i < n; i++) {
    const last = noGrad(() => scope(() => model.forward(Int32Array.from(seq), 1, seq.length).data.slice((seq.length - 1) * V)));
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v]! > last[best]!) best = v;
    seq.push(best);
  }
  return seq.slice(prompt.length);
}

for (const arch of ['llama', 'qwen2', 'qwen3']) {
  test(`${arch}: greedy decoding with the KV cache (batched, left-padded) equals full recomputation`, () => {
    const model = loadModel(`${FIX}${arch}`);
    const got = sample(model, prompts, { maxNewTokens: 12, temperature: 0, stopTokenIds: [], stopOnEos: false });
    prompts.forEach((p, b) => {
      assert.deepEqual(got[b]!.tokens, greedyNoCache(model, p, 12), `prompt ${b}`);
      assert.equal(got[b]!.finishReason, 'length');
    });
  });
}

test('sampled log-probs agree with teacher-forced log-probs within 1e-4 (temperature, top-p, top-k)', () => {
  const model = loadModel(`${FIX}qwen3`);
  for (const o of [{ temperature: 1 }, { temperature: 0.7, topP: 0.9 }, { temperature: 1.3, topK: 5 }, { temperature: 0 }]) {
    const s = sample(model, prompts, { maxNewTokens: 10, seed: 5, stopTokenIds: [], stopOnEos: false, ...o });
    // maxTokens 20 splits the batch into chunks of one or two items: chunking must not change anything.
    const tf = logprobs(model, prompts.map((p, b) => ({ prompt: p, completion: s[b]!.tokens })), { temperature: o.temperature || 1, maxTokens: o.temperature === 1 ? 20 : undefined });
    s.forEach((x, b) => {
      assert.equal(tf[b]!.length, x.tokens.length);
      x.logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - tf[b]![j]!) < 1e-4, `${JSON.stringify(o)} row ${b} token ${j}: ${lp} vs ${tf[b]![j]}`));
    });
  }
});

test('a seed fixes the samples; different seeds differ; a sample does not depend on its batch', () => {
  const model = loadModel(`${FIX}llama`);
  const o = { maxNewTokens: 8, temperature: 1.5, stopTokenIds: [], stopOnEos: false };
  const a = sample(model, prompts, { ...o, seed: 1 });
  assert.deepEqual(sample(model, prompts, { ...o, seed: 1 }), a);
  assert.notDeepEqual(sample(model, prompts, { ...o, seed: 2 }).map((s) => s.tokens), a.map((s) => s.tokens));
  // Row 0 alone, same seed, same index: the same tokens.
  assert.deepEqual(sample(model, [prompts[0]!], { ...o, seed: 1 })[0]!.tokens, a[0]!.tokens);
});

test('stop tokens, stop strings and max tokens set the finish reason; the text stops before the stop string', () => {
  const model = loadModel(`${FIX}llama`);
  const tok = loadTokenizer(`${FIX}llama`, model);
  const free = sample(model, prompts, { maxNewTokens: 16, temperature: 0, stopTokenIds: [], stopOnEos: false, tokenizer: tok });
  // Stop on the token greedy emits third: samples end right there, with that token included.
  const third = free[0]!.tokens[2]!;
  const st = sample(model, [prompts[0]!], { maxNewTokens: 16, temperature: 0, stopTokenIds: [third], stopOnEos: false })[0]!;
  const at = free[0]!.tokens.indexOf(third);
  assert.deepEqual(st.tokens, free[0]!.tokens.slice(0, at + 1));
  assert.equal(st.finishReason, 'stop');
  // A stop string made of the 4th and 5th generated characters.
  const full = free[1]!.text!;
  const stop = full.slice(3, 5);
  const ss = sample(model, [prompts[1]!], { maxNewTokens: 16, temperature: 0, stopTokenIds: [], stopOnEos: false, stopStrings: [stop], tokenizer: tok })[0]!;
  assert.equal(ss.finishReason, 'stop');
  assert.equal(ss.text, full.slice(0, full.indexOf(stop)));
  assert.ok(tok.decode(ss.tokens).includes(stop));
  assert.equal(sample(model, [prompts[1]!], { maxNewTokens: 3, temperature: 0, stopOnEos: false, stopTokenIds: [] })[0]!.tokens.length, 3);
  assert.throws(() => sample(model, prompts, { maxNewTokens: 0 }), /maxNewTokens must be a positive integer/);
  assert.throws(() => sample(model, [[]], { maxNewTokens: 2 }), /prompt 0 is empty/);
  assert.throws(() => sample(model, prompts, { maxNewTokens: 2, topP: 0 }), /topP must be in/);
  assert.throws(() => sample(model, prompts, { maxNewTokens: 2, stopStrings: ['x'] }), /stop strings need the tokenizer/);
});

test('token choice follows the truncated, renormalised distribution (top-k, top-p) empirically', () => {
  // Two identical rows over 5 tokens: probs ∝ exp(z): 0.4, 0.3, 0.15, 0.1, 0.05 (z = log p).
  const p = [0.4, 0.3, 0.15, 0.1, 0.05];
  const z = Float32Array.from([...p, ...p], Math.log);
  const rngs = [new Rng(3), new Rng(4)];
  const scratch = new SamplingScratch();
  const freq = (params: { temperature: number; topP: number; topK: number }) => {
    const c = new Array(5).fill(0);
    for (let i = 0; i < 10000; i++) for (const t of chooseTokens(z, 2, 5, params, rngs, scratch).tokens) c[t]++;
    return c.map((x) => x / 20000);
  };
  const close = (got: number[], want: number[]) => got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) < 0.015, `${got} vs ${want}`));
  close(freq({ temperature: 1, topP: 1, topK: 0 }), p);
  close(freq({ temperature: 1, topP: 1, topK: 2 }), [0.4 / 0.7, 0.3 / 0.7, 0, 0, 0]);
  close(freq({ temperature: 1, topP: 0.8, topK: 0 }), [0.4 / 0.85, 0.3 / 0.85, 0.15 / 0.85, 0, 0]); // 0.4+0.3 < 0.8 ≤ 0.85
  const t2 = p.map((x) => x ** 0.5);
  const Z2 = t2.reduce((a, b) => a + b);
  close(freq({ temperature: 2, topP: 1, topK: 0 }), t2.map((x) => x / Z2));
  const c = chooseTokens(z, 2, 5, { temperature: 2, topP: 0.5, topK: 0 }, [rngs[0]!, null], scratch);
  assert.equal(c.tokens[1], -1, 'a row without a generator is skipped');
  assert.ok(Math.abs(c.logprobs[0]! - Math.log(t2[c.tokens[0]!]! / Z2)) < 1e-6, 'log-prob is of the untruncated tempered distribution');
  const g = chooseTokens(z, 2, 5, { temperature: 0, topP: 1, topK: 0 }, [rngs[0]!, rngs[1]!], scratch);
  assert.deepEqual([...g.tokens], [0, 0]);
  assert.ok(Math.abs(g.logprobs[0]! - Math.log(0.4)) < 1e-6);
  assert.throws(() => chooseTokens(Float32Array.of(0, NaN), 1, 2, { temperature: 1, topP: 1, topK: 0 }, [rngs[0]!], scratch), /logit 1 of row 0 is NaN/);
});
