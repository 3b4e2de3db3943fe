import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../engine/index.js';
import { rolloutCorrection } from './rollout-correction.js';

const close = (a: number, b: number, tol = 1e-9, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

// Two sequences: log ρ = old − rollout = [0.5, −1] and [1.9].
const batch = { old: [-1, -2, -0.1], rollout: [-1.5, -1, -2], offsets: [0, 2, 3] };

test('token-level TIS: w = min(exp(old − rollout), C), with hand-computed metrics', () => {
  const { weights, metrics } = rolloutCorrection(batch, { level: 'token', threshold: 2 });
  close(weights[0]!, Math.exp(0.5), 1e-12, 'w0'); // 1.6487, under C
  close(weights[1]!, Math.exp(-1), 1e-12, 'w1'); // 0.3679: weights below 1 are kept, only the top is truncated
  close(weights[2]!, 2, 0, 'w2'); // exp(1.9) = 6.686 truncated to C
  close(metrics.is_clip_fraction, 1 / 3, 1e-12, 'clip fraction');
  close(metrics.mismatch_kl, -(0.5 - 1 + 1.9) / 3, 1e-12, 'k1'); // mean(rollout − old)
  const k3 = (x: number) => Math.exp(x) - x - 1;
  close(metrics.mismatch_k3, (k3(0.5) + k3(-1) + k3(1.9)) / 3, 1e-12, 'k3'); // (0.148721 + 0.367879 + 3.785894) / 3 = 1.434165
  close(metrics.mismatch_k3, 1.434165, 1e-6, 'k3 by hand');
  close(metrics.is_weight_mean, (Math.exp(0.5) + Math.exp(-1) + 2) / 3, 1e-12, 'mean weight');
  close(metrics.mismatch_max_abs, 1.9, 1e-12, 'max |log ρ|');
  assert.equal(metrics.tokens, 3);
});

test('sequence-level TIS: one weight min(∏ρ, C) per sequence, clip fraction over sequences', () => {
  const { weights, metrics } = rolloutCorrection(batch, { level: 'sequence', threshold: 2 });
  close(weights[0]!, Math.exp(-0.5), 1e-12, 'seq 0 token 0'); // ∏ρ = exp(0.5 − 1)
  close(weights[1]!, Math.exp(-0.5), 1e-12, 'seq 0 token 1');
  close(weights[2]!, 2, 0, 'seq 1 truncated');
  close(metrics.is_clip_fraction, 1 / 2, 1e-12, 'one sequence of two truncated');
  close(metrics.is_weight_mean, (2 * Math.exp(-0.5) + 2) / 3, 1e-12, 'mean weight');
  // a larger C truncates nothing
  const loose = rolloutCorrection(batch, { level: 'sequence', threshold: 10 });
  close(loose.weights[2]!, Math.exp(1.9), 1e-12, 'C = 10');
  assert.equal(loose.metrics.is_clip_fraction, 0);
});

test('masked tokens (padding, inserted) get weight 0 and stay out of the metrics and the sequence product', () => {
  const masked = { ...batch, mask: [1, 0, 1] };
  const t = rolloutCorrection(masked, { level: 'token', threshold: 2 });
  assert.equal(t.weights[1], 0);
  close(t.metrics.mismatch_kl, -(0.5 + 1.9) / 2, 1e-12, 'k1 over two tokens');
  assert.equal(t.metrics.tokens, 2);
  const s = rolloutCorrection(masked, { level: 'sequence', threshold: 2 });
  close(s.weights[0]!, Math.exp(0.5), 1e-12, 'seq 0 is its one unmasked token');
  assert.equal(s.weights[1], 0);
});

test('identical policies: every weight 1, both KL estimates 0, nothing truncated', () => {
  const lp = [-0.3, -2.2, -0.01, -5];
  const { weights, metrics } = rolloutCorrection({ old: lp, rollout: lp, offsets: [0, 1, 4] }, { level: 'token', threshold: 2 });
  assert.deepEqual([...weights], [1, 1, 1, 1]);
  assert.equal(metrics.mismatch_kl, 0);
  assert.equal(metrics.mismatch_k3, 0);
  assert.equal(metrics.is_clip_fraction, 0);
});

test('a wild rollout log-prob cannot overflow: log ρ is clamped to ±20 before exp', () => {
  const { weights, metrics } = rolloutCorrection({ old: [0, -1], rollout: [-9999, -1], offsets: [0, 2] }, { level: 'sequence', threshold: 2 });
  assert.deepEqual([...weights], [2, 2]);
  assert.ok(Number.isFinite(metrics.mismatch_k3));
  close(metrics.mismatch_kl, -9999 / 2, 1e-9, 'k1 is not clamped');
});

test('both KL estimates converge to the exact KL(π_rollout ‖ π_train) on tokens drawn from π_rollout', () => {
  const p = [0.5, 0.3, 0.15, 0.05]; // rollout
  const q = [0.4, 0.25, 0.25, 0.1]; // train
  const exact = p.reduce((a, pi, i) => a + pi * Math.log(pi / q[i]!), 0); // 0.0515...
  const rng = new Rng(12);
  const N = 40_000;
  const old: number[] = [];
  const rollout: number[] = [];
  for (let k = 0; k < N; k++) {
    let u = rng.uniform();
    let i = 0;
    while (i < 3 && u >= p[i]!) u -= p[i++]!;
    old.push(Math.log(q[i]!));
    rollout.push(Math.log(p[i]!));
  }
  const { metrics } = rolloutCorrection({ old, rollout, offsets: [0, N] }, { level: 'token', threshold: 2 });
  close(metrics.mismatch_kl, exact, 0.01, 'k1');
  close(metrics.mismatch_k3, exact, 0.01, 'k3');
});

test('bad input is a clear error', () => {
  assert.throws(() => rolloutCorrection({ old: [-1], rollout: [-1, -2], offsets: [0, 1] }), /1 trainer log-probs but 2 rollout/);
  assert.throws(() => rolloutCorrection({ old: [-1], rollout: [-1], offsets: [0, 2] }), /offsets must run from 0 to 1/);
  assert.throws(() => rolloutCorrection({ old: [-1], rollout: [NaN], offsets: [0, 1] }), /token 0 has a non-finite/);
  assert.throws(() => rolloutCorrection({ old: [-1], rollout: [-1], offsets: [0, 1] }, { level: 'token', threshold: 0 }), /positive/);
  assert.throws(() => rolloutCorrection({ old: [-1], rollout: [-1], offsets: [0, 1] }, { level: 'geo' as never, threshold: 2 }), /level must be/);
});

test('policyLoss with IS weights: each token\'s policy-gradient term is scaled by its weight (value and gradient, checked by finite differences)', async () => {
  const { policyLoss } = await import('./loss.js');
  const base = {
    logp: [-1.1, -0.4, -2.0, -0.7, -1.3], old: [-1.0, -0.5, -1.8, -0.9, -1.3], ref: [-1.2, -0.6, -1.9, -0.8, -1.0],
    mask: [1, 1, 1, 1, 1], offsets: [0, 3, 5], advantages: [0.8, -1.2],
  };
  const isWeights = [0.5, 2, 1.3, 0.2, 1];
  for (const importanceSampling of ['token', 'sequence'] as const) {
    const cfg = { lossType: 'grpo' as const, importanceSampling, epsilonLow: 0.2, epsilonHigh: 0.2, klBeta: 0.1, maxCompletionLength: 8 };
    const plain = policyLoss(base, cfg);
    const weighted = policyLoss({ ...base, isWeights }, cfg);
    const klOnly = policyLoss(base, { ...cfg, klBeta: 0.1 }).loss - policyLoss(base, { ...cfg, klBeta: 0 }).loss;
    if (importanceSampling === 'token') {
      // grpo weights 1/(tokens·sequences): pg_t = −ratio_t·A (no clip at these ratios), KL untouched by c_t
      const pg = (t: number, s: number) => -Math.exp(base.logp[t]! - base.old[t]!) * base.advantages[s]! / ((s === 0 ? 3 : 2) * 2);
      const expected = [0, 1, 2].reduce((a, t) => a + isWeights[t]! * pg(t, 0), 0) + [3, 4].reduce((a, t) => a + isWeights[t]! * pg(t, 1), 0) + klOnly;
      close(weighted.loss, expected, 1e-12, 'weighted loss by hand');
    }
    assert.notEqual(weighted.loss, plain.loss);
    const h = 1e-6;
    for (let t = 0; t < 5; t++) {
      const up = [...base.logp];
      const dn = [...base.logp];
      up[t]! += h;
      dn[t]! -= h;
      const fd = (policyLoss({ ...base, logp: up, isWeights }, cfg).loss - policyLoss({ ...base, logp: dn, isWeights }, cfg).loss) / (2 * h);
      close(weighted.dlogp[t]!, fd, 1e-6, `${importanceSampling} dloss/dlogp[${t}]`);
    }
  }
});
