/**
 * The RFT loop: for each step take the next prompts, run one GRPO step, log, evaluate and
 * checkpoint on schedule. Data order, sampling and dropout all derive from (seed, step), so
 * `resume` only needs the policy's training state and the step number to continue exactly.
 */
import type { Row } from '../../contracts/row.js';
import type { ChatTokenizer } from '../../contracts/tokenizer.js';
import type { PolicyEngine } from '../../contracts/policy-engine.js';
import type { RolloutSource } from '../../rollout/source.js';
import { learningRateAt, type Schedule } from '../schedule.js';
import { join } from 'node:path';
import { readFileSync, existsSync } from 'node:fs';
import { RunDir, writeDirAtomic, writeFileAtomic } from '../run-dir.js';
import { evaluateHeldout, type HeldoutResult } from '../evaluate.js';
import { grpoStep, stepSeed, type GrpoStepConfig, type StepMetrics } from './step.js';
import type { ScoreFn } from './score.js';
import { validateLossConfig } from './loss.js';
import { validateAdvantageConfig } from './estimators.js';
import type { Trajectory } from '../../contracts/trajectory.js';
import type { EvaluationResult } from '../../contracts/evaluation.js';

export interface RftLoopConfig extends GrpoStepConfig {
  promptsPerStep: number;
  epochs: number;
  steps?: number;
  learningRate: number;
  schedule: Schedule;
  warmupSteps: number;
  seed: number;
  evalEvery: number;
  evalSamples: number;
  passThreshold: number;
  checkpointEvery: number;
  /** ProRL: every N steps the current policy becomes the KL reference (0: never). */
  refResetEvery?: number;
}

export interface RftLoopInputs {
  policy: PolicyEngine;
  tokenizer: ChatTokenizer;
  score: ScoreFn;
  /**
   * Where training and held-out trajectories come from (an agent, a remote agent server);
   * default single-turn sampling from `policy`. The caller owns it (and closes it).
   */
  source?: RolloutSource;
  train: Row[];
  heldout?: Row[];
  config: RftLoopConfig;
  /** Anything else worth recording in config.json (paths, evaluator spec, ...). */
  recordedConfig?: Record<string, unknown>;
  runDir: string;
  /** Folder name in the run directory for the result: 'adapter' (LoRA) or 'model' (full weights). */
  saveAs?: 'adapter' | 'model';
  resume?: boolean;
  /** Called after each step (progress display). */
  onStep?: (step: number, total: number, m: StepMetrics) => void;
  onEval?: (step: number, r: HeldoutResult) => void;
  /** Called after each step with its rollouts and their evaluations (a jobs store records them). */
  onRollouts?: (step: number, rollouts: StepRollouts) => void;
  /**
   * Asked after each step (after onStep): 'pause' saves a checkpoint at this step and returns
   * without the final adapter (resume continues exactly); 'stop' ends training here (early
   * stop): checkpoint, final evaluation and adapter as if this were the last step.
   */
  control?: (step: number, m: StepMetrics) => 'continue' | 'pause' | 'stop';
}

export interface StepRollouts {
  trajectories: Trajectory[];
  results: EvaluationResult[];
  rewards: Float64Array;
}

export interface RftLoopResult {
  steps: number;
  /** Set when `control` paused the run: the step of the checkpoint it stopped at. */
  pausedAt?: number;
  /** Set when `control` stopped the run early: the last step taken. */
  stoppedAt?: number;
  initialEval?: HeldoutResult;
  finalEval?: HeldoutResult;
}

export function totalSteps(c: Pick<RftLoopConfig, 'steps' | 'epochs' | 'promptsPerStep'>, rows: number): number {
  return c.steps ?? Math.max(1, Math.ceil((c.epochs * rows) / c.promptsPerStep));
}

/** The rows of step `step`: consecutive slices of per-epoch shuffled orders (a pure function of seed and step). */
export function rowsForStep(rows: Row[], promptsPerStep: number, seed: number, step: number): Row[] {
  const out: Row[] = [];
  for (let j = 0; j < promptsPerStep; j++) {
    const pos = step * promptsPerStep + j;
    const epoch = Math.floor(pos / rows.length);
    out.push(rows[epochOrder(rows.length, seed, epoch)[pos % rows.length]]);
  }
  return out;
}

const orderCache = new Map<string, number[]>();
function epochOrder(n: number, seed: number, epoch: number): number[] {
  const key = `${n}:${seed}:${epoch}`;
  let o = orderCache.get(key);
  if (!o) {
    const keys = Array.from({ length: n }, (_, i) => stepSeed(seed, epoch, i + 17));
    o = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
    if (orderCache.size > 64) orderCache.clear();
    orderCache.set(key, o);
  }
  return o;
}

export async function runRftLoop(inp: RftLoopInputs): Promise<RftLoopResult> {
  const c = inp.config;
  if (inp.train.length === 0) throw new Error('the training dataset has no rows');
  // Cross-field problems (e.g. the unlikeliness reward with another estimator) before any work is done.
  validateLossConfig(c.loss);
  if (c.advantage) validateAdvantageConfig(c.advantage);
  const run = new RunDir(inp.runDir);
  const total = totalSteps(c, inp.train.length);
  let start = 0;
  const result: RftLoopResult = { steps: total };

  const recorded = { ...inp.recordedConfig, ...c, total_steps: total };
  const cps = inp.resume ? run.checkpoints() : [];
  if (cps.length) {
    assertSameConfig(run.file('config.json'), recorded);
    const last = cps[cps.length - 1];
    await inp.policy.loadTrainingState(run.checkpointDir(last));
    run.truncateJsonl('metrics.jsonl', last);
    run.truncateJsonl('eval.jsonl', last);
    start = last;
  } else {
    // A fresh run (or a resume with nothing to resume from) starts with empty logs.
    run.truncateJsonl('metrics.jsonl', -1);
    run.truncateJsonl('eval.jsonl', -1);
    run.writeJson('config.json', recorded);
  }

  // Every held-out evaluation draws from the same random streams (one per problem and sample), so the
  // difference between two evaluations comes from the model, not from the sampler's luck.
  const evalSeed = stepSeed(c.seed, 0, 3);
  const heldout = async (step: number): Promise<HeldoutResult | undefined> => {
    if (!inp.heldout?.length) return undefined;
    const r = await evaluateHeldout(inp.policy, inp.tokenizer, inp.score, inp.heldout, {
      k: c.evalSamples,
      temperature: c.temperature || 1,
      topP: c.topP,
      topK: c.topK,
      maxNewTokens: c.maxNewTokens,
      passThreshold: c.passThreshold,
      seed: evalSeed,
      source: inp.source,
    });
    const { samples, ...summary } = r;
    run.appendJsonl('eval.jsonl', { step, ...summary });
    run.writeJson(`samples/step-${String(step).padStart(6, '0')}.json`, samples);
    inp.onEval?.(step, r);
    return r;
  };

  if (start === 0) result.initialEval = await heldout(0);

  for (let step = start; step < total; step++) {
    const rows = rowsForStep(inp.train, c.promptsPerStep, c.seed, step);
    const lr = learningRateAt(step, total, c.learningRate, c.schedule, c.warmupSteps);
    const { metrics, trajectories, results, rewards } = await grpoStep(inp.policy, inp.tokenizer, inp.score, rows, c, { seed: c.seed, step, lr, source: inp.source });
    const done = step + 1;
    run.appendJsonl('metrics.jsonl', { step: done, ...metrics });
    inp.onStep?.(done, total, metrics);
    inp.onRollouts?.(done, { trajectories, results, rewards });
    const action = inp.control?.(done, metrics) ?? 'continue';
    const last = done === total || action === 'stop';
    if (c.refResetEvery && done % c.refResetEvery === 0 && !last) await resetReference(inp.policy);
    if (c.evalEvery > 0 && done % c.evalEvery === 0 && !last) await heldout(done);
    if ((c.checkpointEvery > 0 && done % c.checkpointEvery === 0) || last || action === 'pause') {
      await writeDirAtomic(run.checkpointDir(done), async (tmp) => {
        await inp.policy.saveTrainingState(tmp);
        writeFileAtomic(join(tmp, 'trainer_state.json'), JSON.stringify({ step: done, total_steps: total, seed: c.seed }) + '\n');
      });
    }
    if (action === 'pause' && done < total) return { ...result, pausedAt: done };
    if (action === 'stop') {
      result.stoppedAt = done;
      break;
    }
  }
  result.finalEval = await heldout(result.stoppedAt ?? total);
  await writeDirAtomic(run.file(inp.saveAs ?? 'adapter'), (tmp) => inp.policy.saveAdapter(tmp));
  return result;
}

async function resetReference(policy: PolicyEngine): Promise<void> {
  if (!policy.resetReference) throw new Error('refResetEvery: this policy engine cannot reset its reference (no resetReference())');
  await policy.resetReference();
}

/** A resumed run must use the configuration it was started with, or its steps would not match. */
function assertSameConfig(path: string, now: Record<string, unknown>): void {
  if (!existsSync(path)) throw new Error(`cannot resume: ${path} is missing`);
  const before = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const keys = new Set([...Object.keys(before), ...Object.keys(now)]);
  const changed = [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(now[k]));
  if (changed.length) {
    throw new Error(`cannot resume: the configuration differs from the run's config.json in ${changed.map((k) => `${k} (${JSON.stringify(before[k])} → ${JSON.stringify(now[k])})`).join(', ')}`);
  }
}
