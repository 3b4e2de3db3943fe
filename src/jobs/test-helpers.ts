/** Shared setup for the jobs tests: a tiny model, a small RFT dataset, evaluators with reward variance, and polling. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULTS, initModel } from '../model/init.js';
import type { JobStore } from './store.js';

export function tmp(prefix = 'rft-jobs-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A 1-layer qwen3 model with the character tokenizer (chat template included). */
export function tinyModel(dir: string): string {
  const modelDir = join(dir, 'model');
  initModel(modelDir, { ...DEFAULTS, arch: 'qwen3', hidden: 32, layers: 1, heads: 2, kvHeads: 1, intermediate: 48, maxPositions: 256, seed: 1, initStd: 0.3 });
  return modelDir;
}

export function rftRows(n: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Add ${i} and ${i + 1}.` }], ground_truth: String(2 * i + 1) })).join('\n') + '\n';
}

export function sftRows(n: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Add ${i} and ${i + 1}.` }, { role: 'assistant', content: `<answer>${2 * i + 1}</answer>` }] })).join('\n') + '\n';
}

/**
 * A module evaluator whose score depends on the completion (so groups have reward variance and
 * the policy gets a gradient), deterministic, and slow enough (`delayMs` per rollout) that a
 * test can act between steps.
 */
export const VARIED_EVALUATOR = (delayMs: number) => `
export default async function varied(rollout) {
  await new Promise((r) => setTimeout(r, ${delayMs}));
  const n = rollout.output.length;
  return { score: (n % 4) / 3, valid: true, reason: 'length ' + n, metrics: { parity: { score: n % 2 } } };
}
`;

export async function uploadDataset(store: JobStore, account: string, id: string, text: string, format: 'RFT' | 'SFT' = 'RFT'): Promise<string> {
  store.createDataset(account, id, { format });
  const { dataset } = await store.uploadDataset(`accounts/${account}/datasets/${id}`, Readable.from([Buffer.from(text)]));
  return dataset.name;
}

export function writeModule(dir: string, code: string): string {
  const p = join(dir, 'evaluator.mjs');
  writeFileSync(p, code);
  return p;
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Step metrics without the timing fields, which differ between any two runs. */
export function comparable(rows: { step: number; metrics: Record<string, unknown> }[]): unknown[] {
  return rows.map(({ step, metrics }) => {
    const { time_sample_s, time_eval_s, time_train_s, sample_tokens_per_s, train_tokens_per_s, ...rest } = metrics;
    return { step, ...rest };
  });
}
