/**
 * The 16-bit-weight GEMM (Kernels.sgemmW16) on every path this CPU can run, against two oracles:
 * - the conversion paths ("avx512", "avx2", "portable") must return exactly what the F32 sgemm of
 *   the same ISA returns on the exactly widened weights (same kernels, same summation order);
 * - "avx512bf16" (vdpbf16ps on A split into bf16 hi + lo) must match the float64 reference to
 *   (2⁻¹⁶ + the F32 summation bound)·Σ|a·w| for x·Wᵀ: hi + lo hold A to 2⁻¹⁶ relative, bf16 products
 *   are exact; its dy·W (the backward into x) rounds dy once, as the next path does;
 * - "avx512bf16-round" (A rounded once) must match the float64 reference run on the bf16-rounded A
 *   to the F32 summation bound, and the unrounded reference to (2⁻⁸ + that bound)·Σ|a·w|.
 * Plus the reference itself against hand-computed values, thread-count independence, errors from
 * JavaScript, and fusedLinear over a Tensor16 weight (forward and dx; no gradient into W).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rng as uniformRng } from './reference/testing.js';
import { rawAddon, adapt, type NativeAddon } from './native.js';
import * as ref from './reference/gemm.js';
import { Tensor16 } from './tensor16.js';
import { tensor } from './tensor.js';
import { backward } from './tape.js';
import { fusedLinear } from './ops/matmul.js';
import { sum } from './ops/reduce.js';
import { useKernels } from './backend.js';
import { referenceKernels } from './reference/index.js';

let addon: NativeAddon | undefined;
let loadError = '';
try {
  addon = rawAddon();
} catch (e) {
  loadError = (e as Error).message;
}
const skip = addon ? false : `native addon unavailable: ${loadError}`;
const A = (): NativeAddon => addon!;

function rand(seed: number): () => number {
  const u = uniformRng(seed);
  return () => 2 * u() - 1;
}
function floats(n: number, r: () => number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = r();
  return x;
}
/** Random normal bf16 / f16 bits of magnitude in [2⁻⁶, 2); f16 also gets a few subnormals. */
function bits16(dtype: 'bf16' | 'f16', n: number, r: () => number): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const sign = r() < 0 ? 0x8000 : 0;
    const mant = Math.floor((r() + 1) * 512);
    if (dtype === 'bf16') out[i] = sign | ((121 + Math.floor((r() + 1) * 3.5)) << 7) | (mant & 0x7f);
    else out[i] = i % 97 === 5 ? sign | (mant & 0x3ff) : sign | ((9 + Math.floor((r() + 1) * 3.5)) << 10) | (mant & 0x3ff);
  }
  return out;
}
/** float → bf16 → float, round to nearest even (what vcvtne2ps2bf16 does to A). */
function roundBf16(x: Float32Array): Float32Array {
  const u = new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  for (let i = 0; i < u.length; i++) u[i] = ((u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(u.buffer);
}

type Case = { tb: boolean; m: number; n: number; k: number; alpha: number; beta: number; pad: number };
function operands(dtype: 'bf16' | 'f16', c: Case, seed: number) {
  const r = rand(seed);
  const [br, bc] = c.tb ? [c.n, c.k] : [c.k, c.n];
  const lda = c.k + c.pad, ldb = bc + c.pad, ldc = c.n + c.pad;
  return { a: floats(Math.max(1, c.m * lda), r), lda, b: bits16(dtype, Math.max(1, br * ldb), r), ldb, c: floats(Math.max(1, c.m * ldc), r), ldc };
}

/** |got − want| ≤ rel·bound + tiny, element-wise. */
function assertWithin(got: Float32Array, want: Float32Array, bound: Float32Array, rel: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    const tol = rel * bound[i]! + 1e-30;
    if (!(err <= tol)) assert.fail(`${what}: element ${i}: got ${got[i]}, want ${want[i]} (|err| ${err} > ${tol})`);
  }
}

const shapes: [number, number, number][] = [
  [1, 1, 1], [7, 13, 5], [8, 32, 16], [9, 33, 17], [37, 41, 53], [13, 7, 300], [65, 97, 263], [3, 531, 11], [20, 400, 7],
  [1, 130, 300], [4, 70, 37], [6, 67, 64], [16, 70, 64], [13, 67, 300], [16, 40, 63], [2, 9, 129], // few rows: the unpacked paths
];

describe('reference sgemmW16', () => {
  test('widens bf16 and f16 exactly and sums as written (hand-computed)', () => {
    // bf16: 1.0 = 0x3f80, 2.0 = 0x4000, −0.5 = 0xbf00, 1.5 = 0x3fc0; f16: 1.0 = 0x3c00, 2⁻²⁴ = 0x0001 (subnormal).
    const a = new Float32Array([1, 2, 3, 4]); // (2, 2)
    const w = new Uint16Array([0x3f80, 0x4000, 0xbf00, 0x3fc0]); // W (2, 2) = [[1, 2], [−0.5, 1.5]]
    const c = new Float32Array(4);
    ref.sgemmW16('bf16', true, 2, 2, 2, 1, a, 2, w, 2, 0, c, 2); // x·Wᵀ
    assert.deepEqual([...c], [1 + 4, -0.5 + 3, 3 + 8, -1.5 + 6]);
    ref.sgemmW16('bf16', false, 2, 2, 2, 1, a, 2, w, 2, 0, c, 2); // dy·W
    assert.deepEqual([...c], [1 - 1, 2 + 3, 3 - 2, 6 + 6]);
    const h = new Float32Array([7]);
    ref.sgemmW16('f16', true, 1, 1, 2, 2, new Float32Array([1, 2 ** 20]), 2, new Uint16Array([0x3c00, 0x0001]), 2, 1, h, 1);
    assert.equal(h[0], 2 * (1 + 2 ** -4) + 7);
  });

  test('rejects a bad dtype, a short or wrongly typed b, and too-small leading dimensions', () => {
    const a = new Float32Array(6), c = new Float32Array(4);
    assert.throws(() => ref.sgemmW16('q8' as 'bf16', true, 2, 2, 3, 1, a, 3, new Uint16Array(6), 3, 0, c, 2), /sgemmW16: dtype must be "bf16" or "f16"/);
    assert.throws(() => ref.sgemmW16('bf16', true, 2, 2, 3, 1, a, 3, new Uint16Array(5), 3, 0, c, 2), /sgemmW16: b has 5 elements, needs 6/);
    assert.throws(() => ref.sgemmW16('bf16', true, 2, 2, 3, 1, a, 3, new Float32Array(6) as unknown as Uint16Array, 3, 0, c, 2), /b must be a Uint16Array/);
    assert.throws(() => ref.sgemmW16('bf16', true, 2, 2, 3, 1, a, 2, new Uint16Array(6), 3, 0, c, 2), /leading dimensions/);
  });
});

describe('native sgemmW16', { skip }, () => {
  const before = { isa: addon?.isa(), w16: addon?.w16Isa(), threads: addon?.getThreads() };
  after(() => {
    if (!addon) return;
    addon.setIsa(before.isa!);
    addon.setW16Isa(before.w16!);
    addon.setThreads(before.threads!);
  });

  test('the widest path this CPU has is the default, and every listed path can be chosen', () => {
    const isas = A().w16Isas();
    assert.equal(A().w16Isa(), isas[0]);
    assert.ok(isas.includes('portable'));
    if (A().cpu.avx512f && isas[0] !== 'avx512bf16') assert.equal(isas[0], 'avx512');
  });

  for (const isa of addon?.w16Isas() ?? []) {
    for (const dtype of ['bf16', 'f16'] as const) {
      const dpbf16 = isa.startsWith('avx512bf16') && dtype === 'bf16';
      // avx512bf16 splits x for x·Wᵀ only; dy·W (the backward) rounds dy once on both bf16 paths.
      const splitFwd = dpbf16 && isa === 'avx512bf16';
      const claim = splitFwd ? 'x·Wᵀ matches the reference to 2⁻¹⁶, dy·W on bf16-rounded dy' : dpbf16 ? 'matches the reference on bf16-rounded x' : 'equals sgemm on the widened weights';
      test(`${isa} ${dtype}: ${claim}, both layouts, alpha/beta, ld > width`, () => {
        A().setW16Isa(isa);
        A().setIsa(isa.startsWith('avx512') ? 'avx512' : isa);
        let seed = 11;
        for (const [m, n, k] of shapes) {
          for (const tb of [true, false]) {
            for (const [alpha, beta, pad] of [[1, 0, 0], [-0.75, 0.5, 3]] as const) {
              const c: Case = { tb, m, n, k, alpha, beta, pad };
              const o = operands(dtype, c, seed++);
              const got = o.c.slice();
              A().sgemmW16(dtype, tb, m, n, k, alpha, o.a, o.lda, o.b, o.ldb, beta, got, o.ldc);
              const wide = ref.widen16(dtype, o.b);
              const what = `${isa} ${dtype} ${JSON.stringify(c)}`;
              const bound = o.c.map(Math.abs);
              ref.sgemm(false, tb, m, n, k, Math.abs(alpha), o.a.map(Math.abs), o.lda, wide.map(Math.abs), o.ldb, Math.abs(beta), bound, o.ldc);
              const sumBound = 2 * (k + 2) * 2 ** -24;
              if (splitFwd && tb) {
                const exact = o.c.slice();
                ref.sgemmW16(dtype, tb, m, n, k, alpha, o.a, o.lda, o.b, o.ldb, beta, exact, o.ldc);
                assertWithin(got, exact, bound, 2 ** -16 + sumBound, `${what} vs the reference`);
              } else if (dpbf16) {
                const want = o.c.slice();
                ref.sgemm(false, tb, m, n, k, alpha, roundBf16(o.a), o.lda, wide, o.ldb, beta, want, o.ldc);
                assertWithin(got, want, bound, sumBound, `${what} vs rounded x`);
                const exact = o.c.slice();
                ref.sgemmW16(dtype, tb, m, n, k, alpha, o.a, o.lda, o.b, o.ldb, beta, exact, o.ldc);
                assertWithin(got, exact, bound, 2 ** -8 + sumBound, `${what} vs the reference`);
              } else if (tb || m > 8) {
                const want = o.c.slice();
                A().sgemm(false, tb, m, n, k, alpha, o.a, o.lda, wide, o.ldb, beta, want, o.ldc);
                assert.deepEqual(got, want, what);
              } else {
                // B stored k × n with m ≤ 8: sgemm has a few-rows kernel of its own; the reference bounds it.
                const want = o.c.slice();
                ref.sgemmW16(dtype, tb, m, n, k, alpha, o.a, o.lda, o.b, o.ldb, beta, want, o.ldc);
                assertWithin(got, want, bound, sumBound, what);
              }
              for (let i = 0; i < m; i++) for (let j = n; j < o.ldc; j++) assert.equal(got[i * o.ldc + j], o.c[i * o.ldc + j], `${what}: wrote C padding`);
            }
          }
        }
      });
    }

    test(`${isa}: bit-identical results for 1, 2 and 3 threads (packed and few-rows products)`, () => {
      A().setW16Isa(isa);
      for (const [m, n, k, tb] of [[300, 200, 520, true], [300, 200, 520, false], [12, 700, 300, true]] as const) {
        const o = operands('bf16', { tb, m, n, k, alpha: 1, beta: 0, pad: 0 }, 5);
        const outs = [1, 2, 3].map((t) => {
          A().setThreads(Math.min(t, 2 * A().availableCores()));
          const c = new Float32Array(m * n);
          A().sgemmW16('bf16', tb, m, n, k, 1, o.a, o.lda, o.b, o.ldb, 0, c, n);
          return c;
        });
        assert.deepEqual(outs[1], outs[0]);
        assert.deepEqual(outs[2], outs[0]);
      }
      A().setThreads(before.threads!);
    });
  }

  test('bad input from JavaScript throws a named error and writes nothing', () => {
    const a = new Float32Array(6), c = new Float32Array(4).fill(3);
    assert.throws(() => A().sgemmW16('fp8' as 'bf16', true, 2, 2, 3, 1, a, 3, new Uint16Array(6), 3, 0, c, 2), /sgemmW16: dtype must be "bf16" or "f16", got "fp8"/);
    assert.throws(() => A().sgemmW16('bf16', true, 2, 2, 3, 1, a, 3, new Uint16Array(5), 3, 0, c, 2), /sgemmW16: b has 5 floats but b stored as 2×3 with ldb=3 needs 6/);
    assert.throws(() => A().sgemmW16('bf16', true, 2, 2, 3, 1, a, 3, new Float32Array(6) as unknown as Uint16Array, 3, 0, c, 2), /sgemmW16: b must be a Uint16Array/);
    const shared = new ArrayBuffer(64);
    assert.throws(() => A().sgemmW16('bf16', true, 2, 2, 3, 1, a, 3, new Uint16Array(shared, 0, 6), 3, 0, new Float32Array(shared, 0, 4), 2), /c overlaps b/);
    assert.throws(() => A().setW16Isa('sse9'), /setW16Isa: "sse9" is not a 16-bit-weight GEMM path this CPU can run; available: .*portable/);
    assert.deepEqual([...c], [3, 3, 3, 3]);
  });

  test('RFT_W16_PATH picks the path at start-up; an unknown one is reported and ignored', () => {
    const probe = (value: string) => spawnSync(process.execPath, ['-e', `import(${JSON.stringify(new URL('./native.js', import.meta.url).href)}).then((m) => { m.loadNative(); console.log(m.rawAddon().w16Isa()); })`], { encoding: 'utf8', env: { ...process.env, RFT_W16_PATH: value } });
    const ok = probe('portable');
    assert.equal(ok.stdout.trim(), 'portable');
    const bad = probe('sse9');
    assert.equal(bad.stdout.trim(), A().w16Isas()[0]);
    assert.match(bad.stderr, /RFT_W16_PATH ignored: setW16Isa: "sse9" is not a 16-bit-weight GEMM path/);
  });

  test('adapt() serves sgemmW16 from the addon', () => {
    assert.equal(adapt(A()).sgemmW16, A().sgemmW16);
  });
});

describe('fusedLinear over a Tensor16 weight', () => {
  test('forward and dx agree with the same product on the widened F32 weight; W gets no gradient', () => {
    const prev = useKernels(referenceKernels); // the exact oracle: identical sums for both forms
    try {
      const r = rand(3);
      const [rows, inF, outF] = [5, 12, 7];
      const bits = bits16('bf16', outF * inF, r);
      const w16 = new Tensor16('bf16', bits, [outF, inF], 'w');
      const w32 = tensor(ref.widen16('bf16', bits), [outF, inF]);
      const xd = floats(rows * inF, r);
      const bias = tensor(floats(outF, r), [outF]);
      const run = (w: Tensor16 | typeof w32) => {
        const x = tensor(xd.slice(), [rows, inF], { requiresGrad: true });
        const y = fusedLinear(x, w, { bias });
        backward(sum(y));
        return { y: y.data.slice(), dx: x.grad!.slice() };
      };
      const a = run(w16);
      const b = run(w32);
      assert.deepEqual(a.y, b.y);
      assert.deepEqual(a.dx, b.dx);
      assert.equal(w16.requiresGrad, false);
    } finally {
      useKernels(prev);
    }
  });

  test('rejects bits that do not fill the shape', () => {
    assert.throws(() => new Tensor16('bf16', new Uint16Array(5), [2, 3]), /bits has 5 elements but shape \[2, 3\] needs 6/);
  });
});
