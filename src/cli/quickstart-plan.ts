/**
 * Checking a `--plan` override against the plan it overrides, before anything is written: every
 * key must be one the plan has at that path (`rft.stepz` is refused, with the closest name), every
 * value must have the type the plan's has, and values the option tables know (the `sft`, `lora` and
 * `rft` fields, the task's knobs) must be in their ranges. Every problem is listed with its path.
 */
import { getTask, resolveKnobs } from '../data/index.js';
import { schemaOf, type Field, type Fields } from '../train/config/fields.js';
import { loraFields, rftFields } from '../train/config/rft.js';
import { sftFields } from '../train/config/sft.js';
import { closestKey } from './flags.js';

/** Plan parts whose contents are free-form (checked by their owners, not by shape). */
const FREE_FORM = new Set(['evaluator', 'knobs']);

/** Optional fields a plan part may set although the default plan leaves them out, with a value of their type. */
const OPTIONAL: Record<string, Record<string, unknown>> = {
  model: { headDim: 0, attentionBias: false, initStd: 0, llama3Rope: [0, 0, 0, 0] },
};

/** The option tables that know the range of a plan field, by plan path (`rft.loss` names two fields differently). */
const TABLES: Record<string, { fields: Fields; rename?: Record<string, string> }> = {
  sft: { fields: sftFields },
  lora: { fields: loraFields },
  rft: { fields: rftFields },
  'rft.loss': { fields: rftFields, rename: { epsilonLow: 'clipEpsilonLow', epsilonHigh: 'clipEpsilonHigh' } },
};

/** Top-level counts: whole numbers with a lower bound. */
const COUNTS: Record<string, number> = { trainSize: 1, heldoutSize: 1, seed: 0 };

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'true or false';
  return `a ${typeof v}`;
}

function rangeProblem(path: string, key: string, v: unknown): string | undefined {
  const table = TABLES[path];
  if (!table) return undefined;
  const name = table.rename?.[key] ?? key;
  const f = table.fields[name] as Field | undefined;
  if (!f) return undefined;
  const r = schemaOf({ [name]: { ...f, default: undefined, required: true } }).safeParse({ [name]: v });
  return r.success ? undefined : r.error.issues[0]?.message;
}

function check(base: Record<string, unknown>, o: Record<string, unknown>, path: string, problems: string[]): void {
  const known = { ...OPTIONAL[path], ...base };
  for (const [k, v] of Object.entries(o)) {
    const at = path ? `${path}.${k}` : k;
    if (!(k in known)) {
      const near = closestKey(k, Object.keys(known));
      problems.push(`unknown plan field "${at}"${near ? ` (did you mean "${path ? `${path}.` : ''}${near}"?)` : `; fields${path ? ` of ${path}` : ''}: ${Object.keys(known).join(', ')}`}`);
      continue;
    }
    if (FREE_FORM.has(at)) continue;
    const want = known[k];
    if (isObject(want)) {
      if (isObject(v)) check(want, v, at, problems);
      else problems.push(`${at}: expected an object, got ${JSON.stringify(v)}`);
      continue;
    }
    if (typeName(v) !== typeName(want) || (typeof v === 'number' && !Number.isFinite(v))) {
      problems.push(`${at}: expected ${typeName(want)}, got ${JSON.stringify(v)}`);
      continue;
    }
    if (Array.isArray(want) && want.length && (v as unknown[]).some((x) => typeName(x) !== typeName(want[0]))) {
      problems.push(`${at}: expected an array of ${typeName(want[0]).replace(/^an? /, '')}s, got ${JSON.stringify(v)}`);
      continue;
    }
    if (!path && k in COUNTS && (!Number.isInteger(v) || (v as number) < COUNTS[k])) {
      problems.push(`${at}: expected a whole number ≥ ${COUNTS[k]}, got ${JSON.stringify(v)}`);
      continue;
    }
    const range = rangeProblem(path, k, v);
    if (range) problems.push(`${at}: ${range}, got ${JSON.stringify(v)}`);
  }
}

/**
 * Every problem of an override against `base`, each with its path; `merged` (the plan after the
 * override) is used for the task's knobs, which are checked as the generator will read them.
 */
export function planOverrideProblems(base: object, override: unknown, merged?: { task: string; knobs: Record<string, unknown> }): string[] {
  if (!isObject(override)) return [`expected a JSON object, got ${typeName(override)}`];
  const problems: string[] = [];
  check(base as Record<string, unknown>, override, '', problems);
  if (merged && 'knobs' in override && problems.every((p) => !p.startsWith('knobs'))) {
    if (!isObject(override.knobs)) problems.push(`knobs: expected an object, got ${JSON.stringify(override.knobs)}`);
    else {
      try {
        resolveKnobs(getTask(merged.task), merged.knobs);
      } catch (e) {
        problems.push(`knobs: ${(e as Error).message}`);
      }
    }
  }
  return problems;
}
