/**
 * `npm run bench -- gemm [--json] [--reps N] [--cpu-time] [--w16]`: native sgemm throughput on the shapes a transformer
 * uses, on 1 thread and on all threads (the pool's size at load: RFT_THREADS or one per core), with
 * the machine's measured FMA peak for each thread count so every figure is also a fraction of it.
 * Then 16-bit weights (sgemmW16, bf16) against F32 on the same shapes, side by side in alternating
 * rounds: 1024³ both ways (x·Wᵀ forward, dy·W backward) and decode shapes, the latter also as a
 * fraction of the bytes-per-call bound set by the measured read bandwidth. --w16: only that part.
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

/** The 16-bit-weight shapes: Qwen2.5-0.5B's MLP (hidden 896, intermediate 4864) and a square product. */
type W16Shape = { label: string; m: number; n: number; k: number; transB: boolean };
const w16Shapes: W16Shape[] = [
  { label: 'square x·Wᵀ (forward)', m: 1024, n: 1024, k: 1024, transB: true },
  { label: 'square dy·W (backward)', m: 1024, n: 1024, k: 1024, transB: false },
  { label: 'decode 1 seq, up_proj', m: 1, n: 4864, k: 896, transB: true },
  { label: 'decode 16 seqs, up_proj', m: 16, n: 4864, k: 896, transB: true },
  { label: 'decode 16 seqs, down_proj', m: 16, n: 896, k: 4864, transB: true },
  { label: 'decode 64 seqs, up_proj', m: 64, n: 4864, k: 896, transB: true },
];

export type W16Result = { label: string; m: number; n: number; k: number; transB: boolean; variant: string; gflops: number; bytes: number; gbs: number; boundFraction: number };

/** One timed call in seconds. */
function once(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1e3;
}

/**
 * Every variant of one shape in alternating rounds (F32 sgemm, then each 16-bit path), so a
 * machine-wide slowdown hits all of them alike; median per variant.
 */
function measureW16(addon: NativeAddon, s: W16Shape, rounds: number, bandwidth: number): W16Result[] {
  const a = random(s.m * s.k), c = new Float32Array(s.m * s.n);
  // Decode shapes cycle through enough distinct weight matrices (≥ 96 MB of bf16) that every call
  // reads its weights from memory, as a decode step over all layers does, not from the cache.
  const copies = s.m <= 64 ? Math.ceil((96 << 20) / (2 * s.n * s.k)) : 1;
  const wfs: Float32Array[] = [];
  const w16s: Uint16Array[] = [];
  for (let i = 0; i < copies; i++) {
    const wf = random(s.n * s.k);
    const w16 = new Uint16Array(wf.length);
    const u = new Uint32Array(wf.buffer);
    for (let j = 0; j < u.length; j++) w16[j] = ((u[j]! + 0x7fff + ((u[j]! >>> 16) & 1)) >>> 16) & 0xffff;
    wfs.push(wf);
    w16s.push(w16);
  }
  let next = 0;
  const pick = () => (next = (next + 1) % copies);
  const ldb = s.transB ? s.k : s.n;
  const paths = addon.w16Isas().filter((p) => p !== 'portable' || addon.w16Isas().length === 1);
  const variants: { name: string; bytesPerWeight: number; run: () => void }[] = [
    { name: 'f32', bytesPerWeight: 4, run: () => addon.sgemm(false, s.transB, s.m, s.n, s.k, 1, a, s.k, wfs[pick()]!, ldb, 0, c, s.n) },
    ...paths.map((p) => ({ name: `bf16 ${p}`, bytesPerWeight: 2, run: () => { addon.setW16Isa(p); addon.sgemmW16('bf16', s.transB, s.m, s.n, s.k, 1, a, s.k, w16s[pick()]!, ldb, 0, c, s.n); } })),
  ];
  const times = variants.map(() => [] as number[]);
  const before = addon.w16Isa();
  for (const v of variants) v.run(); // warm-up
  const inner = s.m * s.n * s.k < 1e8 ? 8 : 1; // short calls: time a few back to back
  for (let r = 0; r < rounds; r++) {
    variants.forEach((v, i) => times[i]!.push(once(() => { for (let j = 0; j < inner; j++) v.run(); }) / inner));
  }
  addon.setW16Isa(before);
  return variants.map((v, i) => {
    const t = median(times[i]!);
    const bytes = s.n * s.k * v.bytesPerWeight + 4 * (s.m * s.k + s.m * s.n);
    return { label: s.label, m: s.m, n: s.n, k: s.k, transB: s.transB, variant: v.name, gflops: (2 * s.m * s.n * s.k) / t / 1e9, bytes, gbs: bytes / t / 1e9, boundFraction: bytes / t / 1e9 / bandwidth };
  });
}

function runW16(addon: NativeAddon, rounds: number, json: boolean): { bandwidth_gbs: number; results: W16Result[] } {
  const threads = addon.getThreads();
  const bandwidth = addon.readBandwidth(threads, 256);
  if (!json) {
    console.log(`\n16-bit weights (bf16) vs F32 on ${threads} thread${threads > 1 ? 's' : ''}, ${rounds} alternating rounds, medians; read bandwidth ${bandwidth.toFixed(1)} GB/s`);
    console.log('  decode rows: GB/s of weights + activations moved, and that as a fraction of the read bandwidth (the bytes-per-call bound)');
  }
  const results: W16Result[] = [];
  for (const s of w16Shapes) {
    const rs = measureW16(addon, s, rounds, bandwidth);
    results.push(...rs);
    if (json) continue;
    const f32 = rs[0]!.gflops;
    console.log(`  ${`${s.m}×${s.n}×${s.k}`.padEnd(14)} ${s.label}`);
    for (const r of rs) {
      const decode = s.m <= 64 ? `  ${r.gbs.toFixed(1).padStart(6)} GB/s  ${(100 * r.boundFraction).toFixed(0).padStart(3)}% of bound` : '';
      console.log(`    ${r.variant.padEnd(22)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s  ${(r.gflops / f32).toFixed(2)}× f32${decode}`);
    }
  }
  return { bandwidth_gbs: bandwidth, results };
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const cpuTime = args.includes('--cpu-time');
  const onlyW16 = args.includes('--w16');
  const ri = args.indexOf('--reps');
  const reps = ri >= 0 ? Number(args[ri + 1]) : 11;
  const unknown = args.filter((x, i) => x !== '--json' && x !== '--cpu-time' && x !== '--w16' && x !== '--reps' && !(ri >= 0 && i === ri + 1));
  if (!Number.isInteger(reps) || reps < 1 || unknown.length > 0) {
    process.stderr.write(`bench gemm: usage: gemm [--json] [--reps N] [--cpu-time] [--w16]  (got: ${args.join(' ')})\n`);
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
  if (onlyW16) {
    const w = runW16(addon, reps, json);
    if (json) console.log(JSON.stringify({ w16: w }));
    return 0;
  }
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
  const w16 = runW16(addon, reps, json);
  if (json) console.log(JSON.stringify({ peak_gflops: peak, results, w16 }));
  return 0;
}
