/** `rft sft` (stage 1) and `rft train` (stage 2, GRPO-family RFT). Flags derive from src/train/config. */
import type { Command } from 'commander';
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { addConfigFlags, configFromFlags } from '../flags.js';
import { CliError } from '../errors.js';
import { Progress } from '../progress.js';
import { rftFields } from '../../train/config/rft.js';
import { sftFields } from '../../train/config/sft.js';
import { loadRows, makePolicy, makeScorer, type Scorer } from '../../train/setup.js';
import { rowsForStep, runRftLoop, totalSteps, type RftLoopConfig } from '../../train/grpo/trainer.js';
import { stepRolloutRequest } from '../../train/grpo/step.js';
import { writeFileAtomic } from '../../train/run-dir.js';
import { FleetRolloutSource } from '../../rollout/fleet.js';
import { AdapterSync, requireLoraForFleet } from '../../rollout/adapter-sync.js';
import { FleetSession } from '../../rollout/fleet-session.js';
import { PipelinedSource } from '../../rollout/pipeline.js';
import type { RolloutSource } from '../../rollout/source.js';
import type { PolicyEngine } from '../../contracts/policy-engine.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';
import { runSft, type SftConfig } from '../../train/sft/trainer.js';
import { writeReport } from '../../train/report.js';
import { fromSft } from '../../data/index.js';
import type { Row } from '../../contracts/row.js';
import type { HeldoutResult } from '../../train/evaluate.js';

type Cfg = Record<string, any>;

export function rftLoopConfig(c: Cfg): RftLoopConfig {
  return {
    rolloutsPerPrompt: c.rolloutsPerPrompt,
    promptsPerStep: c.promptsPerStep,
    temperature: c.temperature,
    topP: c.topP,
    topK: c.topK,
    maxNewTokens: c.maxNewTokens,
    policyUpdates: c.policyUpdates,
    miniBatches: c.miniBatches,
    rewardScaling: c.rewardScaling,
    maskTruncated: c.maskTruncated,
    dropZeroVarianceGroups: c.dropZeroVarianceGroups,
    maxGradNorm: c.maxGradNorm,
    weightDecay: c.weightDecay,
    loss: {
      lossType: c.lossType,
      importanceSampling: c.importanceSampling,
      epsilonLow: c.clipEpsilonLow,
      epsilonHigh: c.clipEpsilonHigh,
      klBeta: c.klBeta,
      maxCompletionLength: c.maxNewTokens,
    },
    epochs: c.epochs,
    steps: c.steps,
    learningRate: c.learningRate,
    schedule: c.schedule,
    warmupSteps: c.warmupSteps,
    seed: c.seed,
    evalEvery: c.evalEvery,
    evalSamples: c.evalSamples,
    passThreshold: c.passThreshold,
    checkpointEvery: c.checkpointEvery,
    ...(c.rolloutServer?.length && c.rolloutCorrection !== 'none' ? { rolloutCorrection: { level: c.rolloutCorrection, threshold: c.rolloutCorrectionThreshold } } : {}),
  };
}

export interface Fleet {
  source: RolloutSource;
  policy: PolicyEngine;
  /** What the fleet did, for fleet.json in the run directory. */
  report(): Record<string, unknown>;
  close(): Promise<void>;
}

/**
 * --rollout-server: sampling on the fleet, the adapter synced before each step's rollouts, and
 * with --async the next step sampled while this one trains. Null without --rollout-server.
 */
export function makeFleet(c: Cfg, base: PolicyEngine, tokenizer: ChatTokenizer, train: Row[], vocabSize?: number): Fleet | null {
  const servers = (c.rolloutServer as string[] | undefined)?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) ?? [];
  if (servers.length === 0) {
    if (c.async) throw new CliError('--async pipelines sampling on an inference fleet; give the servers with --rollout-server URL[,URL…]');
    return null;
  }
  try {
    requireLoraForFleet({ full: c.full === true });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const fleet = new FleetRolloutSource({ servers, tokenizer, baseModel: c.rolloutModel ?? basename(resolve(c.model)), timeoutMs: c.rolloutTimeoutMs, apiKey: process.env.RFT_ROLLOUT_API_KEY, vocabSize });
  const sync = new AdapterSync({ servers, sharedDir: resolve(c.rolloutAdapterDir ?? join(c.out, 'fleet-adapters')), prefix: `rft-${randomBytes(3).toString('hex')}`, keep: c.maxStaleness + 1, apiKey: process.env.RFT_ROLLOUT_API_KEY });
  const session = new FleetSession(fleet, sync, base);
  const loop = rftLoopConfig(c);
  const total = totalSteps(loop, train.length);
  const pipe = c.async
    ? new PipelinedSource(session, {
        maxStaleness: c.maxStaleness, version: () => session.version,
        plan: (step) => (step < total ? stepRolloutRequest(rowsForStep(train, loop.promptsPerStep, loop.seed, step), loop, loop.seed, step) : null),
      })
    : null;
  return {
    source: pipe ?? session,
    policy: session.policy,
    report: () => ({ servers, fleet: fleet.stats, sync: sync.stats, session: session.stats, ...(pipe ? { pipeline: pipe.stats } : {}) }),
    close: () => (pipe ?? session).close(),
  };
}

export function sftConfig(c: Cfg): SftConfig {
  return {
    epochs: c.epochs, batchSize: c.batchSize, maxLength: c.maxLength, learningRate: c.learningRate, schedule: c.schedule,
    warmupSteps: c.warmupSteps, weightDecay: c.weightDecay, maxGradNorm: c.maxGradNorm, seed: c.seed, evalEvery: c.evalEvery,
    maxNewTokens: c.maxNewTokens, passThreshold: c.passThreshold,
  };
}

/** SFT rows as prompt rows with ground truth: the row's own when it has one, else the answer in its tags. */
export function heldoutFromSft(rows: Row[]): Row[] {
  return fromSft(rows, { keepGroundTruth: true }).rows;
}

export function describeEval(r: HeldoutResult): string {
  const f = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(3));
  return `pass@1 ${f(r.pass1)} (greedy)  mean reward ${f(r.mean_reward)}` + (r.k ? `  pass@1 sampled ${f(r.pass1_sampled)}  pass@${r.k} ${f(r.pass_at_k)}` : '') + `  (${r.n} prompts)`;
}

/** Runs the loop on the fleet; whatever happens, records what the fleet did (fleet.json) and lets go of it. */
async function withFleet<T>(fleet: Fleet, out: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } finally {
    if (existsSync(out)) writeFileAtomic(join(out, 'fleet.json'), JSON.stringify(fleet.report(), null, 2) + '\n');
    await fleet.close();
  }
}

async function withUserErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError((e as Error).message, 1);
  }
}

export function register(program: Command): void {
  const train = program
    .command('train')
    .description('RFT (stage 2): sample, score with an evaluator, and update a LoRA adapter with GRPO-family losses')
    .option('--resume', 'continue the run in --out from its last checkpoint');
  addConfigFlags(train, rftFields).action(async (opts: Record<string, unknown>) => {
    const c = configFromFlags(rftFields, opts, 'train');
    await withUserErrors(async () => {
      const trainRows = await loadRows(c.dataset as string, 'rft', '--dataset');
      const heldout = c.evalDataset ? await loadRows(c.evalDataset as string, 'rft', '--eval-dataset') : undefined;
      const scorer: Scorer = await makeScorer(c.evaluator as string, { timeoutMs: c.evaluatorTimeoutMs as number, concurrency: c.evaluatorConcurrency as number });
      try {
        const base = makePolicy(c as never);
        const fleet = makeFleet(c, base, base.chat, trainRows, base.model.config.vocabSize);
        const policy = fleet?.policy ?? base;
        const progress = new Progress('rft train');
        const run = () => runRftLoop({
          policy,
          tokenizer: base.chat,
          source: fleet?.source,
          score: scorer.score,
          train: trainRows,
          heldout,
          config: rftLoopConfig(c),
          recordedConfig: { model: resolve(c.model as string), adapter: c.adapter, dataset: resolve(c.dataset as string), evalDataset: c.evalDataset, evaluator: c.evaluator },
          runDir: c.out as string,
          saveAs: c.full ? 'model' : 'adapter',
          resume: opts.resume === true,
          onStep: (step, total, m) => progress.update(step, total, { reward: m.reward_mean, kl: m.kl, entropy: m.entropy, len: m.completion_len_mean, 'tok/s': Math.round(m.sample_tokens_per_s) }),
          onEval: (step, r) => progress.log(`held-out @ step ${step}: ${describeEval(r)}`),
        });
        const result = fleet ? await withFleet(fleet, c.out as string, run) : await run();
        progress.done();
        if (fleet) {
          const f = fleet.report().fleet as FleetRolloutSource['stats'];
          console.log(`fleet: ${f.requests} requests, ${f.failures} failed (${f.timeouts} timed out), ${f.retries} retried, ${f.rowsFailed} rows lost`);
        }
        console.log(`report: ${writeReport(c.out as string)}`);
        console.log(c.full ? `model: ${resolve(c.out as string, 'model')}` : `adapter: ${resolve(c.out as string, 'adapter')}`);
        if (result.initialEval && result.finalEval) console.log(`held-out pass@1 ${result.initialEval.pass1.toFixed(3)} → ${result.finalEval.pass1.toFixed(3)}`);
      } finally {
        await scorer.close();
      }
    });
  });

  const sft = program.command('sft').description('SFT (stage 1): learn from teacher answers (loss on the answer tokens only), LoRA or full');
  addConfigFlags(sft, sftFields).action(async (opts: Record<string, unknown>) => {
    const c = configFromFlags(sftFields, opts, 'sft');
    await withUserErrors(async () => {
      const rows = await loadRows(c.dataset as string, 'sft', '--dataset');
      const evalRows = c.eval ? await loadRows(c.eval as string, 'sft', '--eval') : undefined;
      const scorer = c.evaluator ? await makeScorer(c.evaluator as string, { timeoutMs: 30000, concurrency: 4 }) : undefined;
      try {
        const policy = makePolicy(c as never);
        const progress = new Progress('rft sft');
        const result = await runSft({
          policy,
          tokenizer: policy.chat,
          train: rows,
          evalRows,
          heldout: scorer && evalRows ? { rows: heldoutFromSft(evalRows), score: scorer.score } : undefined,
          config: sftConfig(c),
          recordedConfig: { model: resolve(c.model as string), dataset: resolve(c.dataset as string), eval: c.eval, evaluator: c.evaluator, full: c.full },
          runDir: c.out as string,
          saveAs: c.full ? 'model' : 'adapter',
          onStep: (step, total, m) => progress.update(step, total, { loss: m.loss, lr: m.lr, 'tok/s': Math.round(m.tokens_per_s) }),
          onEval: (step, r) => progress.log(`eval @ step ${step}: ${r.eval_loss !== undefined ? `loss ${r.eval_loss.toFixed(4)}  ` : ''}${r.heldout ? describeEval(r.heldout) : ''}`),
        });
        progress.done();
        console.log(`report: ${writeReport(c.out as string)}`);
        console.log(c.full ? `model: ${resolve(c.out as string, 'model')}` : `adapter: ${resolve(c.out as string, 'adapter')}`);
        if (result.evalLoss !== undefined) console.log(`eval loss ${result.evalLoss.toFixed(4)}`);
      } finally {
        await scorer?.close();
      }
    });
  });
}
