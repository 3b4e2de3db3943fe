/**
 * Benchmarks by name. Each is a module exporting `run(args: string[]): Promise<number>` (exit code).
 * Benchmarks print figures; they never assert wall-clock limits.
 */
export type Benchmark = { description: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

export const benchmarks: Record<string, Benchmark> = {
  evaluators: { description: 'evaluations/s of the built-in and sandboxed evaluators', load: () => import('./evaluators.js') },
};

export async function runBenchmark(name: string, args: string[]): Promise<number> {
  const b = benchmarks[name];
  if (!b) {
    process.stderr.write(`unknown benchmark "${name}"; available: ${Object.keys(benchmarks).join(', ') || '(none yet)'}\n`);
    return 2;
  }
  const mod = await b.load();
  return mod.run(args);
}
