/**
 * The run directory: everything needed to understand a run afterwards, written so that a
 * process killed at any moment leaves it resumable.
 *
 *   config.json            resolved configuration
 *   metrics.jsonl          one line per step
 *   eval.jsonl             one line per held-out evaluation
 *   samples/step-N.jsonl   held-out rollouts (prompt, completion, score, reason)
 *   checkpoints/step-N/    resumable state (written to a temporary name, then renamed)
 *   adapter/               the final adapter (PEFT layout)
 *   report.md, *.svg       `rft report`
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, appendFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Builds a directory under a temporary name with `fill`, then renames it into place. */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await fill(tmp);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

export class RunDir {
  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
    mkdirSync(join(path, 'checkpoints'), { recursive: true });
    mkdirSync(join(path, 'samples'), { recursive: true });
  }

  file(name: string): string {
    return join(this.path, name);
  }

  writeJson(name: string, value: unknown): void {
    writeFileAtomic(this.file(name), JSON.stringify(value, null, 2) + '\n');
  }

  appendJsonl(name: string, value: unknown): void {
    appendFileSync(this.file(name), JSON.stringify(value) + '\n');
  }

  /** Lines of a JSONL log that parse (a line cut short by a kill is dropped). */
  readJsonl<T = Record<string, unknown>>(name: string): T[] {
    const p = this.file(name);
    if (!existsSync(p)) return [];
    const out: T[] = [];
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // a partial last line from an interrupted write
      }
    }
    return out;
  }

  /** Keeps only the entries of a step-keyed JSONL log up to `step` (used when resuming). */
  truncateJsonl(name: string, step: number): void {
    const kept = this.readJsonl<{ step?: number }>(name).filter((r) => typeof r.step === 'number' && r.step <= step);
    writeFileAtomic(this.file(name), kept.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  checkpointDir(step: number): string {
    return join(this.path, 'checkpoints', `step-${String(step).padStart(6, '0')}`);
  }

  /** Steps of the complete checkpoints, ascending; leftovers of interrupted writes are removed. */
  checkpoints(): number[] {
    const dir = join(this.path, 'checkpoints');
    const steps: number[] = [];
    for (const name of readdirSync(dir)) {
      if (name.includes('.tmp-')) {
        rmSync(join(dir, name), { recursive: true, force: true });
        continue;
      }
      const m = /^step-(\d+)$/.exec(name);
      if (m && existsSync(join(dir, name, 'trainer_state.json'))) steps.push(Number(m[1]));
    }
    return steps.sort((a, b) => a - b);
  }
}
