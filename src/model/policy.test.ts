import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModel, type InitSpec } from './init.js';
import { loadModel, loadTokenizer } from './load.js';
import { TransformerPolicy } from './policy.js';
import { addLora, saveAdapter, loadAdapter } from './lora.js';
import { Rng, noGrad } from '../engine/index.js';
import type { Sequence } from '../contracts/policy-engine.js';

const spec: InitSpec = {
  arch: 'qwen2', hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 48, vocabFrom: 'chars', tieEmbeddings: true,
  ropeTheta: 10000, maxPositions: 256, rmsNormEps: 1e-6, seed: 3, dtype: 'F32', initStd: 0.2,
};

function tinyModelDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rft-policy-'));
  initModel(dir, spec);
  return dir;
}

const lora = { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj', 'up_proj'] as never[] };

function policyFor(dir: string, extra: Partial<ConstructorParameters<typeof TransformerPolicy>[2]> = {}) {
  const model = loadModel(dir);
  return new TransformerPolicy(model, loadTokenizer(dir, model), { lora, seed: 1, baseModelPath: dir, ...extra });
}

/** Puts random values into the (zero-initialised) LoRA B matrices so the adapter changes the model. */
function perturb(policy: TransformerPolicy, seed: number) {
  const rng = new Rng(seed);
  for (const L of policy.model.layers) for (const p of Object.values(L.proj)) if (p.lora) for (let i = 0; i < p.lora.B.size; i++) p.lora.B.data[i] = rng.normal() * 0.3;
}

test('sampled log-probs agree with teacher-forced ones within 1e-4 (the ratio GRPO relies on)', async () => {
  const policy = policyFor(tinyModelDir());
  perturb(policy, 2);
  const chat = policy.chat;
  const prompts = [chat.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }), chat.applyChatTemplate([{ role: 'user', content: 'a longer prompt' }], { addGenerationPrompt: true })];
  const samples = await policy.sample({ prompts, n: 3, maxNewTokens: 12, temperature: 0.7, seed: 5 });
  assert.equal(samples.length, 6);
  const seqs = samples.map((s) => ({ prompt: prompts[s.prompt], completion: s.tokens }));
  const tf = await policy.logprobs(seqs, { temperature: 0.7 });
  samples.forEach((s, i) => s.logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - tf[i][j]) < 1e-4, `sample ${i} token ${j}: ${lp} vs ${tf[i][j]}`)));
});

test('on a bf16 checkpoint (frozen 16-bit base) sampled and teacher-forced log-probs still agree within 1e-4', async () => {
  // hidden 96 ≥ 64: decoding takes the few-rows kernels, teacher forcing the packed ones.
  const dir = mkdtempSync(join(tmpdir(), 'rft-policy-bf16-'));
  initModel(dir, { ...spec, hidden: 96, intermediate: 160, dtype: 'BF16' });
  const policy = policyFor(dir);
  assert.equal(policy.model.weightsDtype, 'bf16');
  perturb(policy, 4);
  const chat = policy.chat;
  const prompts = [chat.applyChatTemplate([{ role: 'user', content: 'hi there' }], { addGenerationPrompt: true }), chat.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: true })];
  const samples = await policy.sample({ prompts, n: 4, maxNewTokens: 16, temperature: 1, seed: 9 });
  const seqs = samples.map((s) => ({ prompt: prompts[s.prompt], completion: s.tokens }));
  const tf = await policy.logprobs(seqs);
  samples.forEach((s, i) => s.logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - tf[i][j]) < 1e-4, `sample ${i} token ${j}: ${lp} vs ${tf[i][j]}`)));
});

/** Max |sampled − teacher-forced| log-prob over every sampled token, and the samples. */
async function mismatch(policy: TransformerPolicy, prompts: number[][], seed: number) {
  const samples = await policy.sample({ prompts, n: 4, maxNewTokens: 16, temperature: 1, seed });
  const tf = await policy.logprobs(samples.map((s) => ({ prompt: prompts[s.prompt], completion: s.tokens })));
  let max = 0;
  samples.forEach((s, i) => s.logprobs.forEach((lp, j) => (max = Math.max(max, Math.abs(lp - tf[i][j])))));
  return { max, samples };
}

test('merged-LoRA rollouts: the same samples as the two-product path, log-probs within 1e-4 of the training forward, the model restored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-policy-merged-'));
  initModel(dir, { ...spec, hidden: 96, intermediate: 160 });
  const merged = policyFor(dir, { mergedRollouts: 'on' });
  const plain = policyFor(dir, { mergedRollouts: 'off' });
  assert.equal(policyFor(dir).mergedRollouts, true, 'auto merges on an F32 base');
  perturb(merged, 6);
  perturb(plain, 6);
  const chat = merged.chat;
  const prompts = [chat.applyChatTemplate([{ role: 'user', content: 'merge me' }], { addGenerationPrompt: true }), chat.applyChatTemplate([{ role: 'user', content: 'q' }], { addGenerationPrompt: true })];
  const weightsBefore = merged.model.layers.map((L) => L.proj.q_proj.weight);
  const m = await mismatch(merged, prompts, 3);
  const p = await mismatch(plain, prompts, 3);
  t.diagnostic(`merged_lora_max_abs_logprob_diff ${m.max.toExponential(2)} (two-product path: ${p.max.toExponential(2)})`);
  assert.ok(m.max < 1e-4, `merged sampling moved log-probs by ${m.max}`);
  assert.deepEqual(m.samples.map((s) => s.tokens), p.samples.map((s) => s.tokens));
  // Restored: the same weight tensors, the adapters back on, reference sampling unaffected.
  merged.model.layers.forEach((L, i) => {
    assert.equal(L.proj.q_proj.weight, weightsBefore[i]);
    assert.ok(L.proj.q_proj.lora && L.proj.v_proj.lora);
  });
});

test('withMergedAdapter restores the projections when the sampling throws', async () => {
  const { withMergedAdapter } = await import('./lora.js');
  const policy = policyFor(tinyModelDir());
  const p = policy.model.layers[0]!.proj.up_proj;
  const [w, l] = [p.weight, p.lora];
  assert.throws(() => withMergedAdapter(policy.model, () => {
    assert.equal(p.lora, null);
    assert.notEqual(p.weight, w);
    throw new Error('boom');
  }), /boom/);
  assert.equal(p.weight, w);
  assert.equal(p.lora, l);
});

test('merged-LoRA rollouts are off by default on a bf16 base (F32 copies would double the bytes per token); forced on, the mismatch is measured', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-policy-merged16-'));
  initModel(dir, { ...spec, hidden: 96, intermediate: 160, dtype: 'BF16' });
  assert.equal(policyFor(dir).mergedRollouts, false);
  const on = policyFor(dir, { mergedRollouts: 'on' });
  perturb(on, 6);
  const chat = on.chat;
  const prompts = [chat.applyChatTemplate([{ role: 'user', content: 'merge me' }], { addGenerationPrompt: true })];
  const m = await mismatch(on, prompts, 3);
  t.diagnostic(`bf16 base, merged F32 copies: max |sampled − teacher-forced| log-prob ${m.max.toExponential(2)}`);
  assert.ok(m.max < 1e-3, `${m.max}`);
});

test('the reference policy is the model without the adapter', async () => {
  const dir = tinyModelDir();
  const policy = policyFor(dir);
  perturb(policy, 4);
  const seqs: Sequence[] = [{ prompt: [5, 6, 7], completion: [8, 9] }];
  const ref = await policy.logprobs(seqs, { reference: true });
  const base = loadModel(dir);
  const { logprobs } = await import('./logprobs.js');
  const expected = logprobs(base, seqs);
  ref[0].forEach((v, j) => assert.ok(Math.abs(v - expected[0][j]) < 1e-5));
  const adapted = await policy.logprobs(seqs);
  assert.ok(Math.abs(adapted[0][0] - ref[0][0]) > 1e-4, 'the adapter changes the policy');
});

test('forwardBackward gives the loss the current log-probs and the same gradient whether or not the batch is split', async () => {
  const dir = tinyModelDir();
  const seqs: Sequence[] = [
    { prompt: [3, 4, 5], completion: [6, 7, 8, 9] },
    { prompt: [10, 11], completion: [12] },
    { prompt: [13, 14, 15, 16, 17], completion: [18, 19] },
  ];
  const weights = [[1, -2, 0.5, 1], [3], [-1, 2]];
  const grads: Float32Array[][] = [];
  for (const maxBatchTokens of [4096, 8]) {
    const policy = policyFor(dir, { maxBatchTokens });
    perturb(policy, 7);
    const expected = await policy.logprobs(seqs);
    let seen: Float32Array[] = [];
    const { loss } = await policy.forwardBackward(seqs, (lps) => {
      seen = lps;
      return { loss: lps.reduce((a, l, i) => a + l.reduce((b, v, j) => b + v * weights[i][j], 0), 0), dlogp: weights };
    });
    seen.forEach((l, i) => l.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) < 1e-5)));
    assert.ok(Number.isFinite(loss));
    grads.push(policy.model.layers.flatMap((L) => Object.values(L.proj)).filter((p) => p.lora).flatMap((p) => [Float32Array.from(p.lora!.A.grad!), Float32Array.from(p.lora!.B.grad!)]));
  }
  grads[0].forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - grads[1][i][j]) <= 1e-5 + 1e-4 * Math.abs(v), `grad ${i}[${j}]: ${v} vs ${grads[1][i][j]}`)));
});

test('training state round-trips: a restored policy takes the same next step', async () => {
  const dir = tinyModelDir();
  const seqs: Sequence[] = [{ prompt: [3, 4], completion: [5, 6, 7] }];
  const lossFn = (lps: Float32Array[]) => ({ loss: -lps[0].reduce((a, b) => a + b, 0), dlogp: [lps[0].map(() => -1)] });
  const a = policyFor(dir);
  for (let i = 0; i < 2; i++) {
    await a.forwardBackward(seqs, lossFn);
    await a.optimStep({ lr: 0.01 });
  }
  const ckpt = mkdtempSync(join(tmpdir(), 'rft-policy-ckpt-'));
  await a.saveTrainingState(ckpt);
  const b = policyFor(dir);
  await b.loadTrainingState(ckpt);
  for (const p of [a, b]) {
    await p.forwardBackward(seqs, lossFn);
    await p.optimStep({ lr: 0.01 });
  }
  const [la, lb] = [await a.logprobs(seqs), await b.logprobs(seqs)];
  assert.deepEqual(Array.from(la[0]), Array.from(lb[0]));
  const other = policyFor(dir, { lora: { ...lora, targetModules: ['q_proj'] as never[] } });
  await assert.rejects(other.loadTrainingState(ckpt), /different LoRA settings/);
});

test('continuing from an adapter: it becomes the reference, and the saved adapter folds both into one PEFT adapter for the original base', async () => {
  const dir = tinyModelDir();
  // a first-stage adapter
  const sftDir = mkdtempSync(join(tmpdir(), 'rft-sft-adapter-'));
  const m0 = loadModel(dir);
  addLora(m0, { ...lora, targetModules: ['q_proj', 'v_proj'] as never[] }, new Rng(9));
  for (const L of m0.layers) for (const p of Object.values(L.proj)) if (p.lora) for (let i = 0; i < p.lora.B.size; i++) p.lora.B.data[i] = Math.sin(i) * 0.3;
  saveAdapter(m0, sftDir);
  const seqs: Sequence[] = [{ prompt: [20, 21, 22], completion: [23, 24, 25] }];
  const { logprobs } = await import('./logprobs.js');
  const sftLogprobs = noGrad(() => logprobs(m0, seqs));

  const policy = policyFor(dir, { initAdapter: sftDir });
  const ref = await policy.logprobs(seqs, { reference: true });
  ref[0].forEach((v, j) => assert.ok(Math.abs(v - sftLogprobs[0][j]) < 1e-5, 'the reference is the SFT policy'));
  perturb(policy, 11);
  const now = await policy.logprobs(seqs);
  const out = mkdtempSync(join(tmpdir(), 'rft-combined-'));
  await policy.saveAdapter(out);
  const fresh = loadModel(dir);
  loadAdapter(fresh, out);
  const reloaded = noGrad(() => logprobs(fresh, seqs));
  now[0].forEach((v, j) => assert.ok(Math.abs(v - reloaded[0][j]) < 1e-4, `token ${j}: ${v} vs ${reloaded[0][j]}`));
});

test('LoRA gradients through a frozen bf16 base match those through the same weights widened to F32 (to bf16 gradient precision)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-policy-bf16-grad-'));
  initModel(dir, { ...spec, hidden: 96, intermediate: 160, dtype: 'BF16' });
  const seqs: Sequence[] = [{ prompt: [3, 4, 5, 6, 7, 8], completion: [9, 10, 11, 12] }, { prompt: [13, 14], completion: [15, 16, 17] }];
  const weights = [[1, -2, 0.5, 1], [3, -1, 2]];
  const grads: Float32Array[] = [];
  for (const weightsDtype of ['auto', 'f32'] as const) {
    const model = loadModel(dir, { weightsDtype });
    const policy = new TransformerPolicy(model, loadTokenizer(dir, model), { lora, seed: 1, baseModelPath: dir });
    perturb(policy, 8);
    await policy.forwardBackward(seqs, () => ({ loss: 0, dlogp: weights }));
    grads.push(Float32Array.from(policy.model.layers.flatMap((L) => Object.values(L.proj)).filter((p) => p.lora).flatMap((p) => [...p.lora!.A.grad!, ...p.lora!.B.grad!])));
  }
  let dot = 0, n0 = 0, n1 = 0, diff = 0;
  grads[0]!.forEach((v, i) => {
    const w = grads[1]![i]!;
    dot += v * w; n0 += v * v; n1 += w * w; diff += (v - w) ** 2;
  });
  // The backward into x rounds dy to bf16 (2⁻⁸ relative per element) on AVX512-BF16; elsewhere it is exact.
  t.diagnostic(`relative LoRA gradient error ${Math.sqrt(diff / n1).toExponential(2)}, cosine ${(dot / Math.sqrt(n0 * n1)).toFixed(6)}`);
  assert.ok(Math.sqrt(diff / n1) < 2e-2, `relative gradient error ${Math.sqrt(diff / n1)}`);
  assert.ok(dot / Math.sqrt(n0 * n1) > 0.9998, `cosine ${dot / Math.sqrt(n0 * n1)}`);
});

test('a loss on the entropies back-propagates through the whole distribution: parameter gradient matches finite differences, split or not', async () => {
  const dir = tinyModelDir();
  const seqs: Sequence[] = [
    { prompt: [3, 4, 5], completion: [6, 7, 8] },
    { prompt: [10, 11], completion: [12, 13] },
  ];
  const wH = [[0.5, -1, 2], [1, 0.25]];
  // L = Σ wH·H (no log-prob term), at temperature 0.8
  const entropyLoss = (lps: Float32Array[], ents?: Float32Array[]) => ({
    loss: ents!.reduce((a, e, i) => a + e.reduce((b, h, j) => b + h * wH[i][j], 0), 0),
    dlogp: lps.map((l) => new Float64Array(l.length)),
    dentropy: wH,
  });
  for (const maxBatchTokens of [4096, 8]) {
    const policy = policyFor(dir, { maxBatchTokens });
    perturb(policy, 9);
    const L0 = (await policy.forwardBackward(seqs, entropyLoss, { temperature: 0.8 })).loss;
    assert.ok(Number.isFinite(L0));
    const p = policy.model.layers[1]!.proj.v_proj!.lora!;
    const grad = Float32Array.from(p.B.grad!);
    const value = async () => {
      let v = 0;
      await policy.forwardBackward(seqs, (lps, ents) => {
        v = entropyLoss(lps, ents).loss;
        return { loss: v, dlogp: lps.map((l) => new Float64Array(l.length)) };
      }, { temperature: 0.8 });
      return v;
    };
    for (const i of [0, 5, 17]) {
      const h = 1e-2;
      const x = p.B.data[i]!;
      p.B.data[i] = x + h;
      const up = await value();
      p.B.data[i] = x - h;
      const dn = await value();
      p.B.data[i] = x;
      const fd = (up - dn) / (2 * h);
      assert.ok(Math.abs(grad[i]! - fd) <= 2e-3 + 2e-2 * Math.abs(fd), `maxBatchTokens ${maxBatchTokens}, B[${i}]: ${grad[i]} vs ${fd}`);
    }
  }
});

test('resetReference: the reference becomes the current policy (LoRA and full weights), and the checkpoint keeps it', async () => {
  const dir = tinyModelDir();
  const seqs: Sequence[] = [{ prompt: [3, 4], completion: [5, 6, 7] }];
  const lossFn = (lps: Float32Array[]) => ({ loss: -lps[0].reduce((a, b) => a + b, 0), dlogp: [lps[0].map(() => -1)] });
  for (const full of [false, true]) {
    const p = policyFor(dir, { full });
    const start = await p.logprobs(seqs, { reference: true });
    for (let i = 0; i < 3; i++) {
      await p.forwardBackward(seqs, lossFn);
      await p.optimStep({ lr: 0.02 });
    }
    const now = await p.logprobs(seqs);
    // before a reset the reference is the starting policy, however far training went
    assert.deepEqual(Array.from((await p.logprobs(seqs, { reference: true }))[0]), Array.from(start[0]), `full=${full}`);
    assert.ok(Math.abs(now[0][0] - start[0][0]) > 1e-4, 'training moved the policy');
    await p.resetReference();
    assert.deepEqual(Array.from((await p.logprobs(seqs, { reference: true }))[0]), Array.from(now[0]));
    // the policy itself is untouched by computing the reference
    assert.deepEqual(Array.from((await p.logprobs(seqs))[0]), Array.from(now[0]));
    await p.forwardBackward(seqs, lossFn);
    await p.optimStep({ lr: 0.02 });
    const ckpt = mkdtempSync(join(tmpdir(), 'rft-policy-ref-'));
    await p.saveTrainingState(ckpt);
    const q = policyFor(dir, { full });
    await q.loadTrainingState(ckpt);
    assert.deepEqual(Array.from((await q.logprobs(seqs, { reference: true }))[0]), Array.from(now[0]), `restored reference, full=${full}`);
  }
});
