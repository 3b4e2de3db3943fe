/**
 * The part the client-form and remote agent sources share: for each of a request's rows × n, open
 * a rollout on the gateway (eval-protocol metadata, the run's sampling), run the agent under a
 * timeout and the request's abort signal, at most `maxConcurrentRollouts` at a time, then close
 * the rollout and turn what the gateway recorded into a trajectory. An agent that fails or times
 * out gives an invalid trajectory (finishReason 'error' / 'timeout', `error` set); the others go on.
 */
import { randomBytes } from 'node:crypto';
import type { Row } from '../contracts/row.js';
import type { RolloutFinish, Trajectory } from '../contracts/trajectory.js';
import type { GatewayPort, RolloutMetadata, RolloutStatus, StatusLog } from './gateway-port.js';
import { trajectoryFromTurns } from './recorded-trajectory.js';
import type { RolloutRequest } from './source.js';

export interface RunnerOptions {
  /** Rollouts in flight at most (Fireworks' maxConcurrentRollouts; default 8). */
  maxConcurrentRollouts?: number;
  /** A rollout that takes longer is invalid (default 120 000 ms). */
  rolloutTimeoutMs?: number;
  /** eval-protocol's experiment_id (default: the run id). */
  experimentId?: string;
}

export interface RolloutJob {
  row: Row;
  rowIndex: number;
  metadata: RolloutMetadata;
  /** The rollout's model_base_url (OpenAI paths go after it, with or without /v1). */
  baseUrl: string;
  /** Aborts on the rollout timeout and on the request's signal. */
  signal: AbortSignal;
  /** Resolves with the first terminal status log the agent posts for this rollout. */
  status: Promise<StatusLog>;
  /** Milliseconds left before the rollout times out. */
  remainingMs(): number;
}

/** How the agent's part ended: fine, or a failure that makes the rollout invalid. */
export type Verdict = { ok: true } | { ok: false; finishReason: Extract<RolloutFinish, 'error' | 'timeout'>; error: string };

/** Counted outcomes, cumulative over the source's life. */
export interface RolloutCounters {
  rollouts: number;
  completed: number;
  errors: number;
  timeouts: number;
  aborted: number;
  /** Rollouts whose agent finished without calling the model. */
  noRequests: number;
}

export const newCounters = (): RolloutCounters => ({ rollouts: 0, completed: 0, errors: 0, timeouts: 0, aborted: 0, noRequests: 0 });

const TERMINAL_FOR: Record<'error' | 'timeout', RolloutStatus> = {
  error: { code: 103, message: 'rollout error' },
  timeout: { code: 4, message: 'deadline exceeded' },
};

/** The row's own id when it has one (eval-protocol's row_id), else its place in the step. */
function rowId(row: Row, rowIndex: number, step: number | undefined): string {
  for (const k of ['row_id', 'id']) {
    const v = row[k];
    if (typeof v === 'string' && v) return v;
    if (typeof v === 'number') return String(v);
  }
  return step === undefined ? `row-${rowIndex}` : `step-${step}-row-${rowIndex}`;
}

export async function runGatewayRollouts(
  req: RolloutRequest,
  gateway: GatewayPort,
  opts: RunnerOptions,
  counters: RolloutCounters,
  agent: (job: RolloutJob) => Promise<Verdict>,
): Promise<Trajectory[]> {
  const maxConcurrent = opts.maxConcurrentRollouts ?? 8;
  const timeoutMs = opts.rolloutTimeoutMs ?? 120_000;
  if (!(Number.isInteger(maxConcurrent) && maxConcurrent >= 1)) throw new Error(`maxConcurrentRollouts must be a positive integer, got ${maxConcurrent}`);
  if (!(timeoutMs > 0)) throw new Error(`rolloutTimeoutMs must be positive, got ${timeoutMs}`);
  req.signal?.throwIfAborted();
  const invocation = randomBytes(6).toString('hex');
  const runId = req.tags?.runId ?? 'rft';
  const jobs: { row: Row; rowIndex: number; k: number }[] = [];
  req.rows.forEach((row, rowIndex) => {
    for (let k = 0; k < req.n; k++) jobs.push({ row, rowIndex, k });
  });
  const out: Trajectory[] = new Array(jobs.length);

  const one = async (j: { row: Row; rowIndex: number; k: number }, slot: number): Promise<void> => {
    counters.rollouts++;
    const metadata: RolloutMetadata = {
      invocation_id: invocation,
      experiment_id: opts.experimentId ?? runId,
      rollout_id: `${invocation}-${req.tags?.step ?? 0}-${j.rowIndex}-${j.k}`,
      run_id: runId,
      row_id: rowId(j.row, j.rowIndex, req.tags?.step),
    };
    const ctl = new AbortController();
    const deadline = Date.now() + timeoutMs;
    let onStatus!: (l: StatusLog) => void;
    const status = new Promise<StatusLog>((resolve) => (onStatus = resolve));
    const baseUrl = gateway.open({
      metadata,
      sampling: req.sampling,
      reference: req.reference,
      onStatus: (l) => {
        if (l.status.code !== 101) onStatus(l);
      },
    });
    let verdict: Verdict;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => ctl.abort(new Error('the rollout request was aborted'));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const stopped = new Promise<Verdict>((resolve) => {
        timer = setTimeout(() => {
          resolve({ ok: false, finishReason: 'timeout', error: `the rollout timed out after ${timeoutMs} ms` }); // before abort(), whose listener resolves too
          ctl.abort(new Error(`the rollout timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        ctl.signal.addEventListener('abort', () => resolve({ ok: false, finishReason: 'error', error: String((ctl.signal.reason as Error)?.message ?? ctl.signal.reason) }), { once: true });
      });
      const ran = agent({ row: j.row, rowIndex: j.rowIndex, metadata, baseUrl, signal: ctl.signal, status, remainingMs: () => deadline - Date.now() }).catch(
        (e): Verdict => ({ ok: false, finishReason: 'error', error: `the agent failed: ${(e as Error)?.message ?? String(e)}` }),
      );
      verdict = await Promise.race([ran, stopped]);
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (!ctl.signal.aborted) ctl.abort(new Error('the rollout is over'));
    }
    const fin = gateway.finish(metadata.rollout_id, verdict.ok ? undefined : TERMINAL_FOR[verdict.finishReason]);
    const t = trajectoryFromTurns(j.row, j.rowIndex, fin.turns, verdict.ok ? {} : { finishReason: verdict.finishReason, error: verdict.error });
    if (req.signal?.aborted) counters.aborted++;
    else if (!verdict.ok && verdict.finishReason === 'timeout') counters.timeouts++;
    else if (!verdict.ok) counters.errors++;
    else if (fin.turns.length === 0) counters.noRequests++;
    else counters.completed++;
    out[slot] = t;
  };

  let nextJob = 0;
  const worker = async () => {
    while (nextJob < jobs.length && !req.signal?.aborted) {
      const slot = nextJob++;
      await one(jobs[slot]!, slot);
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxConcurrent, jobs.length) }, worker));
  req.signal?.throwIfAborted(); // rollouts not started were never opened; the started ones are closed
  return out;
}
