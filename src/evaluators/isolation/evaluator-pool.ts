/**
 * Running evaluators the trainer can trust to come back:
 * - `EvaluatorPool`: users' evaluator modules in a pool of worker threads, each call with a
 *   timeout and a heap limit; a hung, crashing or memory-hungry evaluator yields `valid: false`.
 * - `runEvaluations`: scores many rollouts with a concurrency limit and a per-call timeout, in
 *   order, never throwing.
 */
import type { EvaluationResult, Evaluator, Rollout } from '../../contracts/evaluation.js';
import { errorMessage, invalid, normaliseResult } from '../define.js';
import type { ModuleTask } from './module-worker.js';
import { WorkerPool } from './pool.js';

export interface EvaluatorPoolOptions {
  /** Worker threads (default 2). */
  size?: number;
  /** Per-call timeout, ms (default 10 000). */
  timeoutMs?: number;
  /** Heap limit per worker, MiB (default 256). */
  memoryMb?: number;
  /** Limit for loading the module in a worker, before the per-call timeout starts (default 60 000). */
  setupTimeoutMs?: number;
}

export class EvaluatorPool {
  private readonly pool: WorkerPool<ModuleTask, unknown>;

  constructor(opts: EvaluatorPoolOptions = {}) {
    this.pool = new WorkerPool({
      kind: 'thread',
      script: new URL('./module-worker.js', import.meta.url),
      size: opts.size ?? 2,
      timeoutMs: opts.timeoutMs ?? 10_000,
      memoryMb: opts.memoryMb ?? 256,
      setupTimeoutMs: opts.setupTimeoutMs,
    });
  }

  /** Loads the module in a worker (so a broken module fails here, not on every call). */
  async load(path: string): Promise<Evaluator> {
    const r = await this.pool.run({ op: 'load', path });
    if (!r.ok) throw new Error(r.error);
    const name = (r.value as { name: string }).name;
    return {
      name,
      evaluate: async (rollout: Rollout): Promise<EvaluationResult> => {
        const out = await this.pool.run({ op: 'evaluate', path, rollout: cloneable(rollout) });
        if (!out.ok) return invalid(`evaluator ${name}: ${out.error}`);
        return normaliseResult(out.value);
      },
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Rollouts are JSON data; a JSON round trip drops anything a worker could not receive. */
function cloneable(r: Rollout): Rollout {
  return JSON.parse(JSON.stringify(r)) as Rollout;
}

export interface RunOptions {
  /** Evaluations in flight at once (default 4). */
  concurrency?: number;
  /**
   * Per-call timeout, ms (default 30 000). In-process evaluators that never yield cannot be
   * interrupted; that is why users' modules run in an EvaluatorPool, which kills the worker.
   */
  timeoutMs?: number;
}

export async function runEvaluations(evaluator: Evaluator, rollouts: Rollout[], opts: RunOptions = {}): Promise<EvaluationResult[]> {
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const results = new Array<EvaluationResult>(rollouts.length);
  let next = 0;
  const one = async (r: Rollout): Promise<EvaluationResult> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<EvaluationResult>((resolve) => {
      timer = setTimeout(() => resolve(invalid(`evaluator ${evaluator.name} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const call = (async () => normaliseResult(await evaluator.evaluate(r)))().catch((e) => invalid(`evaluator ${evaluator.name} threw: ${errorMessage(e)}`));
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  const lanes = Array.from({ length: Math.min(concurrency, rollouts.length) }, async () => {
    while (next < rollouts.length) {
      const i = next++;
      results[i] = await one(rollouts[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
