/** `npm run bench -- NAME [options]` */
import { benchmarks, runBenchmark } from './registry.js';

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log('usage: npm run bench -- NAME [options]\n\nbenchmarks:');
  for (const [n, b] of Object.entries(benchmarks)) console.log(`  ${n.padEnd(12)} ${b.description}`);
  process.exitCode = name ? 0 : 2;
} else {
  process.exitCode = await runBenchmark(name, args);
}
