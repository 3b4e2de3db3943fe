#!/usr/bin/env node
/**
 * The `rft` command. Each subcommand lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; this file only lists them.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
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
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
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
