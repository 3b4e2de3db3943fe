/**
 * End to end: a one-block Llama-style model written on the engine's API
 * (embedding → rmsnorm → q/k/v → rope → GQA attention → o → residual → rmsnorm → SwiGLU MLP →
 * residual → rmsnorm → logits → token log-probs). Its whole gradient must pass gradcheck, and a
 * few AdamW steps must lower its loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from './index.js';
import { Tensor } from './index.js';
import { gradcheck } from './gradcheck.js';
import { referenceKernels } from './reference/index.js';
import { nativeWithFallback } from './kernel-testing.js';

const B = 2, T = 5, dim = 8, Hq = 4, Hkv = 2, D = 2, hidden = 12, vocab = 11;
const names = ['embed', 'attnNorm', 'wq', 'wk', 'wv', 'wo', 'mlpNorm', 'gate', 'up', 'down', 'finalNorm', 'lmHead'] as const;
const shapes: Record<(typeof names)[number], number[]> = {
  embed: [vocab, dim], attnNorm: [dim], wq: [Hq * D, dim], wk: [Hkv * D, dim], wv: [Hkv * D, dim], wo: [dim, Hq * D],
  mlpNorm: [dim], gate: [hidden, dim], up: [hidden, dim], down: [dim, hidden], finalNorm: [dim], lmHead: [vocab, dim],
};

function params(seed: number, frozen: string[] = []): Tensor[] {
  const r = new E.Rng(seed);
  return names.map((n) =>
    n.endsWith('Norm')
      ? E.uniform(shapes[n], r, { low: 0.8, high: 1.2, requiresGrad: !frozen.includes(n), name: n })
      : E.randn(shapes[n], r, { std: 0.5, requiresGrad: !frozen.includes(n), name: n }));
}

const ids = Int32Array.from([1, 4, 2, 9, 3, 0, 7, 7, 5, 10]); // (B, T)
const targets = Int32Array.from([4, 2, 9, 3, -1, 7, 7, 5, 10, -1]); // next tokens, last ignored
const positions = Int32Array.from([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
const table = E.ropeTable(T, D);

/** Per-token log-probs (B, T) of the targets. */
function model(...p: Tensor[]): Tensor {
  const [embed, attnNorm, wq, wk, wv, wo, mlpNorm, gate, up, down, finalNorm, lmHead] = p;
  const x = E.embedding(embed, ids, [B, T]); // (B, T, dim)
  const h = E.rmsnorm(x, attnNorm);
  const q = E.rope(E.reshape(E.linear(h, wq), [B, T, Hq, D]), positions, table);
  const k = E.rope(E.reshape(E.linear(h, wk), [B, T, Hkv, D]), positions, table);
  const v = E.reshape(E.linear(h, wv), [B, T, Hkv, D]);
  const a = E.reshape(E.attention(q, k, v), [B, T, Hq * D]);
  const x2 = E.add(x, E.linear(a, wo));
  const m = E.rmsnorm(x2, mlpNorm);
  const x3 = E.add(x2, E.linear(E.swiglu(E.linear(m, gate), E.linear(m, up)), down));
  const logits = E.linear(E.rmsnorm(x3, finalNorm), lmHead); // (B, T, vocab)
  return E.tokenLogprobs(logits, targets);
}

const native = process.env.RFT_ENGINE === 'reference' ? null : nativeWithFallback()?.kernels ?? null;
const backends = [referenceKernels, ...(native ? [native] : [])];

function on<T>(k: E.Kernels, fn: () => T): T {
  const prev = E.useKernels(k);
  try {
    return fn();
  } finally {
    E.useKernels(prev);
  }
}

for (const k of backends) {
  test(`one transformer block on ${k.name}: the whole gradient passes gradcheck`, () => {
    on(k, () => gradcheck('block', model, params(1), { samples: 24, tol32: 5e-4 }));
  });

  test(`one transformer block with frozen base weights (LoRA-style) on ${k.name}: only trainable tensors get gradients, and they are right`, () => {
    on(k, () => gradcheck('frozen block', model, params(2, ['embed', 'wq', 'wk', 'wv', 'wo', 'gate', 'up', 'down']), { samples: 24, tol32: 5e-4 }));
  });
}

test('a few AdamW steps on the block lower its cross-entropy', () => {
  const p = params(3);
  const opt = new E.AdamW(p, { lr: 3e-2, weightDecay: 0 });
  const losses: number[] = [];
  for (let step = 0; step < 30; step++) {
    losses.push(E.scope(() => {
      opt.zeroGrad();
      const count = targets.filter((t) => t >= 0).length;
      const loss = E.scale(E.sum(model(...p)), -1 / count);
      E.backward(loss);
      opt.step();
      return loss.item();
    }));
  }
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[29] < 0.5 * losses[0], `loss ${losses[0]} → ${losses[29]}`);
});

test('training is deterministic: two runs from the same seed give bit-identical weights', () => {
  const train = (): Float32Array[] => {
    const p = params(4);
    const opt = new E.AdamW(p, { lr: 1e-2 });
    for (let step = 0; step < 5; step++) {
      E.scope(() => {
        opt.zeroGrad();
        E.backward(E.neg(E.sum(E.dropout(model(...p), 0.1, new E.Rng(step)))));
        opt.step();
      });
    }
    return p.map((t) => t.data.slice());
  };
  const a = train();
  const b = train();
  a.forEach((x, i) => assert.deepEqual(new Uint32Array(x.buffer), new Uint32Array(b[i].buffer), `parameter ${names[i]} differs`));
});
