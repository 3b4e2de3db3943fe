/**
 * Benchmarks by name. Each is a module exporting `run(args: string[]): Promise<number>` (exit code).
 * Benchmarks print figures; they never assert wall-clock limits.
 */
export type Benchmark = { description: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

export const benchmarks: Record<string, Benchmark> = {};
benchmarks.kernels = { description: 'fused kernels (norms, rope, swiglu, attention, softmax, logprobs, embedding, adamw): native vs reference', load: () => import('./kernels.js') };
benchmarks.engine = { description: 'tensor engine: training step of a small transformer, share of time in kernels, pool reuse', load: () => import('./engine.js') };
benchmarks.model = { description: 'transformer: LoRA fwd/fwd+bwd and KV-cache sampling tokens/s (--preset smollm-135m|tiny or --model DIR)', load: () => import('./model.js') };
benchmarks.datasets = { description: 'rows/s of the task generators and of dataset validation', load: () => import('./datasets.js') };
benchmarks.train = { description: 'one GRPO step through the trainer (time split) vs the engine alone on the same work', load: () => import('./train.js') };
benchmarks.serve = { description: 'rft serve under 1/8/32 streaming clients (req/s, tok/s, TTFT, ITL) and batched throughput vs sample() vs llama.cpp', load: () => import('./serve.js') };
benchmarks.jobs = { description: 'rft server: a job\'s training throughput idle vs under 50 API clients (list, get, metrics, SSE), their req/s, latency, errors', load: () => import('./jobs.js') };
benchmarks.fleet = { description: 'GRPO steps with rollouts in process vs on two rft serve processes (sync and --async): step time split, mismatch', load: () => import('./fleet.js') };
benchmarks.evaluators = { description: 'evaluations/s of the built-in and sandboxed evaluators', load: () => import('./evaluators.js') };

benchmarks.gemm = { description: 'native sgemm GFLOP/s on transformer shapes, 1 and all threads, vs the FMA peak; bf16 weights vs F32 (--w16: only those)', load: () => import('./gemm.js') };

export async function runBenchmark(name: string, args: string[]): Promise<number> {
  const b = benchmarks[name];
  if (!b) {
    process.stderr.write(`unknown benchmark "${name}"; available: ${Object.keys(benchmarks).join(', ') || '(none yet)'}\n`);
    return 2;
  }
  const mod = await b.load();
  return mod.run(args);
}
