/**
 * The one test helper every op goes through.
 *
 * Precision choice: the op is first run entirely in float64 — tensors carry Float64Array data
 * (withFloat64) and the reference kernels compute in the precision of their arguments — so the
 * central finite differences (step 1e-5) are accurate to ~1e-9 and the analytic backward can be
 * held to a tight tolerance. A float32 finite difference would need a large step and loose
 * tolerances that let real bugs (a missing term of size 1e-3) through.
 * Then the op runs again in float32 on the active kernels (native when loaded, else reference),
 * and its output and gradients are compared with the float64 results: that checks the kernels
 * the engine really uses, and the float32 plumbing (pooled buffers, accumulation).
 *
 * The scalar differentiated is L = Σ w ⊙ fn(inputs) with fixed random weights w, so every output
 * element's gradient path is exercised. Inputs with requiresGrad false ("frozen") must come out
 * of backward with no gradient buffer.
 */
import assert from 'node:assert/strict';
import { Tensor } from './tensor.js';
import { backward, noGrad, scope } from './tape.js';
import { withFloat64 } from './pool.js';
import { kernels, useKernels } from './backend.js';
import { referenceKernels } from './reference/index.js';
import { Rng } from './rng.js';
import { fmt } from './shape.js';

export interface GradcheckOptions {
  /** Finite-difference step (float64). */
  h?: number;
  /** Allowed |analytic − numeric| / (1 + |numeric|) in float64. */
  tol?: number;
  /** Allowed |float32 − float64| / (1 + |float64|) for outputs and gradients. */
  tol32?: number;
  /** Perturb at most this many elements per input (random subset when larger). */
  samples?: number;
  seed?: number;
}

export interface GradcheckReport {
  /** Largest float64 analytic-vs-numeric error seen. */
  maxError64: number;
  /** Largest float32-vs-float64 error seen (outputs and gradients). */
  maxError32: number;
  /** Kernel implementation used for the float32 pass. */
  kernels: string;
}

/**
 * Check fn's forward (float32 vs float64) and backward (vs float64 finite differences) at inputs.
 * inputs are leaf tensors; their requiresGrad flags say which gradients to check.
 * @example gradcheck('mul', (a, b) => mul(a, b), [randn([3, 4], rng, { requiresGrad: true }), randn([4], rng)]);
 */
export function gradcheck(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts?: GradcheckOptions): GradcheckReport {
  const h = opts?.h ?? 1e-5;
  const tol = opts?.tol ?? 1e-6;
  const tol32 = opts?.tol32 ?? 2e-4;
  const samples = opts?.samples ?? 64;
  const rng = new Rng(opts?.seed ?? 1234);
  let maxError64 = 0;
  let maxError32 = 0;

  // Float64 pass on the reference kernels.
  const prev = useKernels(referenceKernels);
  let out64: Float64Array;
  let w: Float32Array;
  const x64 = inputs.map((t) => leafCopy(t, true));
  try {
    withFloat64(() => {
      const y = fn(...x64);
      out64 = Float64Array.from(y.data);
      // Weights exactly representable in float32, so both passes differentiate the same L.
      w = new Float32Array(y.size);
      for (let i = 0; i < w.length; i++) w[i] = rng.uniform() * 2 - 1;
      assert.ok(y.requiresGrad, `${name}: output does not require a gradient (no input has requiresGrad?)`);
      backward(y, new Float64Array(w) as unknown as Float32Array);
      const lossAt = (): number => noGrad(() => scope(() => dot(w, fn(...x64).data)));
      x64.forEach((x, k) => {
        if (!x.requiresGrad) {
          assert.equal(x.grad, null, `${name}: frozen input ${k} ${fmt(x.shape)} received a gradient`);
          return;
        }
        assert.ok(x.grad, `${name}: input ${k} ${fmt(x.shape)} received no gradient`);
        const xd = x.data;
        const idx = xd.length <= samples ? [...xd.keys()] : Array.from({ length: samples }, () => rng.int(xd.length));
        for (const i of idx) {
          const keep = xd[i];
          xd[i] = keep + h;
          const up = lossAt();
          xd[i] = keep - h;
          const down = lossAt();
          xd[i] = keep;
          const numeric = (up - down) / (2 * h);
          const analytic = x.grad![i];
          const err = Math.abs(analytic - numeric) / (1 + Math.abs(numeric));
          maxError64 = Math.max(maxError64, err);
          assert.ok(err <= tol, `${name}: d/dinput${k}[${i}] of ${fmt(x.shape)}: backward gives ${analytic}, float64 finite difference ${numeric}`);
        }
      });
    });
  } finally {
    useKernels(prev);
  }

  // Float32 pass on the active kernels, against the float64 results.
  const active = kernels().name;
  const x32 = inputs.map((t) => leafCopy(t, false));
  scope(() => {
    const y = fn(...x32);
    assert.equal(y.size, out64!.length, `${name}: float32 and float64 outputs differ in size`);
    const yd = y.data;
    for (let i = 0; i < yd.length; i++) {
      const err = Math.abs(yd[i] - out64![i]) / (1 + Math.abs(out64![i]));
      maxError32 = Math.max(maxError32, err);
      assert.ok(err <= tol32, `${name} on ${active}: output[${i}] is ${yd[i]} in float32, ${out64![i]} in float64`);
    }
    backward(y, w!);
  });
  x32.forEach((x, k) => {
    const ref = x64[k].grad;
    if (!ref) {
      assert.equal(x.grad, null, `${name} on ${active}: frozen input ${k} received a gradient`);
      return;
    }
    assert.ok(x.grad, `${name} on ${active}: input ${k} received no gradient`);
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(x.grad![i] - ref[i]) / (1 + Math.abs(ref[i]));
      maxError32 = Math.max(maxError32, err);
      assert.ok(err <= tol32, `${name} on ${active}: gradient of input ${k}[${i}] is ${x.grad![i]} in float32, ${ref[i]} in float64`);
    }
  });
  return { maxError64, maxError32, kernels: active };
}

/** A fresh leaf with t's values (float64 or float32) and requiresGrad. */
function leafCopy(t: Tensor, f64: boolean): Tensor {
  const d = f64 ? (Float64Array.from(t.data) as unknown as Float32Array) : Float32Array.from(t.data);
  return new Tensor(d, t.shape, t.requiresGrad);
}

function dot(w: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * y[i];
  return s;
}
