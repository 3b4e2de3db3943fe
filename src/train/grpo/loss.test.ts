import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyLoss, type LossBatch, type LossConfig, type LossType } from './loss.js';

const close = (a: number, b: number, tol = 1e-9, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

const base: LossConfig = { lossType: 'grpo', importanceSampling: 'token', epsilonLow: 0.2, epsilonHigh: 0.2, klBeta: 0, maxCompletionLength: 4 };

function batch(logp: number[], old: number[], mask: number[], offsets: number[], advantages: number[], ref?: number[]): LossBatch {
  return { logp, old, mask, offsets, advantages, ref };
}

test('on-policy (ratio 1) grpo loss is −mean of advantages, gradient −A/(len·nSeq)', () => {
  // two sequences of 2 and 1 active tokens; old = logp so every ratio is 1
  const lp = [-1, -2, -0.5, -3];
  const out = policyLoss(batch(lp, lp, [1, 1, 1, 0], [0, 2, 4], [1, -2]), base);
  close(out.loss, -(1 + -2) / 2);
  close(out.dlogp[0], -1 / (2 * 2));
  close(out.dlogp[1], -1 / (2 * 2));
  close(out.dlogp[2], 2 / (1 * 2));
  assert.equal(out.dlogp[3], 0, 'masked tokens get no gradient');
});

test('ε clipping on both sides: clipped tokens pass no gradient, unfavourable ones are not clipped', () => {
  const old = [0, 0, 0, 0];
  // ratios e^0.5≈1.65 (above 1.2), e^-0.5≈0.61 (below 0.8)
  const lp = [0.5, -0.5, 0.5, -0.5];
  const cfg = { ...base, lossType: 'bnpo' as LossType };
  // seq 0: A = +1 → token 0 clipped high (no grad, contributes −1.2), token 1 ratio 0.61 unclipped (min picks 0.61·1)
  // seq 1: A = −1 → token 2 ratio 1.65: unclipped −1.65 < clipped −1.2 → min picks unclipped (grad); token 3 clipped low (no grad)
  const out = policyLoss(batch(lp, old, [1, 1, 1, 1], [0, 2, 4], [1, -1]), cfg);
  const r1 = Math.exp(0.5);
  const r0 = Math.exp(-0.5);
  close(out.loss, (-1.2 - r0 + r1 - 0.8 * -1) / 4);
  close(out.dlogp[0], 0);
  close(out.dlogp[1], (-1 * r0) / 4);
  close(out.dlogp[2], (1 * r1) / 4);
  close(out.dlogp[3], 0);
  close(out.metrics.clipHigh, 1 / 4);
  close(out.metrics.clipLow, 1 / 4);
});

test('k3 KL estimator: value exp(d) − d − 1 with d = ref − logp, scaled by β', () => {
  const lp = [-1, -2];
  const ref = [-1.5, -1];
  const out = policyLoss(batch(lp, lp, [1, 1], [0, 2], [0], ref), { ...base, klBeta: 0.1 });
  const k = (d: number) => Math.exp(d) - d - 1;
  close(out.metrics.kl, (k(-0.5) + k(1)) / 2);
  close(out.loss, 0.1 * ((k(-0.5) + k(1)) / 2));
  close(out.dlogp[0], (0.1 * (1 - Math.exp(-0.5))) / 2);
});

test('aggregations: grpo, bnpo, dr_grpo and dapo normalise as documented', () => {
  // seq lengths 3 and 1, A = 1 and 1, on-policy: per-token pg = −1
  const lp = [-1, -1, -1, -1];
  const b = batch(lp, lp, [1, 1, 1, 1], [0, 3, 4], [1, 1]);
  close(policyLoss(b, { ...base, lossType: 'grpo' }).loss, -1); // mean of sequence means
  close(policyLoss(b, { ...base, lossType: 'bnpo' }).loss, -1); // 4 tokens / 4
  close(policyLoss(b, { ...base, lossType: 'dr_grpo', maxCompletionLength: 8 }).loss, -4 / (2 * 8));
  close(policyLoss({ ...b, stepTokens: 16 }, { ...base, lossType: 'dapo' }).loss, -4 / 16);
  // grpo weights short sequences' tokens more than bnpo does
  const g = policyLoss(b, { ...base, lossType: 'grpo' }).dlogp;
  close(g[3], -1 / 2);
  close(g[0], -1 / 6);
});

function finiteDifferenceCheck(cfg: LossConfig, seed: number) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const n = 7;
  const logp = Array.from({ length: n }, () => -0.1 - 2 * rnd());
  // old within ±0.5 so some ratios land outside [0.8, 1.2] and some inside
  const old = logp.map((x) => x + (rnd() - 0.5));
  const ref = logp.map((x) => x + (rnd() - 0.5));
  const mask = [1, 1, 0, 1, 1, 1, 1];
  const offsets = [0, 3, 7];
  const advantages = [0.7, -1.3];
  const out = policyLoss(batch(logp, old, mask, offsets, advantages, ref), cfg);
  const h = 1e-6;
  for (let t = 0; t < n; t++) {
    const up = logp.slice();
    up[t] += h;
    const dn = logp.slice();
    dn[t] -= h;
    const fd = (policyLoss(batch(up, old, mask, offsets, advantages, ref), cfg).loss - policyLoss(batch(dn, old, mask, offsets, advantages, ref), cfg).loss) / (2 * h);
    close(out.dlogp[t], fd, 1e-6, `${cfg.lossType}/${cfg.importanceSampling} token ${t}`);
  }
}

test('dLoss/dlogp matches float64 finite differences for every loss type, token and sequence level, with KL', () => {
  for (const lossType of ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as LossType[]) {
    for (const importanceSampling of ['token', 'sequence'] as const) {
      for (let seed = 1; seed <= 5; seed++) {
        finiteDifferenceCheck({ ...base, lossType, importanceSampling, klBeta: 0.05, epsilonHigh: 0.28 }, seed);
      }
    }
  }
});

test('GSPO uses one ratio per sequence: the geometric mean of token ratios', () => {
  const lp = [0.1, 0.3];
  const old = [0, 0];
  const out = policyLoss(batch(lp, old, [1, 1], [0, 2], [1]), { ...base, importanceSampling: 'sequence', epsilonHigh: 10 });
  const r = Math.exp(0.2);
  close(out.loss, -r);
  close(out.dlogp[0], -r / 2);
  close(out.metrics.ratioMean, r);
});

test('bad batches are rejected with the reason', () => {
  assert.throws(() => policyLoss(batch([0, 0], [0], [1, 1], [0, 2], [1]), base), /old has 1 entries, logp has 2/);
  assert.throws(() => policyLoss(batch([0, 0], [0, 0], [1, 1], [0, 1], [1]), base), /offsets must run from 0 to 2/);
  assert.throws(() => policyLoss(batch([0, 0], [0, 0], [1, 1], [0, 2], [1, 2]), base), /2 advantages for 1 sequences/);
  assert.throws(() => policyLoss(batch([0], [0], [1], [0, 1], [1]), { ...base, klBeta: 0.1 }), /needs reference log-probs/);
});

test('entropy bonus: loss − c_H·Σ w_t·H_t, dLoss/dH_t = −c_H·w_t, logp gradient unchanged', () => {
  // grpo weights: sequence 0 has 2 tokens, sequence 1 has 1 → w = 1/4, 1/4, 1/2
  const lp = [-1, -2, -0.5];
  const H = [0.5, 1, 2];
  const b = { ...batch(lp, lp, [1, 1, 1], [0, 2, 3], [1, -2]), entropy: H };
  const plain = policyLoss(b, base);
  const out = policyLoss(b, { ...base, entropyCoef: 0.1 });
  close(out.loss, plain.loss - 0.1 * (0.5 / 4 + 1 / 4 + 2 / 2));
  assert.deepEqual(Array.from(out.dentropy!), [-0.1 / 4, -0.1 / 4, -0.1 / 2]);
  assert.deepEqual(Array.from(out.dlogp), Array.from(plain.dlogp));
  assert.equal(plain.dentropy, undefined);
  assert.throws(() => policyLoss(batch(lp, lp, [1, 1, 1], [0, 2, 3], [1, -2]), { ...base, entropyCoef: 0.1 }), /needs the policy entropy/);
});

// Two sequences, A = +2 and −2, on-policy, logp −0.1 and −3 in each: mean A = 0, mean logp = −1.55,
// cov = ±2·±1.45 = [2.9, −2.9, −2.9, 2.9]; grpo weights 1/4 each, pg gradient −w·A = [−½, −½, ½, ½].
const covLp = [-0.1, -3, -0.1, -3];
const covBatch = (old = covLp, seed = 0) => ({ ...batch(covLp, old, [1, 1, 1, 1], [0, 2, 4], [2, -2]), seed });

test('clip_cov: high-covariance tokens inside (lb, ub) lose their policy gradient; ⌊ratio·active⌋ (≥ 1) of them, at random', () => {
  const all = policyLoss(covBatch(), { ...base, lossMode: 'clip_cov', clipCovRatio: 0.5 });
  assert.deepEqual(Array.from(all.dlogp), [0, -0.5, 0.5, 0]);
  close(all.metrics.covSelected, 2 / 4);
  // ratio 2e-4 on 4 tokens still restrains one: token 0 or token 3, the same for the same seed
  const picks = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const one = policyLoss(covBatch(covLp, seed), { ...base, lossMode: 'clip_cov' });
    const zero = [0, 3].filter((t) => one.dlogp[t] === 0);
    assert.equal(zero.length, 1, `seed ${seed}`);
    assert.deepEqual(Array.from(policyLoss(covBatch(covLp, seed), { ...base, lossMode: 'clip_cov' }).dlogp), Array.from(one.dlogp));
    picks.add(String(zero[0]));
  }
  assert.deepEqual([...picks].sort(), ['0', '3']);
  // a window that excludes 2.9 restrains nothing
  assert.deepEqual(Array.from(policyLoss(covBatch(), { ...base, lossMode: 'clip_cov', clipCovUb: 2.5 }).dlogp), [-0.5, -0.5, 0.5, 0.5]);
  // tokens the ε-clip already clipped are not candidates: token 0 at ratio e^0.5 with A > 0
  const old = [-0.6, -3, -0.1, -3];
  const clipped = policyLoss(covBatch(old), { ...base, lossMode: 'clip_cov', clipCovRatio: 0.25 });
  close(clipped.dlogp[0], 0); // clipped by ε, not chosen
  close(clipped.dlogp[3], 0); // the only candidate left
  close(clipped.dlogp[1], -0.5);
});

test('kl_cov: no ε-clip; the top-⌊ratio·active⌋ covariance tokens pay κ·|logp − old| (zero gradient on-policy)', () => {
  // on-policy: −A·ratio everywhere, the penalty's value and gradient are 0
  const on = policyLoss(covBatch(), { ...base, lossMode: 'kl_cov' });
  assert.deepEqual(Array.from(on.dlogp), [-0.5, -0.5, 0.5, 0.5]);
  close(on.metrics.covSelected, 1 / 4);
  // off-policy by +0.3 on every token: ratio e^0.3 > 1.2, which vanilla would clip for A > 0
  const old = covLp.map((x) => x - 0.3);
  const r = Math.exp(0.3);
  const out = policyLoss(covBatch(old), { ...base, lossMode: 'kl_cov', klCovRatio: 0.25, ppoKlCoef: 2 });
  // cov ties 2.9 at tokens 0 and 3: the first one is penalised
  close(out.dlogp[0], 0.25 * (-2 * r) + 0.25 * 2 * 1);
  close(out.dlogp[1], 0.25 * (-2 * r));
  close(out.dlogp[3], 0.25 * (2 * r));
  close(out.loss, 0.25 * (-2 * r * 2 + 2 * r * 2) + 0.25 * 2 * 0.3);
  assert.equal(policyLoss(covBatch(old), { ...base, klCovRatio: 0.25 }).dlogp[0], 0, 'vanilla clips token 0');
});

test('dLoss/dlogp matches finite differences in clip_cov and kl_cov modes, with the entropy bonus on', () => {
  for (let seed = 1; seed <= 5; seed++) {
    finiteDifferenceCheck({ ...base, lossMode: 'clip_cov', clipCovRatio: 0.3, clipCovLb: -100, clipCovUb: 100, klBeta: 0.05 }, seed);
    finiteDifferenceCheck({ ...base, lossMode: 'kl_cov', klCovRatio: 0.3, klBeta: 0.05 }, seed);
  }
  assert.throws(() => policyLoss(covBatch(), { ...base, lossMode: 'kl_cov', importanceSampling: 'sequence' }), /needs token-level importance sampling/);
});
