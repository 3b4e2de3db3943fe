/**
 * What `--out` may be when a run starts: a new or empty directory; an earlier run only with
 * `--resume` (which needs a checkpoint in it) or `--overwrite` (which removes that run's files
 * first, and nothing else). A directory holding anything that is not part of a run is refused
 * even with `--overwrite`, so a mistyped `--out` never deletes a user's files.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors.js';

/** The names a run directory holds (src/train/run-dir.ts), and the temporary names of their atomic writes. */
const RUN_ENTRY = /^(config\.json|metrics\.jsonl|eval\.jsonl|samples|checkpoints|adapter|model|report\.md|fleet\.json|fleet-adapters|[\w-]+\.svg)(\.tmp-\d+)?$/;

/** Steps of the complete checkpoints in a run directory (a checkpoint is complete once trainer_state.json is in it). */
export function completeCheckpoints(out: string): number[] {
  const dir = join(out, 'checkpoints');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => /^step-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, m[0], 'trainer_state.json')))
    .map((m) => Number(m[1]));
}

/**
 * Refuses an `--out` the run may not use; returns what clears an earlier run away (with
 * `--overwrite`), to call once everything else has loaded, so a run that cannot start leaves the
 * old one in place.
 */
export function prepareRunOut(out: string, o: { resume?: boolean; overwrite?: boolean; command: string }): () => void {
  const nothing = () => {};
  if (o.resume && o.overwrite) throw new CliError(`rft ${o.command}: give --resume or --overwrite, not both`);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new CliError(`rft ${o.command}: --out ${out} is a file, not a directory`);
  const entries = existsSync(out) ? readdirSync(out) : [];
  if (o.resume) {
    if (completeCheckpoints(out).length === 0) {
      throw new CliError(
        `rft ${o.command}: cannot resume: ${existsSync(out) ? `${out} has no complete checkpoint` : `${out} does not exist`} ` +
          `(checkpoints are written every --checkpoint-every steps and at the end); run without --resume to start a new run`,
      );
    }
    return nothing;
  }
  if (entries.length === 0) return nothing;
  const foreign = entries.filter((e) => !RUN_ENTRY.test(e));
  if (foreign.length) {
    throw new CliError(`rft ${o.command}: --out ${out} is not empty and is not a run directory (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); give a new or empty directory`);
  }
  if (!o.overwrite) {
    const how = o.command === 'train' ? 'add --resume to continue it or --overwrite to replace it' : 'add --overwrite to replace it or give another --out';
    throw new CliError(`rft ${o.command}: --out ${out} already holds a run; ${how}`);
  }
  return () => {
    for (const e of entries) rmSync(join(out, e), { recursive: true, force: true });
  };
}
