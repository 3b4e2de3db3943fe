import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModel } from '../../model/init.js';
import { loadModel, loadTokenizer } from '../../model/load.js';
import { TransformerPolicy } from '../../model/policy.js';
import { grpoStep } from './step.js';
import { toyConfig } from '../testing/toy-task.js';
import type { ScoreFn } from './score.js';
import type { Sequence } from '../../contracts/policy-engine.js';

/** Reward: the share of vowels in the reply (partial credit, varies between samples of a random model). */
const vowels: ScoreFn = async (rs) => rs.map((r) => ({ score: r.output.length ? [...r.output].filter((c) => 'aeiou'.includes(c)).length / r.output.length : 0, valid: true }));

test('one GRPO step on a tiny transformer raises the log-probs of above-average completions and lowers those below', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-grpo-tf-'));
  initModel(dir, { arch: 'llama', hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, vocabFrom: 'chars', tieEmbeddings: true, ropeTheta: 10000, maxPositions: 128, rmsNormEps: 1e-6, seed: 5, dtype: 'F32', initStd: 0.1 });
  const model = loadModel(dir);
  const policy = new TransformerPolicy(model, loadTokenizer(dir, model), { lora: { r: 8, alpha: 16, dropout: 0, targetModules: ['q_proj', 'v_proj', 'up_proj', 'down_proj'] }, seed: 2 });
  const G = 8;
  const rows = ['hello', 'tell me', 'why?'].map((content) => ({ messages: [{ role: 'user' as const, content }] }));
  const cfg = { ...toyConfig, rolloutsPerPrompt: G, maxNewTokens: 8, temperature: 1, dropZeroVarianceGroups: true };
  // B starts at zero, so the first step moves only B; a small learning rate keeps it in the first-order regime.
  const { trajectories, rewards, metrics } = await grpoStep(policy, policy.chat, vowels, rows, cfg, { seed: 3, step: 0, lr: 2e-3 });
  assert.ok(metrics.trained_sequences > 0);
  const seqs: Sequence[] = trajectories.map((t) => ({ prompt: t.segments[0].promptTokens, completion: t.segments[0].completionTokens }));
  const after = await policy.logprobs(seqs, { temperature: 1 });
  let up = 0;
  let down = 0;
  let agree = 0;
  trajectories.forEach((t, i) => {
    const g = Math.floor(i / G);
    const mean = Array.from(rewards.slice(g * G, g * G + G)).reduce((a, b) => a + b, 0) / G;
    const delta = after[i].reduce((a, b) => a + b, 0) - t.segments[0].logprobs.reduce((a, b) => a + b, 0);
    if (rewards[i] > mean + 1e-9) {
      up++;
      if (delta > 0) agree++;
    } else if (rewards[i] < mean - 1e-9) {
      down++;
      if (delta < 0) agree++;
    }
  });
  assert.ok(up >= 3 && down >= 3, `need better and worse completions (${up} above, ${down} below the group means)`);
  assert.ok(agree / (up + down) >= 0.8, `${agree} of ${up + down} completions moved the way their advantage says`);
});
