/**
 * The training layer's public API (`import … from 'rft/train'`): the SFT and GRPO-family
 * trainers, held-out evaluation, advantages and losses, schedules, the run directory and report,
 * the option tables the CLI derives its flags from, and a tiny exact policy for tests.
 *
 * @example
 * const policy = makePolicy({ model: 'models/tiny', loraRank: 8, loraAlpha: 16, loraDropout: 0, targetModules: ['q_proj', 'v_proj'] });
 * await runRftLoop({ policy, tokenizer: policy.chat, score, train: rows, config, runDir: 'runs/a' });
 */
export { runRftLoop, totalSteps, rowsForStep, type RftLoopConfig, type RftLoopInputs, type RftLoopResult } from './grpo/trainer.js';
export { grpoStep, type GrpoStepConfig, type StepMetrics } from './grpo/step.js';
export { computeAdvantages, unbiasedStd, type AdvantageOptions, type Advantages, type RewardScaling } from './grpo/advantages.js';
export { policyLoss, validateLossConfig, LOSS_WEIGHTS, type LossType, type ImportanceSampling, type LossConfig } from './grpo/loss.js';
export { scoreAll, type ScoreFn, type Scores } from './grpo/score.js';
export { runSft, evalLoss, type SftConfig, type SftInputs } from './sft/trainer.js';
export { evaluateHeldout, passAtK, pairedGain, type HeldoutOptions, type HeldoutResult, type HeldoutSample, type Gain } from './evaluate.js';
export { learningRateAt, type Schedule } from './schedule.js';
export { RunDir } from './run-dir.js';
export { writeReport } from './report.js';
export { loadRows, makeScorer, makePolicy, type Scorer, type PolicySettings } from './setup.js';
export { rftFields, loraFields, optimFields, LORA_TARGETS } from './config/rft.js';
export { sftFields } from './config/sft.js';
export { parseConfig as parseTrainConfig, markdownTable, type Field, type Fields } from './config/fields.js';
export { BigramPolicy } from './testing/bigram-policy.js';
