/** `rft bench NAME [...]`: the same benchmarks as `npm run bench -- NAME`. */
import type { Command } from 'commander';
import { benchmarks, runBenchmark } from '../../../bench/registry.js';

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description(`run a benchmark (${Object.keys(benchmarks).join(', ')}); figures, not tests`)
    .argument('<name>', 'benchmark name')
    .argument('[args...]', 'options passed to the benchmark (e.g. --json)')
    // a benchmark's own options (--json, --threads N) pass through, so commander's --help is off;
    // `rft bench --help` (no name yet) is handled here
    .allowUnknownOption(true)
    .helpOption(false)
    .addHelpText('after', `\nBenchmarks:\n${Object.entries(benchmarks).map(([n, b]) => `  ${n.padEnd(11)} ${b.description}`).join('\n')}\n`)
    .action(async (name: string, args: string[]) => {
      if (name === '--help' || name === '-h' || name === 'help') {
        bench.outputHelp();
        return;
      }
      process.exitCode = await runBenchmark(name, args);
    });
}
