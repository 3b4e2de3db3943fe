/**
 * `npm run bench -- kernels [--json] [--no-reference] [--threads N] [--cpu-time]`: one figure per fused kernel on
 * transformer-sized shapes (SmolLM-135M-like: dim 576, 9 query / 3 kv heads of 64, vocab 49152),
 * native next to the TypeScript reference. Memory-bound kernels report GB/s of the minimum traffic
 * (every input read once, every output written once); attention reports GFLOP/s of its matmuls.
 * Figures are medians over repeats; nothing here asserts a time.
 */
import type { Kernels } from '../src/engine/kernels.js';
import { referenceKernels } from '../src/engine/reference/index.js';
import { nativeWithFallback } from '../src/engine/kernel-testing.js';

type Unit = 'GB/s' | 'GFLOP/s';
interface Spec {
  kernel: string;
  shape: string;
  unit: Unit;
  work: number; // bytes or flops per call
  prepare: () => (k: Kernels) => void;
}

const rand = (() => {
  let s = 12345;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
})();
const f32 = (n: number, lo = -1, hi = 1) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
};
const i32 = (n: number, hi: number) => Int32Array.from({ length: n }, () => Math.floor(rand() * hi));

function specs(): Spec[] {
  const out: Spec[] = [];
  const rows = 1024, dim = 576, F = 4;
  {
    const x = f32(rows * dim), w = f32(dim), y = f32(rows * dim), rstd = f32(rows), dy = f32(rows * dim), dx = f32(rows * dim), dw = f32(dim);
    out.push({ kernel: 'rmsnormForward', shape: `${rows}×${dim}`, unit: 'GB/s', work: F * (2 * rows * dim + dim + rows),
      prepare: () => (k) => k.rmsnormForward(x, w, y, rstd, rows, dim, 1e-5) });
    out.push({ kernel: 'rmsnormBackward', shape: `${rows}×${dim}`, unit: 'GB/s', work: F * (3 * rows * dim + 3 * dim + rows),
      prepare: () => (k) => k.rmsnormBackward(dy, x, w, rstd, dx, dw, rows, dim) });
  }
  {
    const heads = 9, D = 64, maxPos = 2048;
    const x = f32(rows * heads * D), y = f32(rows * heads * D), pos = i32(rows, maxPos), cos = f32(maxPos * D / 2), sin = f32(maxPos * D / 2);
    out.push({ kernel: 'rope', shape: `${rows}×${heads}×${D}`, unit: 'GB/s', work: F * 2 * rows * heads * D,
      prepare: () => (k) => k.rope(x, y, pos, cos, sin, rows, heads, D, false) });
  }
  {
    const n = rows * 1536;
    const g = f32(n, -4, 4), u = f32(n), o = f32(n), d = f32(n), dg = f32(n), du = f32(n);
    out.push({ kernel: 'swigluForward', shape: `${rows}×1536`, unit: 'GB/s', work: F * 3 * n, prepare: () => (k) => k.swigluForward(g, u, o, n) });
    out.push({ kernel: 'swigluBackward', shape: `${rows}×1536`, unit: 'GB/s', work: F * 5 * n, prepare: () => (k) => k.swigluBackward(g, u, d, dg, du, n) });
  }
  {
    const B = 4, T = 256, Hq = 9, Hkv = 3, D = 64, scale = 1 / 8;
    const q = f32(B * T * Hq * D, -2, 2), kk = f32(B * T * Hkv * D, -2, 2), v = f32(B * T * Hkv * D), o = f32(q.length), lse = f32(B * Hq * T);
    const dout = f32(q.length), dq = f32(q.length), dk = f32(kk.length), dv = f32(kk.length);
    const qs = new Int32Array(B), ks = new Int32Array(B);
    const pairs = B * Hq * (T * (T + 1)) / 2; // causal (query, key) pairs
    out.push({ kernel: 'attentionForward', shape: `B${B} T${T} Hq${Hq} Hkv${Hkv} D${D}`, unit: 'GFLOP/s', work: 4 * D * pairs,
      prepare: () => (k) => k.attentionForward(q, kk, v, o, lse, B, T, T, Hq, Hkv, D, scale, qs, ks) });
    out.push({ kernel: 'attentionBackward', shape: `B${B} T${T} Hq${Hq} Hkv${Hkv} D${D}`, unit: 'GFLOP/s', work: 10 * D * pairs,
      prepare: () => {
        referenceKernels.attentionForward(q, kk, v, o, lse, B, T, T, Hq, Hkv, D, scale, qs, ks);
        return (k) => k.attentionBackward(q, kk, v, o, lse, dout, dq, dk, dv, B, T, T, Hq, Hkv, D, scale, qs, ks);
      } });
    // Decoding: one new token for 16 sequences against a 512-token cache.
    const Bd = 16, Tk = 512;
    const qd = f32(Bd * Hq * D), kd = f32(Bd * Tk * Hkv * D), vd = f32(Bd * Tk * Hkv * D), od = f32(qd.length), ld = f32(Bd * Hq);
    const qsd = new Int32Array(Bd).fill(Tk - 1), ksd = new Int32Array(Bd);
    out.push({ kernel: 'attentionForward', shape: `decode B${Bd} Tq1 Tk${Tk}`, unit: 'GFLOP/s', work: 4 * D * Bd * Hq * Tk,
      prepare: () => (k) => k.attentionForward(qd, kd, vd, od, ld, Bd, 1, Tk, Hq, Hkv, D, scale, qsd, ksd) });
  }
  {
    const r = 1024, c = 1024;
    const x = f32(r * c, -5, 5), y = f32(r * c), dy = f32(r * c), dx = f32(r * c);
    out.push({ kernel: 'softmaxForward', shape: `${r}×${c}`, unit: 'GB/s', work: F * 2 * r * c, prepare: () => (k) => k.softmaxForward(x, y, r, c) });
    out.push({ kernel: 'softmaxBackward', shape: `${r}×${c}`, unit: 'GB/s', work: F * 3 * r * c, prepare: () => (k) => k.softmaxBackward(y, dy, dx, r, c) });
    out.push({ kernel: 'logSoftmaxForward', shape: `${r}×${c}`, unit: 'GB/s', work: F * 2 * r * c, prepare: () => (k) => k.logSoftmaxForward(x, y, r, c) });
    out.push({ kernel: 'logSoftmaxBackward', shape: `${r}×${c}`, unit: 'GB/s', work: F * 3 * r * c, prepare: () => (k) => k.logSoftmaxBackward(y, dy, dx, r, c) });
  }
  {
    const r = 256, V = 49152;
    const logits = f32(r * V, -10, 10), targets = i32(r, V), logp = f32(r), lse = f32(r), dlogp = f32(r), dlogits = f32(r * V), ent = f32(r);
    out.push({ kernel: 'tokenLogprobsForward', shape: `${r}×${V}`, unit: 'GB/s', work: F * r * V,
      prepare: () => (k) => k.tokenLogprobsForward(logits, targets, logp, lse, r, V) });
    out.push({ kernel: 'tokenLogprobsBackward', shape: `${r}×${V}`, unit: 'GB/s', work: F * 2 * r * V,
      prepare: () => {
        referenceKernels.tokenLogprobsForward(logits, targets, logp, lse, r, V);
        return (k) => k.tokenLogprobsBackward(logits, targets, lse, dlogp, dlogits, r, V);
      } });
    out.push({ kernel: 'entropy', shape: `${r}×${V}`, unit: 'GB/s', work: F * r * V, prepare: () => (k) => k.entropy(logits, ent, r, V) });
  }
  {
    const V = 49152, n = 1024;
    const table = f32(V * dim), ids = i32(n, V), o = f32(n * dim), dtable = new Float32Array(V * dim);
    out.push({ kernel: 'embeddingForward', shape: `${n} ids × ${dim}`, unit: 'GB/s', work: F * 2 * n * dim,
      prepare: () => (k) => k.embeddingForward(table, ids, o, n, dim) });
    out.push({ kernel: 'embeddingBackward', shape: `${n} ids × ${dim}`, unit: 'GB/s', work: F * 3 * n * dim,
      prepare: () => (k) => k.embeddingBackward(o, ids, dtable, n, dim) });
  }
  {
    const n = 4 << 20;
    const p = f32(n), g = f32(n), m = f32(n, -0.01, 0.01), v = f32(n, 0, 1e-4);
    let step = 1;
    out.push({ kernel: 'adamw', shape: `${n} params`, unit: 'GB/s', work: F * 7 * n,
      prepare: () => (k) => k.adamw(p, g, m, v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, step++) });
  }
  return out;
}

/**
 * Median seconds per call: at least `minRuns` runs, more until ~`budget` seconds have passed.
 * With `cpu`, a call's time is the process's CPU time instead of wall-clock: on a busy machine
 * that leaves out the time the scheduler gave to others (meaningful with one thread only).
 */
function time(fn: () => void, minRuns: number, budget: number, cpu: boolean): number {
  fn(); // warm-up
  const t: number[] = [];
  const start = performance.now();
  const now = cpu ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();
  while (t.length < minRuns || (performance.now() - start < budget * 1000 && t.length < 200)) {
    const t0 = now();
    fn();
    t.push((now() - t0) / 1000);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const withReference = !args.includes('--no-reference');
  const cpu = args.includes('--cpu-time');
  const ti = args.indexOf('--threads');
  const native = nativeWithFallback();
  if (!native) process.stderr.write('[bench] the native addon did not load; only the reference is measured\n');
  if (native && ti >= 0) {
    const n = Number(args[ti + 1]);
    if (!Number.isInteger(n) || n < 1) {
      process.stderr.write(`--threads needs a positive integer, got ${args[ti + 1]}\n`);
      return 2;
    }
    if (typeof native.addon.setThreads === 'function') native.addon.setThreads(n);
    else process.stderr.write('[bench] this build has no thread control yet; --threads ignored\n');
  }
  const threads = native?.addon.getThreads?.() ?? 1;
  const results: Record<string, unknown>[] = [];
  if (!json) {
    console.log(`fused kernels — native ${native ? native.kernels.name : '(unavailable)'}, ${threads} thread(s); medians of ${cpu ? 'CPU' : 'wall-clock'} time`);
    console.log(`${'kernel'.padEnd(22)} ${'shape'.padEnd(26)} ${'native'.padStart(16)} ${'reference'.padStart(16)} ${'speed-up'.padStart(9)}`);
  }
  for (const s of specs()) {
    const call = s.prepare();
    const nat = native ? time(() => call(native.kernels), 5, 0.5, cpu) : NaN;
    const ref = withReference ? time(() => call(referenceKernels), 1, 0.3, cpu) : NaN;
    const rate = (sec: number) => s.work / sec / 1e9;
    results.push({ kernel: s.kernel, shape: s.shape, unit: s.unit, threads, native: rate(nat), reference: rate(ref), native_ms: nat * 1e3, reference_ms: ref * 1e3 });
    if (!json) {
      const fmt = (sec: number) => (Number.isNaN(sec) ? '—' : `${rate(sec).toFixed(2)} ${s.unit}`).padStart(16);
      console.log(`${s.kernel.padEnd(22)} ${s.shape.padEnd(26)} ${fmt(nat)} ${fmt(ref)} ${(Number.isNaN(nat / ref) ? '—' : `${(ref / nat).toFixed(0)}×`).padStart(9)}`);
    }
  }
  if (json) console.log(JSON.stringify({ native: native?.kernels.name ?? null, threads, clock: cpu ? 'cpu' : 'wall', results }));
  return 0;
}
