/**
 * A config is declared once, as a table of fields; the zod schema (validation with every
 * problem reported by path), the CLI flags with their defaults and help, and the README's
 * option table are all derived from that table, so they cannot drift apart.
 */
import { extname, resolve } from 'node:path';
import { z } from 'zod';

type FieldKind = 'number' | 'integer' | 'string' | 'boolean' | 'enum' | 'list' | 'spec';

export interface Field<T = unknown> {
  kind: FieldKind;
  describe: string;
  default?: T;
  required?: boolean;
  min?: number;
  max?: number;
  /** enum values */
  values?: readonly string[];
  /** CLI flag override, e.g. 'lr' for learningRate; default is the kebab-case key. */
  flag?: string;
  /** A file or directory: recorded (and compared on resume) as an absolute path. */
  path?: boolean;
  /** Does not shape the run's results (where it is written, how many evaluations at once): `--resume` may change it. */
  resumeMayChange?: boolean;
}

/** Options every field builder takes besides its own. */
type Common = { flag?: string; resumeMayChange?: boolean };

export const field = {
  number: (describe: string, o: Common & { default?: number; min?: number; max?: number; required?: boolean } = {}): Field<number> => ({ kind: 'number', describe, ...o }),
  integer: (describe: string, o: Common & { default?: number; min?: number; max?: number; required?: boolean } = {}): Field<number> => ({ kind: 'integer', describe, ...o }),
  string: (describe: string, o: Common & { default?: string; required?: boolean; path?: boolean } = {}): Field<string> => ({ kind: 'string', describe, ...o }),
  boolean: (describe: string, o: { default?: boolean; flag?: string } = {}): Field<boolean> => ({ kind: 'boolean', describe, ...o }),
  enum: <V extends string>(values: readonly V[], describe: string, o: { default?: V; flag?: string } = {}): Field<V> => ({ kind: 'enum', describe, values, ...o }),
  list: (describe: string, o: Common & { default?: string[] } = {}): Field<string[]> => ({ kind: 'list', describe, ...o }),
  /** An evaluator SPEC: a string (built-in name, inline JSON, file) or, in a config file, the spec object itself. */
  spec: (describe: string, o: Common & { required?: boolean } = {}): Field<string | Record<string, unknown>> => ({ kind: 'spec', describe, ...o }),
};

export type Fields = Record<string, Field<any>>;

function zodFor(f: Field): z.ZodTypeAny {
  let s: z.ZodTypeAny;
  switch (f.kind) {
    case 'number':
    case 'integer': {
      let n = z.number({ error: 'expected a number' });
      if (f.kind === 'integer') n = n.int({ error: 'expected an integer' });
      if (f.min !== undefined) n = n.min(f.min, { error: `must be ≥ ${f.min}` });
      if (f.max !== undefined) n = n.max(f.max, { error: `must be ≤ ${f.max}` });
      s = n;
      break;
    }
    case 'string':
      s = z.string({ error: 'expected a string' }).min(1, { error: 'must not be empty' });
      break;
    case 'boolean':
      s = z.boolean({ error: 'expected true or false' });
      break;
    case 'enum':
      s = z.enum(f.values as [string, ...string[]], { error: `expected one of: ${f.values!.join(', ')}` });
      break;
    case 'list':
      s = z.array(z.string()).min(1, { error: 'must name at least one value' });
      break;
    case 'spec':
      s = z.union([z.string().min(1), z.record(z.string(), z.unknown())], { error: 'expected a SPEC string or a JSON object' });
      break;
  }
  if (f.default !== undefined) return s.default(f.default as never);
  return f.required ? s : s.optional();
}

export function schemaOf<F extends Fields>(fields: F) {
  const shape: Record<string, z.ZodTypeAny> = {};
  for (const [k, f] of Object.entries(fields)) shape[k] = zodFor(f);
  return z.object(shape).strict();
}

export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function flagOf(key: string, f: Field): string {
  return f.flag ?? kebab(key);
}

/**
 * Validates a config object; throws one error listing every problem with its path.
 * `where` names the source (a file, "command line") for the message.
 */
export function parseConfig<F extends Fields>(fields: F, input: unknown, where: string): Record<string, unknown> {
  const r = schemaOf(fields).safeParse(input);
  if (r.success) return r.data as Record<string, unknown>;
  const lines = r.error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    const f = fields[key];
    const name = f ? `${key} (--${flagOf(key, f)})` : i.path.join('.') || '(config)';
    const msg = i.code === 'unrecognized_keys' ? `unknown option(s): ${(i as { keys: string[] }).keys.join(', ')}` : i.message;
    return `  ${name}: ${msg}`;
  });
  throw new Error(`invalid configuration in ${where}:\n${lines.join('\n')}`);
}

/** Converts one CLI string value to the field's type; throws a message naming the flag. */
export function coerceFlag(key: string, f: Field, raw: string | boolean): unknown {
  const flag = `--${flagOf(key, f)}`;
  switch (f.kind) {
    case 'number':
    case 'integer': {
      const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(v)) throw new Error(`${flag} expects a number, got "${raw}"`);
      return v;
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new Error(`${flag} expects true or false, got "${raw}"`);
    case 'list':
      return String(raw).split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return raw;
  }
}

/**
 * The options that shape a run, as its config.json records them and `--resume` compares them:
 * every field except those marked `resumeMayChange`, paths absolute (so the same files named from
 * another directory are the same), a SPEC that names a file (it has an extension) likewise.
 */
export function recordedOptions(fields: Fields, config: Record<string, unknown>, cwd = process.cwd()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(fields)) {
    if (f.resumeMayChange) continue;
    const v = config[key];
    const isFile = typeof v === 'string' && (f.path || (f.kind === 'spec' && !v.trim().startsWith('{') && extname(v) !== ''));
    out[key] = isFile ? resolve(cwd, v as string) : v;
  }
  return out;
}

/** Markdown table of the fields (for the README). */
export function markdownTable(fields: Fields): string {
  const rows = Object.entries(fields).map(([k, f]) => {
    const type = f.kind === 'enum' ? f.values!.join(' \\| ') : f.kind;
    const def = f.default === undefined ? (f.required ? '(required)' : '') : `\`${Array.isArray(f.default) ? f.default.join(',') : f.default}\``;
    return `| \`--${flagOf(k, f)}\` | ${type} | ${def} | ${f.describe} |`;
  });
  return ['| flag | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
