/**
 * Building what a training run needs from its configuration: validated dataset rows, a
 * concurrent, time-limited scorer from an evaluator SPEC, and the policy over a model folder.
 */
import { validateFile, readJsonl, resolveRowPaths, type RowKind } from '../data/index.js';
import { loadEvaluator, runEvaluations } from '../evaluators/index.js';
import { loadModel, loadTokenizer } from '../model/load.js';
import { TransformerPolicy } from '../model/policy.js';
import type { ProjectionName } from '../model/transformer.js';
import type { Row } from '../contracts/row.js';
import type { Evaluator } from '../contracts/evaluation.js';
import type { ScoreFn } from './grpo/score.js';

/** Reads a JSONL dataset after validating every row; throws with each problem and its line. */
export async function loadRows(path: string, kind: RowKind, what: string): Promise<Row[]> {
  let report;
  try {
    // Duplicated prompts are legitimate in training data (several answers to one prompt).
    report = await validateFile(path, { kind, duplicates: false });
  } catch (e) {
    throw new Error(`${what} ${path}: ${(e as Error).message}`);
  }
  if (!report.ok) {
    const shown = report.issues.slice(0, 20).map((i) => `  line ${i.line}${i.path ? ` ${i.path}` : ''}: ${i.message}`);
    const validate = `rft dataset validate ${path}${kind === 'sft' ? ' --sft' : ''}`;
    const more = report.issues.length > 20 ? `\n  … and ${report.issues.length - 20} more (${validate} lists them all)` : '';
    const n = report.issues.length;
    throw new Error(`${what} ${path} has ${n} problem${n === 1 ? '' : 's'}:\n${shown.join('\n')}${more}`);
  }
  // a row's relative file paths (the SQL task's database) are relative to the dataset file
  return resolveRowPaths(await readJsonl<Row>(path), path);
}

export interface Scorer {
  score: ScoreFn;
  evaluator: Evaluator;
  close(): Promise<void>;
}

/** An evaluator SPEC (built-in name, JSON spec or module path) as a concurrent, time-limited scorer. */
export async function makeScorer(spec: unknown, opts: { timeoutMs: number; concurrency: number }): Promise<Scorer> {
  const evaluator = await loadEvaluator(spec, { pool: { timeoutMs: opts.timeoutMs } });
  return {
    evaluator,
    score: (rollouts) => runEvaluations(evaluator, rollouts, { concurrency: opts.concurrency, timeoutMs: opts.timeoutMs }),
    close: async () => {
      await evaluator.close?.();
    },
  };
}

export interface PolicySettings {
  model: string;
  adapter?: string;
  full?: boolean;
  /** The frozen base's storage (default: the checkpoint's dtype); full training always loads F32. */
  weightsDtype?: 'f32' | 'bf16';
  loraRank: number;
  loraAlpha: number;
  loraDropout: number;
  targetModules: string[];
  seed: number;
}

export function makePolicy(s: PolicySettings): TransformerPolicy {
  if (s.full && s.weightsDtype === 'bf16')
    throw new Error('--weights-dtype bf16 keeps the base weights frozen at 16 bits, but --full trains every weight in F32; drop one of the two');
  const model = loadModel(s.model, { weightsDtype: s.full ? 'f32' : (s.weightsDtype ?? 'auto') });
  const tokenizer = loadTokenizer(s.model, model);
  if (!tokenizer.hasChatTemplate) throw new Error(`${s.model}: the tokenizer has no chat template; rft trains on chat rows`);
  return new TransformerPolicy(model, tokenizer, {
    full: s.full,
    lora: { r: s.loraRank, alpha: s.loraAlpha, dropout: s.loraDropout, targetModules: s.targetModules as ProjectionName[] },
    initAdapter: s.adapter,
    baseModelPath: s.model,
    seed: s.seed,
  });
}
