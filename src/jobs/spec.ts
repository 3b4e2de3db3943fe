/**
 * Job specs: what a client sends to create a reinforcement (RFT) or supervised (SFT)
 * fine-tuning job, with Fireworks' field names, and their mapping onto the trainer's own
 * configuration (src/train/config). `trainingConfig` (RFT) and the SFT job body also accept
 * every `rft train` / `rft sft` option by its camelCase name; that list is derived from the
 * config field tables, never repeated here. A bad spec is refused with every problem and its
 * JSON path at once.
 *
 *   Fireworks field                         rft option
 *   trainingConfig.baseModel                 model (a local model directory)
 *   trainingConfig.warmStartFrom             adapter (a folder, or another job whose output is used)
 *   trainingConfig.learningRateWarmupSteps   warmupSteps
 *   trainingConfig.optimizerWeightDecay      weightDecay
 *   trainingConfig.batchSize                 promptsPerStep (RFT) / batchSize (SFT)
 *   trainingConfig.maxContextLength          prompt + completion limit (RFT) / maxLength (SFT)
 *   inferenceParameters.maxOutputTokens      maxNewTokens
 *   inferenceParameters.responseCandidatesCount  rolloutsPerPrompt
 *   lossConfig.method                        lossType + importanceSampling (GSPO: sequence)
 *   evaluationDataset                        evalDataset (SFT: eval)
 *   maxConcurrentRollouts                    maxConcurrentRollouts (agent rollouts in flight) and evaluatorConcurrency
 *   agent                                    agent (a module path on the server, or a remote agent's http(s) URL)
 */
import { z } from 'zod';
import { parseConfig, schemaOf, type Fields } from '../train/config/fields.js';
import { rftFields } from '../train/config/rft.js';
import { sftFields } from '../train/config/sft.js';

export interface SpecIssue {
  /** JSON path of the offending value, e.g. "trainingConfig.learningRate" ("" for the whole body). */
  path: string;
  message: string;
}

/** A refused spec: every problem, each with its JSON path. */
export class JobSpecError extends Error {
  constructor(readonly issues: SpecIssue[], what = 'job spec') {
    super(`invalid ${what}:\n${issues.map((i) => `  ${i.path || '(body)'}: ${i.message}`).join('\n')}`);
  }
}

/** Options the job itself provides (from its dataset, evaluator and run directory), not trainingConfig. */
const RFT_OWNED = ['model', 'adapter', 'dataset', 'evalDataset', 'evaluator', 'agent', 'out'] as const;
const SFT_OWNED = ['model', 'dataset', 'eval', 'evaluator', 'out'] as const;

/** The fields of a table as optional zod members without defaults (defaults are applied when mapping). */
function optionalShape(fields: Fields, omit: readonly string[]): Record<string, z.ZodTypeAny> {
  const stripped: Fields = {};
  for (const [k, f] of Object.entries(fields)) if (!omit.includes(k)) stripped[k] = { ...f, default: undefined, required: false };
  return schemaOf(stripped).shape;
}

const rftOptions = optionalShape(rftFields, RFT_OWNED);
const sftOptions = optionalShape(sftFields, SFT_OWNED);

export const RESOURCE_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ref = (kind: string) =>
  z.string({ error: `expected a ${kind} resource name (accounts/ACCOUNT/${kind}s/ID) or id` }).min(1, { error: 'must not be empty' });

export const LOSS_METHODS = ['GRPO', 'DAPO', 'DR_GRPO', 'BNPO', 'GSPO', 'GSPO_TOKEN'] as const;
export type LossMethod = (typeof LOSS_METHODS)[number];
/** lossConfig.method → the trainer's loss aggregation and importance-ratio level. */
const METHOD_MAP: Record<LossMethod, { lossType: string; importanceSampling: string }> = {
  GRPO: { lossType: 'grpo', importanceSampling: 'token' },
  DAPO: { lossType: 'dapo', importanceSampling: 'token' },
  DR_GRPO: { lossType: 'dr_grpo', importanceSampling: 'token' },
  BNPO: { lossType: 'bnpo', importanceSampling: 'token' },
  // GSPO-token with one advantage per sequence has GSPO's gradient: the trainer's sequence-level ratio.
  GSPO: { lossType: 'grpo', importanceSampling: 'sequence' },
  GSPO_TOKEN: { lossType: 'grpo', importanceSampling: 'sequence' },
};

/** An inline evaluator spec: a JSON object with a `type` (built-in with options, grader, weighted). */
const inlineEvaluator = z.looseObject({ type: z.string({ error: 'an inline evaluator spec needs a string "type"' }) });

const common = {
  displayName: z.string().max(200).optional(),
  dataset: ref('dataset'),
  evaluationDataset: ref('dataset').optional(),
  evalAutoCarveout: z.boolean({ error: 'expected true or false' }).optional(),
};

const warmStart = z.string().min(1, { error: 'must not be empty' }).describe('an adapter folder on the server, or a job name (accounts/A/supervisedFineTuningJobs/ID) whose output is used').optional();
const maxContextLength = z.number().int({ error: 'expected an integer' }).min(16, { error: 'must be ≥ 16' }).optional();

export const rftJobSpecSchema = z
  .object({
    ...common,
    evaluator: z.union([z.string().min(1), inlineEvaluator], { error: 'expected an evaluator resource name, a built-in evaluator name, or an inline spec object' }),
    trainingConfig: z
      .object({
        baseModel: z.string({ error: 'required: a model directory on the server (Hugging Face layout)' }).min(1),
        warmStartFrom: warmStart,
        outputModel: z.string().regex(/^[A-Za-z0-9._:/-]{1,128}$/, { error: 'must be 1-128 letters, digits or ._:/-' }).optional(),
        maxContextLength,
        batchSize: rftOptions.promptsPerStep!,
        learningRateWarmupSteps: rftOptions.warmupSteps!,
        optimizerWeightDecay: rftOptions.weightDecay!,
        ...rftOptions,
      })
      .strict(),
    inferenceParameters: z
      .object({
        maxOutputTokens: rftOptions.maxNewTokens!,
        temperature: rftOptions.temperature!,
        topP: rftOptions.topP!,
        topK: rftOptions.topK!,
        responseCandidatesCount: rftOptions.rolloutsPerPrompt!,
      })
      .strict()
      .optional(),
    lossConfig: z
      .object({
        method: z.enum(LOSS_METHODS, { error: `expected one of: ${LOSS_METHODS.join(', ')}` }).optional(),
        klBeta: rftOptions.klBeta!,
      })
      .strict()
      .optional(),
    maxConcurrentRollouts: rftOptions.maxConcurrentRollouts!,
    /** early stop after this many consecutive steps in which every group had zero reward variance (0: never) */
    earlyStopZeroVarianceSteps: z.number().int().min(0).optional(),
    /** a tools- or client-form agent module (a path on the server) or a remote agent's http(s) URL */
    agent: z.string().min(1).optional(),
  })
  .strict();

export const sftJobSpecSchema = z
  .object({
    ...common,
    evaluator: z.union([z.string().min(1), inlineEvaluator]).optional(),
    baseModel: z.string({ error: 'required: a model directory on the server (Hugging Face layout)' }).min(1),
    warmStartFrom: warmStart,
    outputModel: z.string().regex(/^[A-Za-z0-9._:/-]{1,128}$/, { error: 'must be 1-128 letters, digits or ._:/-' }).optional(),
    maxContextLength,
    learningRateWarmupSteps: sftOptions.warmupSteps!,
    optimizerWeightDecay: sftOptions.weightDecay!,
    ...sftOptions,
  })
  .strict();

export type RftJobSpec = z.infer<typeof rftJobSpecSchema>;
export type SftJobSpec = z.infer<typeof sftJobSpecSchema>;
export type JobKind = 'rft' | 'sft';

/** zod issues as SpecIssues: dotted paths (`a.b[2].c`), one issue per unknown key, "required" for a missing value. */
export function zodIssues(error: z.ZodError, body: unknown, prefix = ''): SpecIssue[] {
  const out: SpecIssue[] = [];
  const join = (parts: PropertyKey[]) => parts.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${String(k)}` : String(k)), prefix);
  const at = (parts: PropertyKey[]) => parts.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), body);
  for (const i of error.issues) {
    const path = join(i.path);
    if (i.code === 'unrecognized_keys') {
      for (const k of (i as { keys: string[] }).keys) out.push({ path: join([...i.path, k]), message: 'unknown field' });
    } else if (at(i.path) === undefined) out.push({ path, message: i.message.startsWith('Invalid input') ? 'required' : `required: ${i.message}` });
    else out.push({ path, message: i.message });
  }
  return out;
}

/** Two names for one option: the spec may give either, not both (unless equal). */
function merge(out: Record<string, unknown>, issues: SpecIssue[], key: string, value: unknown, path: string, owner: Map<string, string>): void {
  if (value === undefined) return;
  const prev = owner.get(key);
  if (prev !== undefined && JSON.stringify(out[key]) !== JSON.stringify(value)) {
    issues.push({ path, message: `conflicts with ${prev} (both set the trainer's ${key}); give only one` });
    return;
  }
  out[key] = value;
  owner.set(key, path);
}

export interface Parsed<T> {
  spec: T;
  /** The spec's options under the trainer's names (without dataset, evaluator, model paths or defaults). */
  options: Record<string, unknown>;
}

/** Validates an RFT job body; throws JobSpecError with every problem and its path. */
export function parseRftJobSpec(body: unknown): Parsed<RftJobSpec> {
  const r = rftJobSpecSchema.safeParse(body);
  if (!r.success) throw new JobSpecError(zodIssues(r.error, body));
  const spec = r.data;
  const issues: SpecIssue[] = [];
  const options: Record<string, unknown> = {};
  const owner = new Map<string, string>();
  const tc = spec.trainingConfig;
  for (const k of Object.keys(rftOptions)) merge(options, issues, k, (tc as Record<string, unknown>)[k], `trainingConfig.${k}`, owner);
  merge(options, issues, 'promptsPerStep', tc.batchSize, 'trainingConfig.batchSize', owner);
  merge(options, issues, 'warmupSteps', tc.learningRateWarmupSteps, 'trainingConfig.learningRateWarmupSteps', owner);
  merge(options, issues, 'weightDecay', tc.optimizerWeightDecay, 'trainingConfig.optimizerWeightDecay', owner);
  const ip = (spec.inferenceParameters ?? {}) as Record<string, unknown>;
  merge(options, issues, 'maxNewTokens', ip.maxOutputTokens, 'inferenceParameters.maxOutputTokens', owner);
  merge(options, issues, 'temperature', ip.temperature, 'inferenceParameters.temperature', owner);
  merge(options, issues, 'topP', ip.topP, 'inferenceParameters.topP', owner);
  merge(options, issues, 'topK', ip.topK, 'inferenceParameters.topK', owner);
  merge(options, issues, 'rolloutsPerPrompt', ip.responseCandidatesCount, 'inferenceParameters.responseCandidatesCount', owner);
  if (spec.lossConfig?.method) {
    const m = METHOD_MAP[spec.lossConfig.method];
    merge(options, issues, 'lossType', m.lossType, 'lossConfig.method', owner);
    merge(options, issues, 'importanceSampling', m.importanceSampling, 'lossConfig.method', owner);
    // DAPO's clip-higher default (ε_high 0.28) unless the spec sets it
    if (spec.lossConfig.method === 'DAPO' && options.clipEpsilonHigh === undefined) options.clipEpsilonHigh = 0.28;
  }
  merge(options, issues, 'klBeta', spec.lossConfig?.klBeta, 'lossConfig.klBeta', owner);
  merge(options, issues, 'maxConcurrentRollouts', spec.maxConcurrentRollouts, 'maxConcurrentRollouts', owner);
  merge(options, issues, 'evaluatorConcurrency', spec.maxConcurrentRollouts, 'maxConcurrentRollouts', owner);
  merge(options, issues, 'agent', spec.agent, 'agent', owner);
  const maxNew = (options.maxNewTokens as number | undefined) ?? (rftFields.maxNewTokens.default as number);
  if (tc.maxContextLength !== undefined && maxNew >= tc.maxContextLength)
    issues.push({ path: 'trainingConfig.maxContextLength', message: `must exceed the completion length (maxOutputTokens ${maxNew}) to leave room for the prompt` });
  if (spec.evaluationDataset !== undefined && spec.evalAutoCarveout)
    issues.push({ path: 'evalAutoCarveout', message: 'cannot carve out an evaluation set when evaluationDataset is given; use one or the other' });
  checkEvaluator(spec.evaluator, 'evaluator', issues);
  if (issues.length) throw new JobSpecError(issues);
  return { spec, options };
}

/** Validates an SFT job body; throws JobSpecError with every problem and its path. */
export function parseSftJobSpec(body: unknown): Parsed<SftJobSpec> {
  const r = sftJobSpecSchema.safeParse(body);
  if (!r.success) throw new JobSpecError(zodIssues(r.error, body));
  const spec = r.data;
  const issues: SpecIssue[] = [];
  const options: Record<string, unknown> = {};
  const owner = new Map<string, string>();
  for (const k of Object.keys(sftOptions)) merge(options, issues, k, (spec as Record<string, unknown>)[k], k, owner);
  merge(options, issues, 'warmupSteps', spec.learningRateWarmupSteps, 'learningRateWarmupSteps', owner);
  merge(options, issues, 'weightDecay', spec.optimizerWeightDecay, 'optimizerWeightDecay', owner);
  merge(options, issues, 'maxLength', spec.maxContextLength, 'maxContextLength', owner);
  if (spec.evaluationDataset !== undefined && spec.evalAutoCarveout)
    issues.push({ path: 'evalAutoCarveout', message: 'cannot carve out an evaluation set when evaluationDataset is given; use one or the other' });
  if (spec.evaluator !== undefined) checkEvaluator(spec.evaluator, 'evaluator', issues);
  if (issues.length) throw new JobSpecError(issues);
  return { spec, options };
}

/**
 * Inline evaluator specs may not reach into the server's files: modules come in as evaluator
 * resources (uploaded), so `{"type": "module"}` and spec file paths are refused here.
 */
function checkEvaluator(ev: string | { type: string }, path: string, issues: SpecIssue[]): void {
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (v && typeof v === 'object') {
      if ((v as { type?: unknown }).type === 'module') issues.push({ path: `${p}.type`, message: 'module evaluators are uploaded as evaluator resources (POST …/evaluators), then named here' });
      for (const [k, x] of Object.entries(v)) walk(x, `${p}.${k}`);
    }
  };
  if (typeof ev === 'string' && ev.trim().startsWith('{')) {
    try {
      walk(JSON.parse(ev), path);
    } catch (e) {
      issues.push({ path, message: `inline JSON spec does not parse: ${(e as Error).message}` });
    }
  } else if (typeof ev === 'string') {
    if (/[\\/]/.test(ev) && !ev.startsWith('accounts/')) issues.push({ path, message: 'expected an evaluator resource name (accounts/A/evaluators/ID), a built-in name or an inline spec; file paths are not accepted' });
    if (/\.(m?[jt]s|json)$/i.test(ev)) issues.push({ path, message: 'file specs are not accepted in a job; upload the module as an evaluator resource' });
  } else walk(ev, path);
}

/** Where a job's inputs are on disk, once its resources are resolved. */
export interface ResolvedInputs {
  model: string;
  adapter?: string;
  dataset: string;
  evalDataset?: string;
  /** an evaluator SPEC string as `rft train --evaluator` takes it */
  evaluator?: string;
  out: string;
}

/** The complete `rft train` configuration of an RFT job (defaults filled in, validated once more). */
export function rftTrainerConfig(options: Record<string, unknown>, r: ResolvedInputs): Record<string, unknown> {
  const { evalDataset, ...rest } = r;
  return parseConfig(rftFields, { ...options, ...rest, ...(evalDataset ? { evalDataset } : {}) }, 'the job spec');
}

/** The complete `rft sft` configuration of an SFT job. */
export function sftTrainerConfig(options: Record<string, unknown>, r: ResolvedInputs): Record<string, unknown> {
  const { evalDataset, adapter, ...rest } = r;
  if (adapter) throw new JobSpecError([{ path: 'warmStartFrom', message: 'SFT starts from a model folder (a full-weights output), not from a LoRA adapter' }]);
  return parseConfig(sftFields, { ...options, ...rest, ...(evalDataset ? { eval: evalDataset } : {}) }, 'the job spec');
}
