/**
 * CLI flags derived from a config's field table (src/train/config/fields.ts): one flag per
 * field with its help and default, `--config FILE.json` for a file of the same keys, and
 * command-line values overriding the file. Every problem is reported at once.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { coerceFlag, flagOf, parseConfig, type Fields } from '../train/config/fields.js';
import { CliError } from './errors.js';
import { JsonTextError, parseJsonText } from '../data/index.js';

export function addConfigFlags(cmd: Command, fields: Fields): Command {
  cmd.option('--config <file>', 'read options from a JSON file (the flag names in camelCase, e.g. "lr", "rolloutsPerPrompt", or the long keys "learningRate"); flags override it');
  for (const [key, f] of Object.entries(fields)) {
    const flag = flagOf(key, f);
    const help = f.describe + (f.kind === 'enum' ? ` (${f.values!.join(' | ')})` : '');
    if (f.kind === 'boolean') {
      cmd.addOption(new Option(`--${flag}`, help + (f.default ? ' (default: on)' : '')));
      cmd.addOption(new Option(`--no-${flag}`, `turn off --${flag}`).hideHelp());
    } else {
      const o = new Option(`--${flag} <${f.kind === 'list' ? 'a,b,...' : f.kind === 'enum' ? 'choice' : f.kind}>`, help);
      if (f.default !== undefined) o.default(undefined, Array.isArray(f.default) ? f.default.join(',') : String(f.default));
      cmd.addOption(o);
    }
  }
  return cmd;
}

/** camelCase of a flag name: rollouts-per-prompt → rolloutsPerPrompt (commander's option keys too). */
export function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Edit distance (insertions, deletions, substitutions) between two short names. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The accepted key closest to an unknown one: the same letters in another case or with - and _, else a near spelling. */
export function closestKey(name: string, accepted: string[]): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[-_\s]/g, '');
  const same = accepted.find((k) => norm(k) === norm(name));
  if (same) return same;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of accepted) {
    const d = distance(norm(name), norm(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * The keys of a --config file mapped to field keys. A file may use a field's key (`learningRate`)
 * or its flag in camelCase (`lr`, as the flags read); an unknown key is a problem naming the
 * closest accepted one.
 */
export function configFileKeys(fields: Fields, file: Record<string, unknown>, where: string): { config: Record<string, unknown>; problems: string[] } {
  const names = new Map<string, string>();
  for (const [key, f] of Object.entries(fields)) {
    names.set(key, key);
    names.set(camel(flagOf(key, f)), key);
  }
  const config: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(file)) {
    const key = names.get(name);
    if (key === undefined) {
      const near = closestKey(name, [...names.keys()]);
      problems.push(`${where}: unknown key "${name}"${near ? ` (did you mean "${near}"?)` : ''}`);
    } else if (key in config) {
      problems.push(`${where}: "${from[key]}" and "${name}" both set ${key}; keep one`);
    } else {
      config[key] = value;
      from[key] = name;
    }
  }
  return { config, problems };
}

/** Merges --config FILE and the parsed flags into a validated config object. */
export function configFromFlags(fields: Fields, opts: Record<string, unknown>, command: string): Record<string, unknown> {
  let base: Record<string, unknown> = {};
  const problems: string[] = [];
  if (typeof opts.config === 'string') {
    let file: unknown;
    try {
      file = parseJsonText(readFileSync(opts.config, 'utf8'), `--config ${opts.config}`);
    } catch (e) {
      throw new CliError(e instanceof JsonTextError ? e.message : `--config ${opts.config}: ${(e as Error).message}`);
    }
    if (!file || typeof file !== 'object' || Array.isArray(file)) throw new CliError(`--config ${opts.config}: expected a JSON object`);
    const keys = configFileKeys(fields, file as Record<string, unknown>, `--config ${opts.config}`);
    base = keys.config;
    problems.push(...keys.problems);
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, f] of Object.entries(fields)) {
    // commander camel-cases flags: --lr → lr, --rollouts-per-prompt → rolloutsPerPrompt
    const optKey = camel(flagOf(key, f));
    const raw = opts[optKey];
    if (raw === undefined) continue;
    try {
      merged[key] = coerceFlag(key, f, raw as string | boolean);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  // every problem at once: the file's unknown keys and unreadable flags, then the values' own
  let config: Record<string, unknown> | undefined;
  try {
    config = parseConfig(fields, merged, typeof opts.config === 'string' ? `${opts.config} and the command line` : 'the command line');
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (problems.length || !config) throw new CliError(`rft ${command}: ${problems.join('; ')}`);
  return config;
}
