/**
 * Gradient check of whole small models against central finite differences: the LoRA weights
 * (base frozen) and, separately, every kind of base weight (full fine-tuning). The loss is the
 * cross-entropy of a left-padded batch, so padding, GQA, RoPE, q/k norms, biases and tied or
 * untied heads are all on the path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { backward, crossEntropy, noGrad, reshape, Rng, scope, type Tensor } from '../engine/index.js';
import { loadModel } from './load.js';
import { addLora, getAdapter } from './lora.js';
import type { Transformer } from './transformer.js';

const FIX = fileURLToPath(new URL('../../../src/model/fixtures/', import.meta.url));

// Two rows, the second left-padded by 2; targets are the next token, −1 on padding and the last slot.
const B = 2;
const T = 6;
const ids = Int32Array.from([5, 9, 12, 3, 7, 20, 0, 0, 8, 2, 6, 31]);
const pad = Int32Array.from([0, 2]);
const targets = Int32Array.from([9, 12, 3, 7, 20, -1, -1, -1, 2, 6, 31, -1]);

function loss(model: Transformer): Tensor {
  const logits = model.forward(ids, B, T, { pad });
  return crossEntropy(reshape(logits, [B * T, model.config.vocabSize]), targets);
}

function lossValue(model: Transformer): number {
  return noGrad(() => scope(() => loss(model).item()));
}

/** Compares .grad of `p` with central differences at `n` random coordinates. */
function check(model: Transformer, p: Tensor, n: number, rng: Rng, label: string): void {
  const g = p.grad;
  assert.ok(g, `${label}: no gradient`);
  const eps = 1e-2;
  let worst = 0;
  let gmax = 0;
  const picks = Array.from({ length: Math.min(n, p.size) }, () => rng.int(p.size));
  const fds: number[] = [];
  for (const i of picks) {
    const v = p.data[i]!;
    p.data[i] = v + eps;
    const up = lossValue(model);
    p.data[i] = v - eps;
    const down = lossValue(model);
    p.data[i] = v;
    fds.push((up - down) / (2 * eps));
    gmax = Math.max(gmax, Math.abs(g[i]!));
  }
  picks.forEach((i, j) => {
    const err = Math.abs(fds[j]! - g[i]!) / (Math.abs(g[i]!) + 0.05 * gmax + 1e-4);
    worst = Math.max(worst, err);
  });
  assert.ok(gmax > 1e-5, `${label}: gradient is all zeros at the sampled coordinates`);
  assert.ok(worst < 0.03, `${label}: worst relative error ${worst.toFixed(4)} (max |grad| ${gmax.toExponential(2)})`);
}

for (const arch of ['llama', 'qwen3']) {
  test(`${arch}: LoRA gradients match finite differences; the frozen base gets none`, () => {
    const model = loadModel(`${FIX}${arch}`, { weightsDtype: 'f32' }); // finite differences need F32 activations
    const rng = new Rng(7);
    const adapter = addLora(model, { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }, rng);
    // B starts at zero (PEFT init); make it non-zero so A's gradient is too.
    for (const p of adapter.parameters()) if (p.name!.endsWith('lora_B.weight')) for (let i = 0; i < p.size; i++) p.data[i] = 0.2 * rng.normal();
    scope(() => backward(loss(model)));
    for (const t of model.params.values()) assert.equal((t as Tensor).grad, null, `base weight ${t.name} got a gradient`);
    for (const p of adapter.parameters()) if (/layers\.(0|1)\.(self_attn\.(q|v|o)|mlp\.(up|down))_proj/.test(p.name!)) check(model, p, 6, rng, p.name!);
    assert.ok(getAdapter(model));
  });

  test(`${arch}: full-weight gradients match finite differences`, () => {
    const model = loadModel(`${FIX}${arch}`, { weightsDtype: 'f32' }); // finite differences need F32 activations
    model.setBaseTrainable(true);
    scope(() => backward(loss(model)));
    const rng = new Rng(11);
    for (const [name, p] of model.params) {
      if (!/^model\.layers\.1\.|^model\.(embed_tokens|norm)|^lm_head|layers\.0\.self_attn\.(q_norm|k_proj\.bias)/.test(name)) continue;
      check(model, p as Tensor, name.includes('embed') ? 10 : 4, rng, name);
    }
  });
}
