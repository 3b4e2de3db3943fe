/** `rft sft` options, declared once. */
import { field, type Fields } from './fields.js';
import { loraFields, optimFields } from './rft.js';

export const sftFields = {
  model: field.string('base model directory (Hugging Face layout)', { required: true, path: true }),
  dataset: field.string('SFT rows (JSONL chat rows ending with the assistant answer)', { required: true, path: true }),
  out: field.string('run directory', { required: true, path: true, resumeMayChange: true }),
  full: field.boolean('train all weights instead of a LoRA adapter', { default: false }),
  weightsDtype: field.enum(['f32', 'bf16'] as const, 'storage of the frozen base weights (default: the checkpoint\'s dtype; --full trains F32)'),
  epochs: field.number('passes over the data', { default: 1, min: 0 }),
  batchSize: field.integer('sequences per step', { default: 8, min: 1 }),
  maxLength: field.integer('truncate sequences to this many tokens', { default: 512, min: 8 }),
  eval: field.string('held-out SFT rows for eval loss (and accuracy with --evaluator)', { path: true }),
  evaluator: field.spec('evaluator SPEC for held-out accuracy'),
  evalEvery: field.integer('evaluate every N steps (0: only at the end)', { default: 0, min: 0 }),
  maxNewTokens: field.integer('answer length limit when measuring held-out accuracy', { default: 128, min: 1 }),
  passThreshold: field.number('an answer passes when its score reaches this', { default: 1, min: 0, max: 1 }),
  ...loraFields,
  ...optimFields,
} satisfies Fields;
