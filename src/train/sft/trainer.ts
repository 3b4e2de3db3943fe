/**
 * Supervised fine-tuning (stage 1): maximise the log-likelihood of the assistant's answer
 * tokens (loss on answer tokens only; an agent's trace: its assistant turns, not the tool results), with AdamW, clipping and a schedule; eval loss on
 * held-out rows and, given an evaluator, held-out accuracy of greedy answers.
 */
import type { Row } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';
import type { PolicyEngine } from '../../contracts/policy-engine.js';
import { learningRateAt, type Schedule } from '../schedule.js';
import { RunDir, writeDirAtomic } from '../run-dir.js';
import { stepSeed } from '../grpo/step.js';
import { evaluateHeldout, type HeldoutResult } from '../evaluate.js';
import type { ScoreFn } from '../grpo/score.js';
import { maskedNll, sftExample, type SftExample } from './examples.js';

export interface SftConfig {
  epochs: number;
  batchSize: number;
  maxLength: number;
  learningRate: number;
  schedule: Schedule;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  evalEvery: number;
  /** generation settings for held-out accuracy */
  maxNewTokens: number;
  passThreshold: number;
}

export interface SftInputs {
  policy: PolicyEngine;
  tokenizer: ChatTokenizer;
  train: Row[];
  /** held-out SFT rows: eval loss */
  evalRows?: Row[];
  /** held-out prompt rows with ground truth + a scorer: accuracy */
  heldout?: { rows: Row[]; score: ScoreFn };
  config: SftConfig;
  runDir: string;
  /** Folder name in the run directory for the result: 'adapter' (LoRA) or 'model' (full fine-tuning). */
  saveAs?: 'adapter' | 'model';
  recordedConfig?: Record<string, unknown>;
  onStep?: (step: number, total: number, m: { loss: number; lr: number; grad_norm: number; tokens_per_s: number }) => void;
  onEval?: (step: number, r: { eval_loss?: number; heldout?: HeldoutResult }) => void;
}

/** Mean negative log-likelihood per trained token (the examples' masks leave out inserted tokens). */
export async function evalLoss(policy: PolicyEngine, seqs: SftExample[], batchSize: number): Promise<number> {
  let total = 0;
  let n = 0;
  for (let i = 0; i < seqs.length; i += batchSize) {
    const batch = seqs.slice(i, i + batchSize);
    const lps = await policy.logprobs(batch);
    lps.forEach((l, s) => {
      const m = batch[s]!.mask;
      l.forEach((v, j) => {
        if (m && !m[j]) return;
        total -= v;
        n++;
      });
    });
  }
  return total / Math.max(n, 1);
}

export async function runSft(inp: SftInputs): Promise<{ steps: number; evalLoss?: number; heldout?: HeldoutResult }> {
  const c = inp.config;
  const run = new RunDir(inp.runDir);
  const examples = inp.train.map((r, i) => sftExample(r, inp.tokenizer, c.maxLength, `training row ${i + 1}`));
  if (!examples.length) throw new Error('the SFT dataset has no rows');
  const evalSeqs = (inp.evalRows ?? []).map((r, i) => sftExample(r, inp.tokenizer, c.maxLength, `eval row ${i + 1}`));
  const stepsPerEpoch = Math.ceil(examples.length / c.batchSize);
  const total = Math.max(1, Math.round(c.epochs * stepsPerEpoch));
  run.truncateJsonl('metrics.jsonl', -1);
  run.truncateJsonl('eval.jsonl', -1);
  run.writeJson('config.json', { ...inp.recordedConfig, ...c, total_steps: total });

  const evaluate = async (step: number) => {
    const out: { eval_loss?: number; heldout?: HeldoutResult } = {};
    if (evalSeqs.length) out.eval_loss = await evalLoss(inp.policy, evalSeqs, c.batchSize);
    if (inp.heldout?.rows.length) {
      out.heldout = await evaluateHeldout(inp.policy, inp.tokenizer, inp.heldout.score, inp.heldout.rows, {
        k: 0, temperature: 1, topP: 1, topK: 0, maxNewTokens: c.maxNewTokens, passThreshold: c.passThreshold, seed: stepSeed(c.seed, step, 3),
      });
      run.writeJson(`samples/step-${String(step).padStart(6, '0')}.json`, out.heldout.samples);
    }
    const { samples: _samples, ...summary } = out.heldout ?? { samples: [] };
    run.appendJsonl('eval.jsonl', { step, eval_loss: out.eval_loss, ...summary });
    inp.onEval?.(step, out);
    return out;
  };

  let order: number[] = [];
  for (let step = 0; step < total; step++) {
    const epoch = Math.floor(step / stepsPerEpoch);
    if (step % stepsPerEpoch === 0) {
      const keys = examples.map((_, i) => stepSeed(c.seed, epoch, i + 101));
      order = examples.map((_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
    }
    const start = (step % stepsPerEpoch) * c.batchSize;
    const batch = order.slice(start, start + c.batchSize).map((i) => examples[i]);
    const lr = learningRateAt(step, total, c.learningRate, c.schedule, c.warmupSteps);
    const t0 = performance.now();
    const fb = await inp.policy.forwardBackward(batch, maskedNll(batch));
    const { gradNorm } = await inp.policy.optimStep({ lr, maxGradNorm: c.maxGradNorm, weightDecay: c.weightDecay });
    const secs = (performance.now() - t0) / 1000;
    const tokens = batch.reduce((a, s) => a + s.prompt.length + s.completion.length, 0);
    const m = { loss: fb.loss, lr, grad_norm: gradNorm, tokens_per_s: tokens / Math.max(secs, 1e-9) };
    run.appendJsonl('metrics.jsonl', { step: step + 1, ...m, time_train_s: secs });
    inp.onStep?.(step + 1, total, m);
    if (c.evalEvery > 0 && (step + 1) % c.evalEvery === 0 && step + 1 < total) await evaluate(step + 1);
  }
  const final = await evaluate(total);
  await writeDirAtomic(run.file(inp.saveAs ?? 'adapter'), (tmp) => inp.policy.saveAdapter(tmp));
  return { steps: total, evalLoss: final.eval_loss, heldout: final.heldout };
}
