/**
 * The built-in task generators and `generateTask`, which writes `<task>.sft.jsonl` (teacher
 * solutions) and `<task>.rft.jsonl` (prompts + ground truth) into a directory. Generation is
 * seeded and deterministic: the same task, knobs, n and seed give byte-identical files.
 * Prompts are unique within a file (a repeat is redrawn), so generated files pass
 * `rft dataset validate` including its duplicate check.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonl } from '../jsonl.js';
import { rowPathsFor } from '../row-paths.js';
import { Rng } from '../random.js';
import { promptKey } from '../validate.js';
import { countdown } from './countdown.js';
import { extraction } from './extraction.js';
import { sql } from './sql.js';
import { sqlAgent } from './sql-agent.js';
import type { KnobSpec, KnobValues, TaskExample, TaskGenerator } from './types.js';
import { wordProblems } from './word-problems.js';

export type { KnobSpec, KnobValues, TaskExample, TaskGenerator } from './types.js';

export const TASKS: Readonly<Record<string, TaskGenerator>> = {
  countdown,
  'word-problems': wordProblems,
  sql,
  'sql-agent': sqlAgent,
  extraction,
};

export function getTask(name: string): TaskGenerator {
  const t = TASKS[name];
  if (!t) throw new RangeError(`unknown task "${name}": choose one of ${Object.keys(TASKS).join(', ')}`);
  return t;
}

function parseKnob(spec: KnobSpec, raw: unknown): number | string | boolean | string[] {
  const bad = (what: string) => new RangeError(`--${spec.name} must be ${what}, got ${JSON.stringify(raw)}`);
  switch (spec.type) {
    case 'int': {
      const v = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isInteger(v) || String(raw).trim() === '') throw bad('a whole number');
      return v;
    }
    case 'number': {
      const v = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(v) || String(raw).trim() === '') throw bad('a number');
      return v;
    }
    case 'bool':
      if (raw === true || raw === 'true' || raw === '1') return true;
      if (raw === false || raw === 'false' || raw === '0') return false;
      throw bad('true or false');
    case 'list':
      if (Array.isArray(raw)) return raw.map(String);
      return String(raw).split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'string':
      return String(raw);
  }
}

/** Defaults overlaid with the given knobs (kebab-case names, values typed or as CLI strings). */
export function resolveKnobs(task: TaskGenerator, given: Record<string, unknown> = {}): KnobValues {
  const out: KnobValues = {};
  for (const spec of task.knobs) out[spec.name] = spec.default;
  for (const [name, raw] of Object.entries(given)) {
    if (raw === undefined) continue;
    const spec = task.knobs.find((k) => k.name === name);
    if (!spec) throw new RangeError(`task "${task.name}" has no knob --${name}; its knobs are ${task.knobs.map((k) => `--${k.name}`).join(', ') || '(none)'}`);
    out[name] = parseKnob(spec, raw);
  }
  return out;
}

export interface GenerateOptions {
  n: number;
  seed: number;
  /** Where files go (the SQL task writes its database here too). */
  outDir: string;
  knobs?: Record<string, unknown>;
}

/** Generates n examples with unique prompts, in memory (files a task needs are still written to outDir). */
export async function generateExamples(taskName: string, opts: GenerateOptions): Promise<{ examples: TaskExample[]; files: string[]; knobs: KnobValues }> {
  const task = getTask(taskName);
  if (!(Number.isInteger(opts.n) && opts.n >= 1)) throw new RangeError(`n must be a whole number >= 1, got ${opts.n}`);
  const knobs = resolveKnobs(task, opts.knobs);
  const rng = new Rng(opts.seed);
  await mkdir(opts.outDir, { recursive: true });
  const { make, files, close } = await task.setup(knobs, rng, { outDir: opts.outDir });
  try {
    const seen = new Set<string>();
    const examples: TaskExample[] = [];
    const maxAttempts = opts.n * 20 + 200;
    for (let attempt = 0; examples.length < opts.n; attempt++) {
      if (attempt >= maxAttempts) {
        throw new RangeError(`found only ${examples.length} distinct ${taskName} prompts in ${maxAttempts} tries: ask for fewer rows (--n) or widen the knobs`);
      }
      const ex = make(rng);
      const key = promptKey(ex.rft.messages);
      if (seen.has(key)) continue;
      seen.add(key);
      examples.push(ex);
    }
    return { examples, files, knobs };
  } finally {
    close?.();
  }
}

export interface GenerateReport {
  task: string;
  rows: number;
  sftPath: string;
  rftPath: string;
  /** Other files written (the SQL database). */
  files: string[];
  knobs: KnobValues;
}

/** Generates a task and writes `<task>.sft.jsonl` and `<task>.rft.jsonl` into opts.outDir. */
export async function generateTask(taskName: string, opts: GenerateOptions): Promise<GenerateReport> {
  const { examples, files, knobs } = await generateExamples(taskName, opts);
  const sftPath = join(opts.outDir, `${taskName}.sft.jsonl`);
  const rftPath = join(opts.outDir, `${taskName}.rft.jsonl`);
  await writeJsonl(sftPath, examples.map((e) => rowPathsFor(e.sft, sftPath)));
  await writeJsonl(rftPath, examples.map((e) => rowPathsFor(e.rft, rftPath)));
  return { task: taskName, rows: examples.length, sftPath, rftPath, files, knobs };
}
