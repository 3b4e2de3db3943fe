/** What every built-in task generator provides: knobs (difficulty settings) and a row maker. */
import type { Row } from '../../contracts/row.js';
import type { Rng } from '../random.js';

/** One generated example, in both forms: the SFT row ends with the teacher's solution, the RFT row with the prompt. */
export interface TaskExample {
  sft: Row;
  rft: Row;
}

export type KnobType = 'int' | 'number' | 'string' | 'list' | 'bool';

/** A difficulty knob: its CLI flag is `--<name>`. */
export interface KnobSpec {
  name: string;
  type: KnobType;
  description: string;
  default: number | string | boolean | string[];
}

export type KnobValues = Record<string, number | string | boolean | string[]>;

/** Context a generator may need beyond the PRNG (the SQL task's database). */
export interface TaskContext {
  outDir: string;
}

export interface TaskGenerator {
  name: string;
  description: string;
  knobs: KnobSpec[];
  /**
   * Prepares a row maker for the given knobs (validated; throws RangeError naming a bad knob).
   * `setup` may write files into ctx.outDir (the SQL database) and returns the maker plus the
   * extra files it wrote.
   */
  setup(knobs: KnobValues, rng: Rng, ctx: TaskContext): Promise<{ make: (rng: Rng) => TaskExample; files: string[]; close?: () => void }>;
}
