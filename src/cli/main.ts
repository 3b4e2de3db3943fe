#!/usr/bin/env node
/**
 * The `rft` command. Each subcommand lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; this file only lists them.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, type Option } from 'commander';
import { BooleanFlagError, completeBooleanFlags, normalizeBooleanArgs } from './boolean-flags.js';
import { CliError } from './errors.js';
import { register as registerBench } from './commands/bench.js';
import { register as registerReport } from './commands/report.js';
import { register as registerModel } from './commands/model.js';
import { register as registerGenerate } from './commands/generate.js';
import { register as registerDataset } from './commands/dataset.js';
import { register as registerEvaluator } from './commands/evaluator.js';
import { register as registerTrain } from './commands/train.js';
import { register as registerQuickstart } from './commands/quickstart.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerExport } from './commands/export.js';
import { register as registerAgent } from './commands/agent.js';
import { register as registerServer } from './commands/server.js';
import { register as registerJobs } from './commands/jobs.js';

export { CliError };

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('rft')
    .description('Reinforcement fine-tuning for TypeScript: SFT + GRPO with LoRA, on the CPU, offline.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)');
  registerBench(program);
  registerReport(program);
  registerModel(program);
  registerGenerate(program);
  registerDataset(program);
  registerEvaluator(program);
  registerTrain(program);
  registerAgent(program);
  registerQuickstart(program);
  registerServe(program);
  registerExport(program);
  registerServer(program);
  registerJobs(program);
  completeBooleanFlags(program);
  unknownOptionsFirst(program);
  return program;
}

/** Whether the letters of `typed` appear in `name` in order (`evl` in `evaluator`). */
function isSubsequence(typed: string, name: string): boolean {
  let i = 0;
  for (const c of name) if (c === typed[i]) i++;
  return i === typed.length;
}

/**
 * Commander suggests a flag only within a small edit distance; for a shorthand like `--evl` it
 * suggests nothing. Then the flags that start like it and contain its letters in order are named.
 */
function withCloseNames(message: string, cmd: Command): string {
  const m = /^error: unknown option '--([^'=]+)/.exec(message);
  if (!m || /Did you mean/.test(message)) return message;
  const typed = m[1];
  const close = cmd.options
    .filter((o) => !o.hidden && o.long && o.long.startsWith(`--${typed[0]}`) && isSubsequence(typed, o.long.slice(2)))
    .map((o) => o.long!);
  if (close.length === 0) return message;
  const list = close.length === 1 ? close[0] : `one of ${close.slice(0, 5).join(', ')}${close.length > 5 ? ', …' : ''}`;
  return message.replace(/\n?$/, `\n(Did you mean ${list}?)\n`);
}

/**
 * Commander checks required options before unknown ones, so a typo in a required flag (`--evl`)
 * came out as "required option '--eval' not specified". Required options are checked here instead,
 * in a hook that runs after the unknown-option check (which suggests the right name).
 */
function unknownOptionsFirst(program: Command): void {
  const required = new Set<Option>();
  const walk = (cmd: Command) => {
    cmd.configureOutput({ outputError: (str, write) => write(withCloseNames(str, cmd)) });
    for (const o of cmd.options) {
      if (o.mandatory) {
        o.mandatory = false;
        required.add(o);
      }
    }
    cmd.commands.forEach(walk);
  };
  walk(program);
  program.hook('preAction', (_self, action) => {
    for (const o of action.options) {
      if (required.has(o) && action.getOptionValue(o.attributeName()) === undefined) {
        action.error(`error: required option '${o.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue' });
      }
    }
  });
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // every command, not only the root: commander would otherwise process.exit() from a subcommand's --help or usage error
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  try {
    let args: string[];
    try {
      args = normalizeBooleanArgs(program, argv);
    } catch (e) {
      if (e instanceof BooleanFlagError) throw new CliError(e.message);
      throw e;
    }
    await program.parseAsync(args, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof CliError) {
      process.stderr.write(`rft: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}


const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
const isBin = process.argv[1]?.endsWith('/rft') || process.argv[1]?.endsWith('/main.js');
if (isEntry || isBin) {
  // `rft ... | head` closes stdout early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`rft: ${(e as Error)?.stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
