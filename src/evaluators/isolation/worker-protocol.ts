/**
 * The worker side of WorkerPool's protocol: `serve(handler)` answers `{id, task}` messages with
 * `{id, ok, value | error}`, in a worker thread or a forked child process alike.
 */
import { parentPort } from 'node:worker_threads';

export type WorkerReply =
  | { id: number; started: true }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string };

/**
 * `handler(task, started)`: the pool's per-task time limit runs from `started()`; before that a
 * longer set-up limit applies (worker start-up, loading a user's module). Unless `manualStart`,
 * `started()` is sent before the handler runs.
 */
export function serve(handler: (task: never, started: () => void) => unknown, opts: { manualStart?: boolean } = {}): void {
  const send = (m: WorkerReply) => {
    if (parentPort) parentPort.postMessage(m);
    else process.send!(m);
  };
  const onMessage = async (msg: { id: number; task: unknown }) => {
    let reply: WorkerReply;
    let sentStart = false;
    const started = () => {
      if (!sentStart) send({ id: msg.id, started: true });
      sentStart = true;
    };
    try {
      if (!opts.manualStart) started();
      reply = { id: msg.id, ok: true, value: await handler(msg.task as never, started) };
    } catch (e) {
      reply = { id: msg.id, ok: false, error: e instanceof Error ? e.message || e.name : String(e) };
    }
    try {
      send(reply);
    } catch (e) {
      // e.g. a result holding a function cannot be cloned
      send({ id: msg.id, ok: false, error: `the result could not be sent back: ${(e as Error).message}` });
    }
  };
  if (parentPort) parentPort.on('message', onMessage);
  else if (process.send) {
    process.on('message', onMessage as (m: unknown) => void);
    process.on('disconnect', () => process.exit(0)); // the parent went away
  }
  else throw new Error('worker script started outside a worker thread or forked process');
}
