/**
 * A whole training run from a validated `rft train` / `rft sft` configuration (the fields of
 * src/train/config): load the rows, the evaluator and the policy, run the loop, write the
 * report. `rft train` / `rft sft` and a jobs child process both call these, so a job runs
 * exactly the trainer the CLI runs.
 */
import { resolve } from 'node:path';
import { fromSft } from '../data/index.js';
import type { Row } from '../contracts/row.js';
import { loadRows, makePolicy, makeScorer, type Scorer } from './setup.js';
import type { TransformerPolicy } from '../model/policy.js';
import type { RolloutSource } from '../rollout/source.js';
import type { PolicyEngine } from '../contracts/policy-engine.js';
import { runRftLoop, type RftLoopConfig, type RftLoopInputs, type RftLoopResult } from './grpo/trainer.js';
import { runSft, type SftConfig, type SftInputs } from './sft/trainer.js';
import { writeReport } from './report.js';
import type { HeldoutResult } from './evaluate.js';
import { recordedOptions } from './config/fields.js';
import { rftFields } from './config/rft.js';
import { sftFields } from './config/sft.js';

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
      entropyCoef: c.entropyCoef,
      lossMode: c.lossMode,
      clipCovRatio: c.clipCovRatio,
      clipCovLb: c.clipCovLb,
      clipCovUb: c.clipCovUb,
      klCovRatio: c.klCovRatio,
      ppoKlCoef: c.ppoKlCoef,
    },
    advantage: {
      estimator: c.advEstimator,
      passK: c.passK,
      passThreshold: c.passThreshold,
      wReinforceLambda: c.wReinforceLambda,
      unlikelinessBeta: c.unlikelinessBeta,
    },
    refResetEvery: c.refResetEvery,
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

/** `beforeRun` is called once everything has loaded, just before the run writes anything (the CLI clears an `--overwrite`n run there). */
/**
 * `makeSource` gives the run's rollout source for the loaded policy (an agent: the caller, above
 * this layer, owns agents and the rollout gateway); without it rollouts are single-turn.
 */
export type RftHooks = Pick<RftLoopInputs, 'onStep' | 'onEval' | 'onRollouts' | 'control'> & {
  resume?: boolean;
  beforeRun?: () => void;
  makeSource?: (policy: TransformerPolicy, train: Row[]) => Promise<RunSource | undefined>;
};

/** A run's rollout source; `policy` (a fleet's) wraps the loaded one when the source must see each optimizer step. */
export interface RunSource {
  source: RolloutSource;
  policy?: PolicyEngine;
  close(): Promise<void>;
}

export interface RunOutcome {
  result: RftLoopResult | { steps: number; evalLoss?: number; heldout?: HeldoutResult };
  report: string;
  output: string;
}

/** `rft train` with a validated config (src/train/config/rft.ts fields). */
export async function runRftFromConfig(c: Cfg, hooks: RftHooks = {}): Promise<RunOutcome & { result: RftLoopResult }> {
  const trainRows = await loadRows(c.dataset, 'rft', '--dataset');
  const heldout = c.evalDataset ? await loadRows(c.evalDataset, 'rft', '--eval-dataset') : undefined;
  const scorer: Scorer = await makeScorer(c.evaluator, { timeoutMs: c.evaluatorTimeoutMs, concurrency: c.evaluatorConcurrency });
  let made: RunSource | undefined;
  try {
    const policy = makePolicy(c as never);
    made = await hooks.makeSource?.(policy, trainRows);
    hooks.beforeRun?.();
    const result = await runRftLoop({
      policy: made?.policy ?? policy,
      tokenizer: policy.chat,
      source: made?.source,
      score: scorer.score,
      train: trainRows,
      heldout,
      config: rftLoopConfig(c),
      recordedConfig: recordedOptions(rftFields, c),
      runDir: c.out,
      saveAs: c.full ? 'model' : 'adapter',
      resume: hooks.resume === true,
      onStep: hooks.onStep,
      onEval: hooks.onEval,
      onRollouts: hooks.onRollouts,
      control: hooks.control,
    });
    const report = result.pausedAt === undefined ? writeReport(c.out) : '';
    return { result, report, output: resolve(c.out, c.full ? 'model' : 'adapter') };
  } finally {
    await made?.close();
    await scorer.close();
  }
}

/** `rft sft` with a validated config (src/train/config/sft.ts fields). */
export async function runSftFromConfig(c: Cfg, hooks: Pick<SftInputs, 'onStep' | 'onEval'> & { beforeRun?: () => void } = {}): Promise<RunOutcome & { result: { steps: number; evalLoss?: number; heldout?: HeldoutResult } }> {
  const rows = await loadRows(c.dataset, 'sft', '--dataset');
  const evalRows = c.eval ? await loadRows(c.eval, 'sft', '--eval') : undefined;
  const scorer = c.evaluator ? await makeScorer(c.evaluator, { timeoutMs: 30000, concurrency: 4 }) : undefined;
  try {
    const policy = makePolicy(c as never);
    hooks.beforeRun?.();
    const result = await runSft({
      policy,
      tokenizer: policy.chat,
      train: rows,
      evalRows,
      heldout: scorer && evalRows ? { rows: heldoutFromSft(evalRows), score: scorer.score } : undefined,
      config: sftConfig(c),
      recordedConfig: recordedOptions(sftFields, c),
      runDir: c.out,
      saveAs: c.full ? 'model' : 'adapter',
      onStep: hooks.onStep,
      onEval: hooks.onEval,
    });
    return { result, report: writeReport(c.out), output: resolve(c.out, c.full ? 'model' : 'adapter') };
  } finally {
    await scorer?.close();
  }
}
