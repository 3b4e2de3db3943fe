/** `rft bench NAME [...]`: the same benchmarks as `npm run bench -- NAME`. */
import type { Command } from 'commander';
import { benchmarks, runBenchmark } from '../../../bench/registry.js';

export function register(program: Command): void {
  program
    .command('bench')
    .description(`run a benchmark (${Object.keys(benchmarks).join(', ')}); figures, not tests`)
    .argument('<name>', 'benchmark name')
    .argument('[args...]', 'options passed to the benchmark (e.g. --json)')
    .allowUnknownOption(true)
    .helpOption(false)
    .action(async (name: string, args: string[]) => {
      process.exitCode = await runBenchmark(name, args);
    });
}
