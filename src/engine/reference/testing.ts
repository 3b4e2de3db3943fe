/**
 * Test support for the kernels: a seeded generator, random buffers, and the float64 central
 * finite-difference check every reference backward goes through.
 */
import assert from 'node:assert/strict';

/** Mulberry32: small, fast, seeded; enough for test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [lo, hi). */
export function uniform64(rand: () => number, n: number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

export function ints(rand: () => number, n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(rand() * (hi - lo));
  return a;
}

/**
 * Checks an analytic gradient against central finite differences in float64.
 * `loss(inputs)` is a scalar function of the named inputs (built from a kernel's forward with
 * fixed random output weights); `grads` are the backward's results for the same inputs.
 * Each input is perturbed at up to `samples` positions (all when smaller).
 */
export function gradCheck(
  op: string, inputs: Record<string, Float64Array>, loss: () => number,
  grads: Record<string, Float64Array>, { h = 1e-5, tol = 1e-6, samples = 24, seed = 7 } = {},
): void {
  const rand = rng(seed);
  for (const [name, g] of Object.entries(grads)) {
    const x = inputs[name];
    assert.ok(x, `${op}: no input named ${name}`);
    const idx = x.length <= samples ? [...x.keys()] : Array.from({ length: samples }, () => Math.floor(rand() * x.length));
    for (const i of idx) {
      const keep = x[i];
      x[i] = keep + h;
      const up = loss();
      x[i] = keep - h;
      const down = loss();
      x[i] = keep;
      const fd = (up - down) / (2 * h);
      const err = Math.abs(fd - g[i]) / Math.max(1, Math.abs(fd));
      assert.ok(err < tol, `${op}: d/d${name}[${i}] analytic ${g[i]} vs finite difference ${fd}`);
    }
  }
}

/** Σ w ⊙ y — the scalar whose gradient with respect to y is w. */
export function dot(w: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * y[i];
  return s;
}
