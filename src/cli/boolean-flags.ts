/**
 * One rule for every on/off flag of every command: `--X`, `--X true`, `--X false`, `--X=false`
 * and `--no-X` all work (also yes/no, on/off, 1/0). Commands declare booleans as plain
 * commander flags (`--json`, `--no-tie`, a task's `--format-hint`); `completeBooleanFlags` adds
 * the missing half of each `--X` / `--no-X` pair (hidden from help), and `normalizeBooleanArgs`
 * rewrites `--X false` to `--no-X` and `--X true` to `--X` before commander parses, so that a
 * flag given without a value never swallows the operand after it (`validate --json FILE`).
 */
import { Option, type Command } from 'commander';

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/** An option that takes no value (not --help / --version). */
export function isBooleanOption(o: Option): boolean {
  return !o.required && !o.optional && o.long !== undefined && o.long !== '--help' && o.long !== '--version';
}

/** The positive long name of a boolean option: `--json` for `--json` and for `--no-json`. */
function positive(long: string): string {
  return long.startsWith('--no-') ? `--${long.slice(5)}` : long;
}

/** Every command in the tree, with its path of names from the root (the root's path is []). */
export function allCommands(root: Command): { path: string[]; cmd: Command }[] {
  const out: { path: string[]; cmd: Command }[] = [];
  const walk = (cmd: Command, path: string[]) => {
    out.push({ path, cmd });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(root, []);
  return out;
}

/** Adds `--no-X` for each `--X` (and `--X` for each `--no-X`) that lacks it, hidden from help. */
export function completeBooleanFlags(root: Command): void {
  for (const { cmd } of allCommands(root)) {
    const longs = new Set(cmd.options.map((o) => o.long));
    for (const o of [...cmd.options]) {
      if (!isBooleanOption(o)) continue;
      const pos = positive(o.long!);
      const other = o.negate ? pos : `--no-${pos.slice(2)}`;
      if (longs.has(other)) continue;
      cmd.addOption(new Option(other, o.negate ? `the opposite of ${o.long}` : `turn off ${pos}`).hideHelp());
      longs.add(other);
    }
  }
}

/** The boolean flags (positive long names) each command accepts. */
function booleanLongs(cmd: Command): Set<string> {
  return new Set(cmd.options.filter(isBooleanOption).map((o) => positive(o.long!)));
}

/**
 * `argv` (without node and the script) with `--X VALUE` / `--X=VALUE` of boolean flags turned
 * into `--X` or `--no-X`; a value that is not a boolean word is an error naming the flag.
 * Which flags are boolean follows the command each token belongs to, the way commander
 * dispatches: the first operand at each level that names a subcommand enters it.
 */
export function normalizeBooleanArgs(root: Command, argv: string[]): string[] {
  const out: string[] = [];
  let cmd = root;
  let operandSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!t.startsWith('--')) {
      if (!t.startsWith('-') && !operandSeen) {
        const sub = cmd.commands.find((c) => c.name() === t || c.aliases().includes(t));
        if (sub) {
          cmd = sub;
          out.push(t);
          continue;
        }
        operandSeen = true;
      }
      out.push(t);
      continue;
    }
    const eq = t.indexOf('=');
    const long = eq < 0 ? t : t.slice(0, eq);
    const opt = cmd.options.find((o) => o.long === long);
    if (!opt || !isBooleanOption(opt)) {
      out.push(t);
      // a value-taking option's value is not an operand (nor a subcommand name)
      if (opt && opt.required && eq < 0 && i + 1 < argv.length) out.push(argv[++i]!);
      continue;
    }
    const pos = positive(long);
    if (!booleanLongs(cmd).has(pos)) {
      out.push(t);
      continue;
    }
    let word: string | undefined;
    if (eq >= 0) word = t.slice(eq + 1);
    else {
      const next = argv[i + 1]?.toLowerCase();
      if (next !== undefined && (TRUE.has(next) || FALSE.has(next))) {
        word = next;
        i++;
      }
    }
    let on = !long.startsWith('--no-');
    if (word !== undefined) {
      const w = word.toLowerCase();
      if (!TRUE.has(w) && !FALSE.has(w)) throw new BooleanFlagError(`${long} takes true or false (or no value), got "${word}"`);
      if (FALSE.has(w)) on = !on;
    }
    out.push(on ? pos : `--no-${pos.slice(2)}`);
  }
  return out;
}

export class BooleanFlagError extends Error {}
