/**
 * A pool of worker threads or child processes running one task at a time each, with a per-task
 * timeout. A worker that hangs past its timeout is killed and replaced; one that crashes (throws
 * at top level, runs out of memory, exits) fails only its own task. Idle workers do not keep the
 * process alive.
 *
 * Threads are cheap and used for user evaluators and model-written code. Child processes are used
 * for SQLite: terminating a worker thread does not interrupt a native SQLite call in progress, but
 * killing a process does.
 *
 * Messages: parent → worker `{ id, task }`; worker → parent `{ id, started: true }` when the
 * task proper begins (the task's time limit runs from there; start-up and set-up such as loading
 * a module have their own, longer limit), then `{ id, ok: true, value }` or `{ id, ok: false, error }`
 * (see worker-protocol.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerReply } from './worker-protocol.js';

export interface PoolOptions {
  kind: 'thread' | 'process';
  /** The worker script (a compiled .js file). */
  script: URL;
  /** Workers at most, i.e. tasks running at once (default 2). */
  size?: number;
  /** Default per-task timeout (default 10 s), counted from the worker's `started` message. */
  timeoutMs?: number;
  /** Limit for a worker to start and set a task up before `started` (default 60 s). */
  setupTimeoutMs?: number;
  /** Heap limit of each worker (V8 old generation), MiB. */
  memoryMb?: number;
}

export type PoolOutcome<R> =
  | { ok: true; value: R }
  | { ok: false; error: string; cause: 'timeout' | 'crash' | 'error' | 'closed' };

interface Handle {
  send(msg: unknown): void;
  kill(): Promise<void>;
  ref(): void;
  unref(): void;
}

interface Slot {
  handle: Handle;
  job?: Job;
  lastError?: string;
}

interface Job {
  id: number;
  task: unknown;
  timeoutMs: number;
  resolve(o: PoolOutcome<unknown>): void;
  timer?: NodeJS.Timeout;
}

export class WorkerPool<T, R> {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  readonly size: number;
  readonly timeoutMs: number;
  readonly setupTimeoutMs: number;

  constructor(private readonly opts: PoolOptions) {
    this.size = Math.max(1, opts.size ?? 2);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.setupTimeoutMs = opts.setupTimeoutMs ?? 60_000;
  }

  /** Runs one task; never rejects. */
  run(task: T, timeoutMs = this.timeoutMs): Promise<PoolOutcome<R>> {
    if (this.closed) return Promise.resolve({ ok: false, error: 'the worker pool is closed', cause: 'closed' });
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, task, timeoutMs, resolve: resolve as (o: PoolOutcome<unknown>) => void });
      this.pump();
    });
  }

  /** Kills every worker; queued and running tasks resolve as `closed`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, error: 'the worker pool was closed', cause: 'closed' });
    const slots = this.slots.splice(0);
    for (const s of slots) if (s.job) this.finish(s, { ok: false, error: 'the worker pool was closed', cause: 'closed' });
    // Referenced again so that the process waits for the workers to be gone.
    await Promise.all(slots.map((s) => (s.handle.ref(), s.handle.kill())));
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      slot.job = job;
      slot.handle.ref();
      const s = slot;
      job.timer = setTimeout(() => this.timeout(s, `did not start within ${this.setupTimeoutMs} ms`), this.setupTimeoutMs);
      try {
        slot.handle.send({ id: job.id, task: job.task });
      } catch (e) {
        this.finish(slot, { ok: false, error: `could not send the task to the worker: ${(e as Error).message}`, cause: 'error' });
      }
    }
  }

  private finish(slot: Slot, outcome: PoolOutcome<unknown>): void {
    const job = slot.job;
    if (!job) return;
    clearTimeout(job.timer);
    slot.job = undefined;
    slot.handle.unref();
    job.resolve(outcome);
  }

  private timeout(slot: Slot, what: string): void {
    const job = slot.job;
    if (!job) return;
    this.retire(slot);
    this.finish(slot, { ok: false, error: `${what} (the worker was stopped)`, cause: 'timeout' });
    void slot.handle.kill();
    this.pump();
  }

  /** Removes a slot from the pool so that a fresh worker takes its place. */
  private retire(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  private onMessage(slot: Slot, msg: WorkerReply): void {
    const job = slot.job;
    if (!job || msg.id !== job.id) return; // a late reply from a task that already timed out
    if ('started' in msg) {
      clearTimeout(job.timer);
      job.timer = setTimeout(() => this.timeout(slot, `timed out after ${job.timeoutMs} ms`), job.timeoutMs);
      return;
    }
    this.finish(slot, msg.ok ? { ok: true, value: msg.value } : { ok: false, error: msg.error, cause: 'error' });
    this.pump();
  }

  private onExit(slot: Slot, detail: string): void {
    this.retire(slot);
    if (slot.job) {
      const why = slot.lastError ?? detail;
      this.finish(slot, { ok: false, error: `the worker crashed: ${why}`, cause: 'crash' });
    }
    if (!this.closed) this.pump();
  }

  private spawn(): Slot {
    const slot = {} as Slot;
    slot.handle = this.opts.kind === 'thread' ? this.spawnThread(slot) : this.spawnProcess(slot);
    this.slots.push(slot);
    return slot;
  }

  private spawnThread(slot: Slot): Handle {
    const mem = this.opts.memoryMb;
    const w = new Worker(fileURLToPath(this.opts.script), {
      ...(mem ? { resourceLimits: { maxOldGenerationSizeMb: mem, maxYoungGenerationSizeMb: Math.max(4, Math.ceil(mem / 8)) } } : {}),
      // A user evaluator's console.log must not mix into our stdout (e.g. `--json` output).
      stdout: true,
      stderr: true,
    });
    w.stdout.on('data', (d) => process.stderr.write(d));
    w.stderr.on('data', (d) => process.stderr.write(d));
    w.on('message', (m: WorkerReply) => this.onMessage(slot, m));
    w.on('error', (e) => {
      slot.lastError = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? `out of memory (limit ${mem} MiB)` : e.message;
    });
    w.on('exit', (code) => this.onExit(slot, `exited with code ${code}`));
    return {
      send: (m) => w.postMessage(m),
      kill: async () => {
        await w.terminate();
      },
      ref: () => w.ref(),
      unref: () => w.unref(),
    };
  }

  private spawnProcess(slot: Slot): Handle {
    const mem = this.opts.memoryMb;
    const child: ChildProcess = fork(fileURLToPath(this.opts.script), [], {
      execArgv: mem ? [`--max-old-space-size=${mem}`] : [],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout?.on('data', (d) => process.stderr.write(d));
    child.stderr?.on('data', (d) => process.stderr.write(d));
    child.on('message', (m) => this.onMessage(slot, m as WorkerReply));
    child.on('error', (e) => {
      slot.lastError = e.message;
    });
    child.on('exit', (code, signal) => this.onExit(slot, signal ? `killed by ${signal}` : `exited with code ${code}`));
    const channel = () => (child as unknown as { channel?: { ref(): void; unref(): void } }).channel;
    return {
      send: (m) => child.send(m as never),
      kill: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
      ref: () => {
        child.ref();
        channel()?.ref();
        (child.stdout as unknown as { ref?(): void })?.ref?.();
        (child.stderr as unknown as { ref?(): void })?.ref?.();
      },
      unref: () => {
        child.unref();
        channel()?.unref();
        (child.stdout as unknown as { unref?(): void })?.unref?.();
        (child.stderr as unknown as { unref?(): void })?.unref?.();
      },
    };
  }
}
