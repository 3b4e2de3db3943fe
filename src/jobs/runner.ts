/**
 * The runner: a queue of PENDING jobs, at most `concurrency` running at once, each in its own
 * child process (src/jobs/child.ts) so a crash never takes the server down.
 *
 *   PENDING → VALIDATING (resolve the dataset, evaluator, warm start; build the trainer config)
 *           → RUNNING (child) → COMPLETED | EARLY_STOPPED | PAUSED (after a checkpoint)
 *                             | FAILED (child error or death, with the reason) | CANCELLED
 *
 * An RFT child always runs with the trainer's exact resume, so a job that starts again after
 * a pause, a failure or a server restart continues from its last checkpoint; the store forgets
 * the steps after that checkpoint first, since the trainer logs them again.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonl, splitRows } from '../data/index.js';
import { RunDir } from '../train/run-dir.js';
import { JobsError } from './errors.js';
import { JobSpecError, rftTrainerConfig, sftTrainerConfig, type ResolvedInputs } from './spec.js';
import { TERMINAL_STATES, type JobRecord, type JobStore } from './store.js';
import type { ChildMessage } from './protocol.js';

export interface RunnerOptions {
  /** Jobs running at once (default 1). */
  concurrency?: number;
  /** Default for `earlyStopZeroVarianceSteps` when a spec does not set it (default 5; 0 turns it off). */
  earlyStopSteps?: number;
}

export interface JobEvent {
  job: string;
  type: 'state' | 'step' | 'eval' | 'log';
  step?: number;
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

interface Running {
  child: ChildProcess;
  done?: Extract<ChildMessage, { type: 'done' }>;
  error?: string;
  stderrTail: string[];
}

export class JobRunner {
  readonly events = new EventEmitter();
  private readonly running = new Map<string, Running>();
  private readonly starting = new Set<string>();
  private readonly concurrency: number;
  private readonly earlyStopSteps: number;
  private closed = false;
  private scheduling = false;

  constructor(readonly store: JobStore, opts: RunnerOptions = {}) {
    this.concurrency = opts.concurrency ?? 1;
    this.earlyStopSteps = opts.earlyStopSteps ?? 5;
    this.events.setMaxListeners(0);
  }

  /**
   * Picks up where a previous server left off: jobs that were VALIDATING or RUNNING go back to
   * the queue (their children died with that server) and resume from their last checkpoint.
   */
  start(): void {
    for (const j of this.store.jobsInState('JOB_STATE_RUNNING', 'JOB_STATE_VALIDATING')) {
      if (j.pid) killStale(j.pid);
      if (j.requested === 'cancel') this.store.transition(j.name, 'JOB_STATE_CANCELLED', { pid: null, requested: null, statusMessage: 'cancelled' });
      else if (j.requested === 'pause') this.store.transition(j.name, 'JOB_STATE_PAUSED', { pid: null, requested: null, statusMessage: 'paused at its last checkpoint (the server stopped meanwhile)' });
      else {
        this.store.transition(j.name, 'JOB_STATE_PENDING', { pid: null, statusMessage: 'resuming from the last checkpoint after a server restart' });
        this.store.appendLog(j.name, 'system', 'the server restarted while this job ran; it resumes from its last checkpoint');
      }
    }
    this.schedule();
  }

  /** Stops every child without changing job states, so a restart resumes them (server shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    const exits = [...this.running.values()].map((r) => new Promise<void>((resolve) => {
      if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
      r.child.once('exit', () => resolve());
      r.child.kill('SIGKILL');
    }));
    await Promise.all(exits);
  }

  /** Starts queued jobs while there is room. */
  schedule(): void {
    if (this.closed || this.scheduling) return;
    this.scheduling = true;
    try {
      while (this.running.size + this.starting.size < this.concurrency) {
        const next = this.store.jobsInState('JOB_STATE_PENDING').find((j) => !this.running.has(j.name) && !this.starting.has(j.name));
        if (!next) break;
        this.starting.add(next.name);
        this.changed(this.store.transition(next.name, 'JOB_STATE_VALIDATING', { statusMessage: 'validating' }));
        void this.launch(next).finally(() => {
          this.starting.delete(next.name);
          this.schedule();
        });
      }
    } finally {
      this.scheduling = false;
    }
  }

  pause(name: string): JobRecord {
    const j = this.store.getJob(name);
    if (j.kind === 'sft') throw new JobsError('failed_precondition', `job "${name}" is an SFT job; SFT has no resumable checkpoints, so it cannot pause (cancel it instead)`, 'name');
    if (j.state === 'JOB_STATE_PENDING') return this.changed(this.store.transition(name, 'JOB_STATE_PAUSED', { statusMessage: 'paused before it started' }));
    if (j.state !== 'JOB_STATE_RUNNING' && j.state !== 'JOB_STATE_VALIDATING') throw new JobsError('failed_precondition', `job "${name}" is ${j.state}; only a pending or running job can pause`, 'name');
    this.store.updateJob(name, { requested: 'pause', statusMessage: 'pausing after the current step' });
    this.running.get(name)?.child.send({ type: 'pause' });
    return this.store.getJob(name);
  }

  resume(name: string): JobRecord {
    const j = this.store.getJob(name);
    if (j.state !== 'JOB_STATE_PAUSED' && j.state !== 'JOB_STATE_FAILED') throw new JobsError('failed_precondition', `job "${name}" is ${j.state}; only a paused or failed job can resume`, 'name');
    const r = this.store.transition(name, 'JOB_STATE_PENDING', { requested: null, statusMessage: 'queued to resume from its last checkpoint' });
    this.changed(r);
    this.schedule();
    return this.store.getJob(name);
  }

  cancel(name: string): JobRecord {
    const j = this.store.getJob(name);
    if (TERMINAL_STATES.includes(j.state)) throw new JobsError('failed_precondition', `job "${name}" is already ${j.state}`, 'name');
    const run = this.running.get(name);
    if (this.starting.has(name)) {
      this.store.updateJob(name, { requested: 'cancel', statusMessage: 'cancelling' });
      return this.store.getJob(name);
    }
    if (!run) return this.changed(this.store.transition(name, 'JOB_STATE_CANCELLED', { requested: null, pid: null, statusMessage: 'cancelled' }));
    this.store.updateJob(name, { requested: 'cancel', statusMessage: 'cancelling' });
    run.child.kill('SIGKILL');
    return this.store.getJob(name);
  }

  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  private changed(j: JobRecord): JobRecord {
    this.events.emit('event', { job: j.name, type: 'state' } satisfies JobEvent);
    return j;
  }

  private async launch(j: JobRecord): Promise<void> {
    let jobFile: string;
    try {
      jobFile = await this.prepare(j);
      if (this.closed) return;
      const now = this.store.getJob(j.name);
      if (now.requested === 'cancel' || now.state !== 'JOB_STATE_VALIDATING') {
        if (now.state === 'JOB_STATE_VALIDATING') this.changed(this.store.transition(j.name, 'JOB_STATE_CANCELLED', { requested: null, statusMessage: 'cancelled' }));
        return;
      }
    } catch (e) {
      const msg = e instanceof JobSpecError ? e.message : `cannot start: ${(e as Error).message}`;
      this.store.appendLog(j.name, 'system', msg);
      this.changed(this.store.transition(j.name, 'JOB_STATE_FAILED', { statusMessage: msg }));
      return;
    }
    const child = fork(CHILD, [jobFile], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
    const run: Running = { child, stderrTail: [] };
    this.running.set(j.name, run);
    const attempts = this.store.getJob(j.name).attempts + 1;
    this.changed(this.store.transition(j.name, 'JOB_STATE_RUNNING', { pid: child.pid ?? null, attempts, statusMessage: attempts > 1 ? 'running (resumed)' : 'running' }));
    this.store.appendLog(j.name, 'system', `attempt ${attempts}: child process ${child.pid} started`);
    // A pause asked for while validating reaches the child once it can receive it.
    if (this.store.getJob(j.name).requested === 'pause') child.send({ type: 'pause' });
    const lines = (stream: 'stdout' | 'stderr') => {
      let buf = '';
      return (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        const i = buf.lastIndexOf('\n');
        if (i < 0) return;
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.safely(j.name, () => this.store.appendLog(j.name, stream, text));
        if (stream === 'stderr') run.stderrTail = [...run.stderrTail, ...text.split('\n')].slice(-5);
        this.events.emit('event', { job: j.name, type: 'log' } satisfies JobEvent);
      };
    };
    child.stdout!.on('data', lines('stdout'));
    child.stderr!.on('data', lines('stderr'));
    child.on('message', (m: ChildMessage) => this.safely(j.name, () => this.onMessage(j.name, run, m)));
    child.on('error', (e) => {
      run.error ??= `the child process failed: ${e.message}`;
    });
    child.on('exit', (code, signal) => this.safely(j.name, () => this.onExit(j.name, run, code, signal)));
  }

  /** Store errors (a full disk) while recording must not crash the server: the job fails instead. */
  private safely(job: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      const run = this.running.get(job);
      if (run) {
        run.error = `the server could not record the job's progress: ${(e as Error).message}`;
        run.child.kill('SIGKILL');
      }
    }
  }

  private onMessage(name: string, run: Running, m: ChildMessage): void {
    switch (m.type) {
      case 'step':
        this.store.recordStep(name, m.step, m.metrics, m.rollouts);
        this.store.updateJob(name, { totalSteps: m.total });
        this.events.emit('event', { job: name, type: 'step', step: m.step } satisfies JobEvent);
        break;
      case 'eval':
        this.store.recordEval(name, m.step, m.evaluation);
        this.events.emit('event', { job: name, type: 'eval', step: m.step } satisfies JobEvent);
        break;
      case 'done':
        run.done = m;
        break;
      case 'error':
        run.error = m.message;
        break;
    }
  }

  private onExit(name: string, run: Running, code: number | null, signal: NodeJS.Signals | null): void {
    this.running.delete(name);
    if (this.closed) return; // server shutdown: the job stays RUNNING and resumes on the next start
    const j = this.store.getJob(name);
    const patch = { pid: null, requested: null } as const;
    if (j.requested === 'cancel') this.changed(this.store.transition(name, 'JOB_STATE_CANCELLED', { ...patch, statusMessage: 'cancelled' }));
    else if (run.done && code === 0) {
      const d = run.done;
      if (d.outcome === 'paused') this.changed(this.store.transition(name, 'JOB_STATE_PAUSED', { ...patch, statusMessage: `paused at step ${d.step} (checkpoint saved)` }));
      else {
        this.store.updateJob(name, { step: d.step });
        const state = d.outcome === 'early_stopped' ? 'JOB_STATE_EARLY_STOPPED' : 'JOB_STATE_COMPLETED';
        const msg = d.outcome === 'early_stopped' ? `stopped early at step ${d.step}: every group had zero reward variance` : `completed ${d.step} steps`;
        this.changed(this.store.transition(name, state, { ...patch, statusMessage: msg }));
      }
    } else {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const reason = run.error ?? `the job's process ${how}${run.stderrTail.length ? `: ${run.stderrTail.join(' | ')}` : ''}`;
      this.store.appendLog(name, 'system', `failed: ${reason}`);
      this.changed(this.store.transition(name, 'JOB_STATE_FAILED', { ...patch, statusMessage: reason }));
    }
    this.schedule();
  }

  /** Resolves the job's inputs, writes JOB_FILE for the child, and forgets steps after the last checkpoint. */
  private async prepare(j: JobRecord): Promise<string> {
    const spec = j.spec as Record<string, any>;
    const resolved = j.resolved as { dataset: string; evaluationDataset?: string; evaluator?: string; model: string; adapter?: string };
    const run = new RunDir(j.runDir);
    const inputs = join(j.runDir, 'inputs');
    mkdirSync(inputs, { recursive: true });
    let dataset = this.store.datasetPath(this.store.getDataset(resolved.dataset));
    let evalDataset = resolved.evaluationDataset ? this.store.datasetPath(this.store.getDataset(resolved.evaluationDataset)) : undefined;
    if (spec.evalAutoCarveout && !evalDataset) {
      // a fixed 10% (at least one row) held out, the same split on every attempt
      const rows = await readJsonl(dataset);
      if (rows.length < 2) throw new JobSpecError([{ path: 'evalAutoCarveout', message: `the dataset has ${rows.length} row(s); carving out an evaluation set needs at least 2` }]);
      const split = splitRows(rows, { eval: Math.max(1, Math.round(rows.length * 0.1)), seed: 0 });
      const trainFile = join(inputs, 'train.jsonl');
      const evalFile = join(inputs, 'eval.jsonl');
      writeJsonlSync(trainFile, split.train);
      writeJsonlSync(evalFile, split.eval);
      dataset = trainFile;
      evalDataset = evalFile;
    }
    if (!existsSync(join(resolved.model, 'config.json'))) throw new JobSpecError([{ path: j.kind === 'rft' ? 'trainingConfig.baseModel' : 'baseModel', message: `${resolved.model} is not a model folder (no config.json)` }]);
    if (resolved.adapter && !(existsSync(resolved.adapter) && statSync(resolved.adapter).isDirectory()))
      throw new JobSpecError([{ path: j.kind === 'rft' ? 'trainingConfig.warmStartFrom' : 'warmStartFrom', message: `${resolved.adapter} is not an adapter folder` }]);
    const r: ResolvedInputs = { model: resolved.model, adapter: resolved.adapter, dataset, evalDataset, evaluator: resolved.evaluator, out: j.runDir };
    const config = j.kind === 'rft' ? rftTrainerConfig(j.options, r) : sftTrainerConfig(j.options, r);
    // The trainer resumes from its last complete checkpoint; what the store holds beyond it is logged again.
    const cps = j.kind === 'rft' ? run.checkpoints() : [];
    const from = cps.length ? cps[cps.length - 1]! : 0;
    this.store.truncateAfter(j.name, from);
    const steps = (spec.earlyStopZeroVarianceSteps as number | undefined) ?? this.earlyStopSteps;
    let streak = 0;
    for (const m of this.store.metrics(j.name, { limit: 1_000_000 })) streak = m.metrics.zero_variance_fraction === 1 ? streak + 1 : 0;
    const file = join(j.runDir, 'job.json');
    writeFileSync(file, JSON.stringify({ kind: j.kind, config, earlyStop: { steps, streak } }, null, 2));
    if (from > 0) this.store.appendLog(j.name, 'system', `resuming from the checkpoint at step ${from}`);
    return file;
  }
}

function writeJsonlSync(path: string, rows: unknown[]): void {
  writeFileSync(path, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** A child left over from a server that died (it exits by itself when its parent goes; this is a backstop). */
function killStale(pid: number): void {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(CHILD)) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone (or no /proc)
  }
}
