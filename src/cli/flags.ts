/**
 * CLI flags derived from a config's field table (src/train/config/fields.ts): one flag per
 * field with its help and default, `--config FILE.json` for a file of the same keys, and
 * command-line values overriding the file. Every problem is reported at once.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { coerceFlag, flagOf, parseConfig, type Fields } from '../train/config/fields.js';
import { CliError } from './errors.js';

export function addConfigFlags(cmd: Command, fields: Fields): Command {
  cmd.option('--config <file>', 'read options from a JSON file (same names as the flags, in camelCase); flags override it');
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

/** Merges --config FILE and the parsed flags into a validated config object. */
export function configFromFlags(fields: Fields, opts: Record<string, unknown>, command: string): Record<string, unknown> {
  let base: Record<string, unknown> = {};
  if (typeof opts.config === 'string') {
    try {
      base = JSON.parse(readFileSync(opts.config, 'utf8'));
    } catch (e) {
      throw new CliError(`--config ${opts.config}: ${(e as Error).message}`);
    }
    if (!base || typeof base !== 'object' || Array.isArray(base)) throw new CliError(`--config ${opts.config}: expected a JSON object`);
  }
  const merged: Record<string, unknown> = { ...base };
  const problems: string[] = [];
  for (const [key, f] of Object.entries(fields)) {
    // commander camel-cases flags: --lr → lr, --rollouts-per-prompt → rolloutsPerPrompt
    const optKey = flagOf(key, f).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const raw = opts[optKey];
    if (raw === undefined) continue;
    try {
      merged[key] = coerceFlag(key, f, raw as string | boolean);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length) throw new CliError(`rft ${command}: ${problems.join('; ')}`);
  try {
    return parseConfig(fields, merged, typeof opts.config === 'string' ? `${opts.config} and the command line` : 'the command line');
  } catch (e) {
    throw new CliError(`rft ${command}: ${(e as Error).message}`);
  }
}
