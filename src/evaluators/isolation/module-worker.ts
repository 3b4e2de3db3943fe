/**
 * Worker thread that runs users' evaluator modules. Tasks:
 *   { op: 'load', path }            → { name }       (checks the module once, at spec-parse time)
 *   { op: 'evaluate', path, rollout } → the raw result (validated by the parent)
 */
import type { Evaluator, Rollout } from '../../contracts/evaluation.js';
import { importEvaluatorModule } from './load-module.js';
import { serve } from './worker-protocol.js';

export type ModuleTask = { op: 'load'; path: string } | { op: 'evaluate'; path: string; rollout: Rollout };

const loaded = new Map<string, Promise<Evaluator>>();

function load(path: string): Promise<Evaluator> {
  let p = loaded.get(path);
  if (!p) {
    p = importEvaluatorModule(path);
    loaded.set(path, p);
    p.catch(() => loaded.delete(path));
  }
  return p;
}

// The call's time limit starts once the module is loaded (tsx may take a while on a busy machine).
serve(
  async (task: ModuleTask, started: () => void) => {
    const ev = await load(task.path);
    started();
    if (task.op === 'load') return { name: ev.name };
    return await ev.evaluate(task.rollout);
  },
  { manualStart: true },
);
