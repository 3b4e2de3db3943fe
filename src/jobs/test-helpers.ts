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

/** `rft server` in its own process on a free loopback port; resolves once it listens. */
export interface ServerProcess {
  url: string;
  child: import('node:child_process').ChildProcess;
  stderr(): string;
  /** SIGTERM and wait for the exit */
  stop(): Promise<void>;
}

export const CLI = new URL('../cli/main.js', import.meta.url).pathname;

export async function startServerProcess(dataDir: string, extra: string[] = []): Promise<ServerProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [CLI, 'server', '--port', '0', '--data', dataDir, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`rft server exited with ${code}: ${err}`)));
  });
  return {
    url,
    child,
    stderr: () => err,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** A JSON request; returns status and parsed body. */
export async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (tar, SSE)
  }
  return { status: res.status, body: parsed };
}

/** Reads an SSE response until `until` returns true for an event (or the stream ends). */
export async function readEvents(url: string, path: string, until: (event: string, data: any) => boolean, headers: Record<string, string> = {}): Promise<{ event: string; data: any }[]> {
  const res = await fetch(url + path, { headers });
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  const events: { event: string; data: any }[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!ev || data === undefined) continue;
      events.push({ event: ev, data: JSON.parse(data) });
      if (until(ev, events.at(-1)!.data)) {
        await res.body?.cancel().catch(() => undefined);
        return events;
      }
    }
  }
  return events;
}
