/**
 * `npm run bench -- train [--preset smollm-135m|tiny|qwen2.5-0.5b|qwen3-0.6b] [--prompts 8] [--rollouts 8]
 *   [--new-tokens 128] [--lora-rank 16] [--weights-dtype f32|bf16] [--layers N] [--repeats 1] [--json]`
 *
 * One GRPO step through the whole trainer (sample → score → advantages → forward/backward →
 * AdamW) on a preset-shaped random model with a LoRA adapter, with its time split and peak RSS,
 * side by side with the engine's own batched sampling and forward+backward on the same sequences,
 * so the trainer's overhead shows as a ratio. --weights-dtype bf16 writes the checkpoint in bf16
 * (the frozen base then stays 16-bit); --layers overrides the preset's depth (quick checks).
 * The PyTorch counterpart of the step is bench/train_torch.py. Figures only; nothing asserts timing.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModel, DEFAULTS, PRESETS } from '../src/model/init.js';
import { loadModel, loadTokenizer } from '../src/model/load.js';
import { TransformerPolicy } from '../src/model/policy.js';
import { kernels } from '../src/engine/index.js';
import { grpoStep } from '../src/train/grpo/step.js';
import type { ScoreFn } from '../src/train/grpo/score.js';
import type { Row } from '../src/contracts/row.js';
import type { Sequence } from '../src/contracts/policy-engine.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A cheap reward that varies between completions (a random model's text has no meaning to score). */
const lengthScore: ScoreFn = async (rollouts) => rollouts.map((r) => ({ score: (r.output.length % 11) / 10, valid: true }));

export async function run(args: string[]): Promise<number> {
  let o;
  try {
    o = parseArgs({ args, options: {
      preset: { type: 'string', default: 'smollm-135m' }, prompts: { type: 'string', default: '8' }, rollouts: { type: 'string', default: '8' },
      'new-tokens': { type: 'string', default: '128' }, repeats: { type: 'string', default: '3' }, json: { type: 'boolean', default: false },
      'lora-rank': { type: 'string', default: '16' }, 'weights-dtype': { type: 'string', default: 'f32' }, layers: { type: 'string' },
    } }).values;
  } catch (e) {
    process.stderr.write(`bench train: ${(e as Error).message}\n`);
    return 2;
  }
  const preset = PRESETS[o.preset!];
  if (!preset) {
    process.stderr.write(`bench train: unknown --preset "${o.preset}" (${Object.keys(PRESETS).join(', ')})\n`);
    return 2;
  }
  const [P, G, N, reps, r] = [o.prompts, o.rollouts, o['new-tokens'], o.repeats, o['lora-rank']].map(Number);
  const wd = o['weights-dtype'];
  if (wd !== 'f32' && wd !== 'bf16') {
    process.stderr.write(`bench train: --weights-dtype must be f32 or bf16, got "${wd}"\n`);
    return 2;
  }
  const layers = o.layers === undefined ? {} : { layers: Number(o.layers) };
  const dir = mkdtempSync(join(tmpdir(), 'rft-bench-train-'));
  try {
    initModel(join(dir, 'm'), { ...DEFAULTS, ...preset, ...layers, seed: 1, dtype: wd === 'bf16' ? 'BF16' : 'F32' });
    const model = loadModel(join(dir, 'm'));
    const tok = loadTokenizer(join(dir, 'm'), model);
    const policy = new TransformerPolicy(model, tok, { lora: { r, alpha: 2 * r, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }, seed: 1 });
    const rows: Row[] = Array.from({ length: P }, (_, i) => ({ messages: [{ role: 'user', content: `Make ${20 + i} from ${i + 2} ${i + 5} ${i + 9}.` }] }));
    const cfg = {
      rolloutsPerPrompt: G, temperature: 1, topP: 1, topK: 0, maxNewTokens: N, policyUpdates: 1, miniBatches: 1,
      rewardScaling: 'group' as const, maskTruncated: false, dropZeroVarianceGroups: false, maxGradNorm: 1, weightDecay: 0,
      loss: { lossType: 'grpo' as const, importanceSampling: 'token' as const, epsilonLow: 0.2, epsilonHigh: 0.2, klBeta: 0, maxCompletionLength: N },
    };
    const steps: Record<string, number>[] = [];
    let seqs: Sequence[] = [];
    for (let i = 0; i < reps; i++) {
      const { metrics, trajectories } = await grpoStep(policy, policy.chat, lengthScore, rows, cfg, { seed: 1, step: i, lr: 1e-4 });
      steps.push(metrics as unknown as Record<string, number>);
      seqs = trajectories.map((t) => ({ prompt: t.segments[0].promptTokens, completion: t.segments[0].completionTokens }));
    }
    // The engine alone on the same work: batched sampling of the same prompts, and one forward+backward
    // of the same sequences with a loss whose gradient is dense.
    const prompts = rows.map((r) => policy.chat.applyChatTemplate(r.messages, { addGenerationPrompt: true }));
    const rawSample: number[] = [];
    const rawTrain: number[] = [];
    const sampled = seqs.reduce((a, s) => a + s.completion.length, 0);
    const trained = seqs.reduce((a, s) => a + s.prompt.length + s.completion.length, 0);
    for (let i = 0; i < reps; i++) {
      let t = performance.now();
      const out = await policy.sample({ prompts, n: G, maxNewTokens: N, temperature: 1, seed: 100 + i });
      rawSample.push(out.reduce((a, s) => a + s.tokens.length, 0) / ((performance.now() - t) / 1000));
      t = performance.now();
      await policy.forwardBackward(seqs, (lps) => ({ loss: 0, dlogp: lps.map((l) => new Float32Array(l.length).fill(1e-3)) }));
      rawTrain.push(trained / ((performance.now() - t) / 1000));
    }
    const m = (k: string) => median(steps.map((s) => s[k]!));
    const result = {
      preset: o.preset, prompts: P, rollouts: G, new_tokens: N, lora_rank: r, weights_dtype: model.weightsDtype, merged_rollouts: policy.mergedRollouts,
      threads: kernels().getThreads(), engine: kernels().name,
      step_s: m('time_sample_s') + m('time_eval_s') + m('time_train_s'),
      time_sample_s: m('time_sample_s'), time_eval_s: m('time_eval_s'), time_train_s: m('time_train_s'),
      sampled_tokens: sampled, trained_tokens: trained,
      trainer_sample_tokens_per_s: m('sample_tokens_per_s'), engine_sample_tokens_per_s: median(rawSample),
      trainer_train_tokens_per_s: m('train_tokens_per_s'), engine_fwd_bwd_tokens_per_s: median(rawTrain),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    const ratios = {
      sampling: result.trainer_sample_tokens_per_s / result.engine_sample_tokens_per_s,
      training: result.trainer_train_tokens_per_s / result.engine_fwd_bwd_tokens_per_s,
    };
    if (o.json) console.log(JSON.stringify({ ...result, ratios }));
    else {
      console.log(`GRPO step on ${o.preset} (${P} prompts × ${G} rollouts, ≤ ${N} new tokens, LoRA r${r} on all projections, ${result.weights_dtype} base${result.merged_rollouts ? ', merged-LoRA rollouts' : ''}; ${result.engine}, ${result.threads} threads)`);
      console.log(`  step ${result.step_s.toFixed(1)} s = sampling ${result.time_sample_s.toFixed(1)} s + evaluation ${result.time_eval_s.toFixed(2)} s + training ${result.time_train_s.toFixed(1)} s`);
      console.log(`  sampling: trainer ${result.trainer_sample_tokens_per_s.toFixed(0)} tok/s vs engine ${result.engine_sample_tokens_per_s.toFixed(0)} tok/s (${(ratios.sampling * 100).toFixed(0)}%)`);
      console.log(`  training: trainer ${result.trainer_train_tokens_per_s.toFixed(0)} tok/s vs engine fwd+bwd ${result.engine_fwd_bwd_tokens_per_s.toFixed(0)} tok/s (${(ratios.training * 100).toFixed(0)}%)`);
      console.log(`  peak RSS ${result.peak_rss_mb} MB`);
      console.log('  quickstart wall time: `rft quickstart --json` reports wall_s');
    }
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
