/**
 * Native GEMM against the float64 reference (src/engine/reference/gemm.ts): every ISA path this CPU
 * can run, all four transpose combinations, odd and prime sizes, sizes that cross the packing
 * blocks (k > KC = 256, n > NC = 512), alpha/beta, leading dimensions wider than the matrices,
 * strided batches, determinism across thread counts, and bad input from JavaScript.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { rng as uniformRng } from './reference/testing.js';
import { rawAddon, adapt, type NativeAddon } from './native.js';
import * as ref from './reference/gemm.js';

let addon: NativeAddon | undefined;
let loadError = '';
try {
  addon = rawAddon();
} catch (e) {
  loadError = (e as Error).message;
}
const skip = addon ? false : `native addon unavailable: ${loadError}`;
const A = (): NativeAddon => addon!;
/** Thread counts to try: 1, 2 and 3 where allowed (setThreads accepts up to 2 × cores). */
const maxThreads = (): number => Math.min(3, 2 * A().availableCores());

/** Deterministic uniform [-1, 1) floats (the kernels' shared seeded generator, rescaled). */
function rng(seed: number): () => number {
  const u = uniformRng(seed);
  return () => 2 * u() - 1;
}
function randomArray(n: number, r: () => number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = r();
  return x;
}


type Case = { ta: boolean; tb: boolean; m: number; n: number; k: number; alpha: number; beta: number; pad: number };

/** Stored shapes and buffers for a case, with every leading dimension `pad` wider than needed. */
function operands(c: Case, seed: number) {
  const r = rng(seed);
  const [ar, ac] = c.ta ? [c.k, c.m] : [c.m, c.k];
  const [br, bc] = c.tb ? [c.n, c.k] : [c.k, c.n];
  const lda = ac + c.pad, ldb = bc + c.pad, ldc = c.n + c.pad;
  return {
    a: randomArray(Math.max(1, ar * lda), r), lda,
    b: randomArray(Math.max(1, br * ldb), r), ldb,
    c: randomArray(Math.max(1, c.m * ldc), r), ldc,
  };
}

/**
 * Asserts got ≈ want element-wise with the float32 summation bound: |err| ≤ 2·k·u·Σ|α·a·b| + 2u·|β·c|
 * (+ a tiny absolute slack), where Σ|a·b| comes from the reference run on |A|, |B|.
 */
function assertClose(got: Float32Array, want: Float32Array, bound: Float32Array, k: number, what: string): void {
  const u = 2 ** -24;
  for (let i = 0; i < want.length; i++) {
    const tol = 2 * (k + 2) * u * bound[i] + 1e-30;
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol)) assert.fail(`${what}: element ${i}: got ${got[i]}, want ${want[i]} (|err| ${err} > tol ${tol})`);
  }
}

function checkCase(c: Case, seed: number, what: string): void {
  const { a, lda, b, ldb, c: c0, ldc } = operands(c, seed);
  const got = c0.slice();
  A().sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got, ldc);
  const want = c0.slice();
  ref.sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, want, ldc);
  const bound = c0.map(Math.abs);
  ref.sgemm(c.ta, c.tb, c.m, c.n, c.k, Math.abs(c.alpha), a.map(Math.abs), lda, b.map(Math.abs), ldb, Math.abs(c.beta), bound, ldc);
  assertClose(got, want, bound, c.k, `${what} ${JSON.stringify(c)}`);
  // Padding columns of C (j ≥ n) are never written.
  for (let i = 0; i < c.m; i++) for (let j = c.n; j < ldc; j++) assert.equal(got[i * ldc + j], c0[i * ldc + j], `${what}: wrote C padding`);
}

const shapes: [number, number, number][] = [
  [1, 1, 1], [2, 3, 1], [7, 13, 5], [8, 32, 16], [9, 33, 17], [17, 31, 29], [37, 41, 53], [13, 7, 300],
  [65, 97, 263], [3, 531, 11], [40, 1030, 7],
  [4, 70, 37], [1, 130, 300], [6, 67, 33], [8, 20, 40], [9, 67, 33], // m ≤ 8: the unpacked path
  [13, 67, 300], [16, 70, 64], [11, 9, 129], [16, 40, 63], // 8 < m ≤ 16, k ≥ 64, B stored n × k: unpacked too
];
const transposes: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

describe('native sgemm', { skip }, () => {
  const isaBefore = addon?.isa();
  const threadsBefore = addon?.getThreads();
  after(() => {
    if (!addon) return;
    addon.setIsa(isaBefore!);
    addon.setThreads(threadsBefore!);
  });

  for (const isa of addon?.isas() ?? []) {
    test(`${isa}: matches the reference on odd, prime and block-crossing shapes, all transposes, ld > width`, () => {
      A().setIsa(isa);
      let seed = 1;
      for (const [m, n, k] of shapes) {
        for (const [ta, tb] of transposes) {
          checkCase({ ta, tb, m, n, k, alpha: 1, beta: 0, pad: 0 }, seed++, isa);
          checkCase({ ta, tb, m, n, k, alpha: -0.75, beta: 0.5, pad: 3 }, seed++, isa);
        }
      }
    });

    test(`${isa}: beta = 0 ignores NaN already in C; beta = 1 accumulates`, () => {
      A().setIsa(isa);
      const m = 19, n = 45, k = 23;
      const r = rng(7);
      const a = randomArray(m * k, r), b = randomArray(k * n, r);
      const c = new Float32Array(m * n).fill(NaN);
      A().sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
      const want = new Float32Array(m * n);
      ref.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n);
      assert.ok(c.every(Number.isFinite), 'NaN leaked from C with beta = 0');
      const bound = new Float32Array(m * n);
      ref.sgemm(false, false, m, n, k, 1, a.map(Math.abs), k, b.map(Math.abs), n, 0, bound, n);
      assertClose(c, want, bound, k, 'beta=0');
      // Running it again with beta = 1 doubles it.
      A().sgemm(false, false, m, n, k, 1, a, k, b, n, 1, c, n);
      assertClose(c, want.map((x) => 2 * x), bound.map((x) => 2 * x), k, 'beta=1');
    });

    test(`${isa}: k = 0 gives beta·C (and zeros for beta = 0, even over NaN); empty m or n is a no-op`, () => {
      A().setIsa(isa);
      const c = new Float32Array([1, 2, 3, 4, 5, 6]);
      A().sgemm(false, false, 2, 3, 0, 1, new Float32Array(0), 1, new Float32Array(0), 3, 2, c, 3);
      assert.deepEqual([...c], [2, 4, 6, 8, 10, 12]);
      const z = new Float32Array(6).fill(NaN);
      A().sgemm(true, true, 2, 3, 0, 1, new Float32Array(0), 2, new Float32Array(0), 1, 0, z, 3);
      assert.deepEqual([...z], [0, 0, 0, 0, 0, 0]);
      const untouched = new Float32Array([9, 9]);
      A().sgemm(false, false, 0, 2, 5, 1, new Float32Array(0), 5, new Float32Array(10), 2, 0, untouched, 2);
      A().sgemm(false, false, 1, 0, 5, 1, new Float32Array(5), 5, new Float32Array(0), 1, 0, untouched, 1);
      assert.deepEqual([...untouched], [9, 9]);
    });
  }

  test('a hand-computed 2×3·3×2 product', () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]); // (2, 3)
    const b = new Float32Array([7, 8, 9, 10, 11, 12]); // (3, 2)
    const c = new Float32Array(4);
    A().sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2);
    assert.deepEqual([...c], [58, 64, 139, 154]);
    A().sgemm(true, true, 2, 2, 3, 1, b, 2, a, 3, 0, c, 2); // (AB)ᵀ = BᵀAᵀ
    assert.deepEqual([...c], [58, 139, 64, 154]);
  });

  test('batched: stacked matrices, side-by-side heads (T, H, D layout), and a broadcast operand (stride 0)', () => {
    const r = rng(11);
    // Q·Kᵀ per head with Q, K laid out (T, H, D): head h starts at h·D, row stride H·D.
    const T = 37, H = 3, D = 10;
    const q = randomArray(T * H * D, r), kk = randomArray(T * H * D, r);
    const s = new Float32Array(H * T * T);
    A().sgemmBatched(false, true, T, T, D, 0.5, q, H * D, D, kk, H * D, D, 0, s, T, T * T, H);
    const want = new Float32Array(H * T * T);
    ref.sgemmBatched(false, true, T, T, D, 0.5, q, H * D, D, kk, H * D, D, 0, want, T, T * T, H);
    const bound = new Float32Array(H * T * T);
    ref.sgemmBatched(false, true, T, T, D, 0.5, q.map(Math.abs), H * D, D, kk.map(Math.abs), H * D, D, 0, bound, T, T * T, H);
    assertClose(s, want, bound, D, 'Q·Kᵀ');
    // P·V written back side by side into (T, H, D).
    const v = randomArray(T * H * D, r);
    const o = new Float32Array(T * H * D), wantO = new Float32Array(T * H * D), boundO = new Float32Array(T * H * D);
    A().sgemmBatched(false, false, T, D, T, 1, s, T, T * T, v, H * D, D, 0, o, H * D, D, H);
    ref.sgemmBatched(false, false, T, D, T, 1, s, T, T * T, v, H * D, D, 0, wantO, H * D, D, H);
    ref.sgemmBatched(false, false, T, D, T, 1, s.map(Math.abs), T, T * T, v.map(Math.abs), H * D, D, 0, boundO, H * D, D, H);
    assertClose(o, wantO, boundO, T, 'P·V');
    // One weight shared by every batch item (strideB = 0), large enough to run on several threads.
    const m = 70, n = 90, k = 50, batch = 5;
    const x = randomArray(batch * m * k, r), w = randomArray(n * k, r);
    const y = new Float32Array(batch * m * n), wantY = new Float32Array(batch * m * n), boundY = new Float32Array(batch * m * n);
    A().sgemmBatched(false, true, m, n, k, 1, x, k, m * k, w, k, 0, 0, y, n, m * n, batch);
    ref.sgemmBatched(false, true, m, n, k, 1, x, k, m * k, w, k, 0, 0, wantY, n, m * n, batch);
    ref.sgemmBatched(false, true, m, n, k, 1, x.map(Math.abs), k, m * k, w.map(Math.abs), k, 0, 0, boundY, n, m * n, batch);
    assertClose(y, wantY, boundY, k, 'shared weight');
  });

  test('results are bit-identical for 1, 2 and 3 threads, on every ISA (single and batched)', () => {
    const r = rng(5);
    const m = 131, n = 157, k = 300; // big enough to be split across threads
    const a = randomArray(m * k, r), b = randomArray(k * n, r);
    const batch = 3, bm = 64, bn = 72, bk = 64;
    const sm = 7, sn = 1000, sk = 301; // few rows: the unpacked path, split by columns
    const sa = randomArray(sm * sk, r), sb = randomArray(sn * sk, r);
    const ba = randomArray(batch * bm * bk, r), bb = randomArray(batch * bk * bn, r);
    for (const isa of A().isas()) {
      A().setIsa(isa);
      const outs: Float32Array[] = [];
      const bouts: Float32Array[] = [];
      const souts: Float32Array[] = [];
      const s16: Float32Array[] = [];
      for (let t = 1; t <= 3; t++) {
        A().setThreads(Math.min(t, maxThreads()));
        for (const tb of [false, true]) {
          const sc = new Float32Array(sm * sn);
          A().sgemm(false, tb, sm, sn, sk, 1, sa, sk, sb, tb ? sk : sn, 0, sc, sn);
          souts.push(sc);
        }
        const sc16 = new Float32Array(16 * sn); // 16 decoding rows against Wᵀ: unpacked, split by columns
        A().sgemm(false, true, 16, sn, sk, 1, sb.subarray(0, 16 * sk), sk, sb, sk, 0, sc16, sn);
        s16.push(sc16);
        const c = new Float32Array(m * n);
        A().sgemm(false, true, m, n, k, 1, a, k, b.subarray(0, n * k), k, 0, c, n);
        outs.push(c);
        const bc = new Float32Array(batch * bm * bn);
        A().sgemmBatched(false, false, bm, bn, bk, 1, ba, bk, bm * bk, bb, bn, bk * bn, 0, bc, bn, bm * bn, batch);
        bouts.push(bc);
      }
      assert.deepEqual(outs[1], outs[0], `${isa}: 2 threads differ from 1`);
      assert.deepEqual(outs[2], outs[0], `${isa}: 3 threads differ from 1`);
      assert.deepEqual(bouts[1], bouts[0], `${isa}: batched, 2 threads differ from 1`);
      assert.deepEqual(bouts[2], bouts[0], `${isa}: batched, 3 threads differ from 1`);
      for (let i = 2; i < souts.length; i++) assert.deepEqual(souts[i], souts[i % 2], `${isa}: few rows, threads differ`);
      for (let i = 1; i < s16.length; i++) assert.deepEqual(s16[i], s16[0], `${isa}: 16 rows against Wᵀ, threads differ`);
    }
  });

  test('the thread pool survives thousands of calls and repeated resizing', () => {
    const r = rng(9);
    const m = 72, n = 64, k = 64; // just above the single-thread cut-off
    const a = randomArray(m * k, r), b = randomArray(k * n, r);
    const first = new Float32Array(m * n);
    A().sgemm(false, false, m, n, k, 1, a, k, b, n, 0, first, n);
    const c = new Float32Array(m * n);
    for (let i = 0; i < 2000; i++) {
      if (i % 200 === 0) A().setThreads(1 + ((i / 200) % maxThreads()));
      A().sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
    }
    assert.deepEqual(c, first);
  });

  test('setThreads / getThreads round-trip; RFT_THREADS is honoured at load', async () => {
    A().setThreads(maxThreads());
    assert.equal(A().getThreads(), maxThreads());
    A().setThreads(1);
    assert.equal(A().getThreads(), 1);
    const { spawnSync } = await import('node:child_process');
    const { addonPath } = await import('./native.js');
    const script = `console.log(require(${JSON.stringify(addonPath())}).getThreads())`;
    const one = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, RFT_THREADS: '1' } });
    assert.equal(one.stdout.trim(), '1');
    const dflt = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, RFT_THREADS: '' } });
    assert.equal(Number(dflt.stdout.trim()), A().availableCores());
  });

  test('fmaPeak measures a positive rate by the wall clock and by CPU time, and checks its arguments', () => {
    const wall = A().fmaPeak(1);
    const cpu = A().fmaPeak(1, true);
    assert.ok(wall > 0.1 && cpu > 0.1, `fmaPeak(1) = ${wall}, fmaPeak(1, true) = ${cpu}`);
    assert.throws(() => A().fmaPeak(0), /fmaPeak: threads must be an integer/);
    assert.throws(() => (A().fmaPeak as (...x: unknown[]) => number)(1, 'yes'), /fmaPeak: cpuTime must be a boolean, got string/);
    assert.throws(() => (A().fmaPeak as (...x: unknown[]) => number)(), /fmaPeak: expects 1 to 2 arguments, got 0/);
  });
});

describe('native sgemm rejects bad input with an error naming the op and shapes', { skip }, () => {
  const f = (n: number) => new Float32Array(n);
  const call = (...args: unknown[]) => () => (A().sgemm as (...x: unknown[]) => void)(...args);
  const callB = (...args: unknown[]) => () => (A().sgemmBatched as (...x: unknown[]) => void)(...args);

  test('buffers too short for the shapes', () => {
    assert.throws(call(false, false, 4, 5, 6, 1, f(23), 6, f(30), 5, 0, f(20), 5),
      (e: Error) => e instanceof RangeError && /^sgemm: a has 23 floats but .* needs 24 .*m=4, n=5, k=6/.test(e.message));
    assert.throws(call(false, true, 4, 5, 6, 1, f(24), 6, f(29), 6, 0, f(20), 5), /sgemm: b has 29 floats .* needs 30/);
    assert.throws(call(false, false, 4, 5, 6, 1, f(24), 6, f(30), 5, 0, f(19), 5), /sgemm: c has 19 floats .* needs 20/);
    assert.throws(call(true, false, 4, 5, 6, 1, f(24), 8, f(30), 5, 0, f(20), 5), /sgemm: a has 24 floats .* lda=8 needs 44/);
  });

  test('wrong dtypes: Float64Array, plain arrays, Int32Array, null', () => {
    assert.throws(call(false, false, 2, 2, 2, 1, new Float64Array(4), 2, f(4), 2, 0, f(4), 2),
      (e: Error) => e instanceof TypeError && e.message === 'sgemm: a must be a Float32Array, got Float64Array');
    assert.throws(call(false, false, 2, 2, 2, 1, f(4), 2, [1, 2, 3, 4], 2, 0, f(4), 2), /sgemm: b must be a Float32Array, got Array/);
    assert.throws(call(false, false, 2, 2, 2, 1, f(4), 2, f(4), 2, 0, new Int32Array(4), 2), /sgemm: c must be a Float32Array, got Int32Array/);
    assert.throws(call(false, false, 2, 2, 2, 1, null, 2, f(4), 2, 0, f(4), 2), /sgemm: a must be a Float32Array, got null/);
    assert.throws(call(0, false, 2, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2), /sgemm: transA must be a boolean, got number/);
  });

  test('negative, fractional or non-finite sizes and scalars; leading dimensions below the width', () => {
    assert.throws(call(false, false, -1, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2), /sgemm: m must be a non-negative integer, got -1/);
    assert.throws(call(false, false, 2, 2.5, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2), /sgemm: n must be a non-negative integer, got 2.5/);
    assert.throws(call(false, false, 2, 2, NaN, 1, f(4), 2, f(4), 2, 0, f(4), 2), /sgemm: k must be a non-negative integer, got NaN/);
    assert.throws(call(false, false, 2 ** 31, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2), /sgemm: m must be a non-negative integer ≤ 2147483647, got 2147483648/);
    assert.throws(call(false, false, 2, 2, 2, Infinity, f(4), 2, f(4), 2, 0, f(4), 2), /sgemm: alpha must be finite/);
    assert.throws(call(false, false, 2, 2, 2, 1, f(4), 2, f(4), 2, '0', f(4), 2), /sgemm: beta must be a number, got string/);
    assert.throws(call(false, false, 2, 3, 4, 1, f(100), 3, f(100), 3, 0, f(100), 3), /sgemm: lda=3 is less than the width 4 of a/);
    assert.throws(call(false, false, 2, 3, 4, 1, f(100), 4, f(100), 3, 0, f(100), 2), /sgemm: ldc=2 is less than the width 3 of c/);
  });

  test('wrong argument count, and C overlapping an input', () => {
    assert.throws(call(false, false, 2, 2, 2), /sgemm: expects 13 arguments, got 5/);
    assert.throws(call(false, false, 2, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2, 0), /sgemm: expects 13 arguments, got 14/);
    const buf = f(12);
    assert.throws(call(false, false, 2, 2, 2, 1, buf.subarray(0, 4), 2, f(4), 2, 0, buf.subarray(2, 6), 2), /sgemm: c overlaps a/);
    // Disjoint views of one buffer are fine.
    A().sgemm(false, false, 2, 2, 2, 1, buf.subarray(0, 4), 2, buf.subarray(4, 8), 2, 0, buf.subarray(8, 12), 2);
  });

  test('batched: short buffers, overlapping C matrices, bad batch', () => {
    assert.throws(callB(false, false, 2, 2, 2, 1, f(11), 2, 4, f(12), 2, 4, 0, f(12), 2, 4, 3),
      /sgemmBatched: a has 11 floats but a stored as 3 × 2×2 with lda=2 needs 12 .*batch=3/);
    assert.throws(callB(false, false, 2, 2, 2, 1, f(12), 2, 4, f(12), 2, 4, 0, f(12), 2, 0, 3), /sgemmBatched: strideC=0 .* c matrices overlap/);
    assert.throws(callB(false, false, 2, 2, 2, 1, f(12), 2, 4, f(12), 2, 4, 0, f(12), 2, 4, -1), /sgemmBatched: batch must be a non-negative integer, got -1/);
    assert.throws(callB(false, false, 2, 2, 2, 1, f(12), 2, 4, f(12), 2, 4, 0, f(12), 2, 4), /sgemmBatched: expects 17 arguments, got 16/);
  });

  test('controls: setThreads, setIsa', () => {
    assert.throws(() => A().setThreads(0), /setThreads: n must be an integer in \[1, \d+\], got 0/);
    assert.throws(() => A().setIsa('sse9'), /setIsa: "sse9" is not a GEMM path this CPU can run; available: .*portable/);
  });
});

describe('native adapter', () => {
  test('uses every Kernels function the addon exports and the reference for the rest', () => {
    const sgemm = () => {};
    const fake = { abiVersion: 1, isa: () => 'avx2', sgemm, getThreads: () => 2, setThreads: () => {} } as unknown as NativeAddon;
    const k = adapt(fake);
    assert.equal(k.name, 'native-avx2');
    assert.equal(k.sgemm, sgemm);
    assert.equal(k.sgemmBatched, ref.sgemmBatched); // not exported by the fake: reference
    assert.equal(k.getThreads(), 2);
  });

  test('refuses an addon built for another ABI', () => {
    assert.throws(() => adapt({ abiVersion: 2, isa: () => 'x' } as unknown as NativeAddon), /addon ABI 2, expected 1/);
  });

  test('the real addon is named after its GEMM path', { skip }, () => {
    const k = adapt(A());
    assert.match(k.name, /^native-(avx512|avx2|portable)$/);
    assert.equal(k.name, `native-${A().isa()}`);
  });
});
