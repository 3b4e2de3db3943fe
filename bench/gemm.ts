/**
 * `npm run bench -- gemm [--json] [--reps N] [--cpu-time]`: native sgemm throughput on the shapes a transformer
 * uses, on 1 thread and on all threads (the pool's size at load: RFT_THREADS or one per core), with
 * the machine's measured FMA peak for each thread count so every figure is also a fraction of it.
 * Figures are medians over repeats; nothing is asserted.
 */
import { rawAddon, type NativeAddon } from '../src/engine/native.js';

type Shape = { label: string; m: number; n: number; k: number; batch: number; transA: boolean; transB: boolean };

const shapes: Shape[] = [
  { label: 'square 1024³', m: 1024, n: 1024, k: 1024, batch: 1, transA: false, transB: false },
  { label: 'skinny m (64 rows)', m: 64, n: 2048, k: 2048, batch: 1, transA: false, transB: false },
  { label: 'skinny n (64 cols)', m: 2048, n: 64, k: 2048, batch: 1, transA: false, transB: false },
  { label: 'small 256³', m: 256, n: 256, k: 256, batch: 1, transA: false, transB: false },
  { label: 'attention Q·Kᵀ, 4×9 heads', m: 256, n: 256, k: 64, batch: 36, transA: false, transB: true },
];

export type GemmResult = { m: number; n: number; k: number; batch: number; threads: number; gflops: number };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

function random(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.random() - 0.5;
  return x;
}

/**
 * Median GFLOP/s of `reps` timed calls (after one warm-up), at least ~0.2 s of calls in all.
 * cpuTime: time each call by the process's CPU time divided by the thread count instead of the
 * wall clock — on a machine shared with other work, what `threads` cores would deliver if this
 * process had them to itself (time spent waiting for another thread while holding a core counts).
 */
function measure(addon: NativeAddon, s: Shape, reps: number, cpuTime: boolean, threads: number): number {
  const a = random(s.m * s.k * s.batch), b = random(s.k * s.n * s.batch), c = new Float32Array(s.m * s.n * s.batch);
  const lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n;
  const run = s.batch === 1
    ? () => addon.sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
    : () => addon.sgemmBatched(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, s.m * s.k, b, ldb, s.k * s.n, 0, c, s.n, s.m * s.n, s.batch);
  run();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < reps || (performance.now() - start < 200 && times.length < 200)) {
    if (cpuTime) {
      const c0 = process.cpuUsage();
      run();
      const c = process.cpuUsage(c0);
      times.push((c.user + c.system) / 1e6 / threads);
    } else {
      const t0 = performance.now();
      run();
      times.push((performance.now() - t0) / 1e3);
    }
  }
  return (2 * s.m * s.n * s.k * s.batch) / median(times) / 1e9;
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const cpuTime = args.includes('--cpu-time');
  const ri = args.indexOf('--reps');
  const reps = ri >= 0 ? Number(args[ri + 1]) : 11;
  const unknown = args.filter((x, i) => x !== '--json' && x !== '--cpu-time' && x !== '--reps' && !(ri >= 0 && i === ri + 1));
  if (!Number.isInteger(reps) || reps < 1 || unknown.length > 0) {
    process.stderr.write(`bench gemm: usage: gemm [--json] [--reps N] [--cpu-time]  (got: ${args.join(' ')})\n`);
    return 2;
  }
  let addon: NativeAddon;
  try {
    addon = rawAddon();
  } catch (e) {
    process.stderr.write(`bench gemm: the native engine is not available (${(e as Error).message}); run: npm run rebuild:native\n`);
    return 1;
  }
  const all = addon.getThreads();
  const threadCounts = [...new Set([1, all])];
  const peak: Record<string, number> = {};
  const results: GemmResult[] = [];
  if (!json) {
    console.log(`native sgemm, ${addon.isa()} path, median of ≥ ${reps} runs; % of the measured FMA peak for that thread count`);
    if (cpuTime) console.log('timed by CPU time ÷ threads: the rate with that many cores to ourselves, on a shared machine');
  }
  for (const t of threadCounts) {
    addon.setThreads(t);
    peak[String(t)] = addon.fmaPeak(t, cpuTime);
    if (!json) console.log(`\n${t} thread${t > 1 ? 's' : ''}: FMA peak ${peak[String(t)].toFixed(1)} GFLOP/s`);
    for (const s of shapes) {
      const gflops = measure(addon, s, reps, cpuTime, t);
      results.push({ m: s.m, n: s.n, k: s.k, batch: s.batch, threads: t, gflops });
      if (!json) {
        const dims = `${s.batch > 1 ? `${s.batch} × ` : ''}${s.m}×${s.n}×${s.k}${s.transB ? ' (A·Bᵀ)' : ''}`;
        const pct = (100 * gflops) / peak[String(t)];
        console.log(`  ${dims.padEnd(24)} ${gflops.toFixed(1).padStart(7)} GFLOP/s  ${pct.toFixed(0).padStart(3)}%   ${s.label}`);
      }
    }
  }
  addon.setThreads(all);
  if (json) console.log(JSON.stringify({ peak_gflops: peak, results }));
  return 0;
}
