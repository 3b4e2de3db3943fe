/**
 * Test support shared by every kernel test: the native kernels as a Kernels object (the addon's
 * functions, reference for any it lacks — see native.ts), and the one helper through which every
 * native kernel is compared with its reference.
 */
import assert from 'node:assert/strict';
import type { Kernels } from './kernels.js';
import { referenceKernels } from './reference/index.js';
import { nativeKernels } from './backend.js';
import { rawAddon } from './native.js';

export type KernelName = Exclude<keyof Kernels, 'name' | 'getThreads' | 'setThreads'>;

let cached: { kernels: Kernels; addon: any } | null | undefined;

/** The native kernels (the engine's adapter over the addon) and the raw addon, or null when it does not load. */
export function nativeWithFallback(): { kernels: Kernels; addon: any } | null {
  if (cached !== undefined) return cached;
  const kernels = nativeKernels();
  cached = kernels ? { kernels, addon: rawAddon() } : null;
  return cached;
}

/** Tests' name for nativeWithFallback. */
export const nativeForTests = (): { kernels: Kernels; addon: any } | null => nativeWithFallback();

/** Instruction sets the fused kernels can run on here, best first (native only). */
export function availableIsas(addon: any): string[] {
  if (typeof addon.fusedIsa !== 'function') return [];
  const best = addon.fusedIsa();
  const all = ['avx512', 'avx2', 'portable'];
  return all.slice(all.indexOf(best));
}

type Arg = Float32Array | Int32Array | number | boolean | null;

function clone(a: Arg): Arg {
  return a instanceof Float32Array ? a.slice() : a instanceof Int32Array ? a.slice() : a;
}

export interface CompareOptions {
  /** Indices of the arguments the kernel writes (compared); every other array must stay unchanged. */
  outputs: number[];
  rtol?: number;
  atol?: number;
  /** Arguments that must alias each other in every run (e.g. [[0, 1]] for in-place rope). */
  alias?: [number, number][];
  /** Names the implementation in failure messages (default: native.name). */
  implementation?: string;
}

/**
 * Runs `kernel` on copies of `args` with the reference and twice with `native`, then checks that
 * the native outputs match the reference within |n − r| ≤ atol + rtol·|r| (equal infinities, and NaN
 * with NaN, count as equal), that the two native runs agree bit for bit (determinism), and that the native kernel left
 * its input arrays untouched.
 */
export function compareWithReference(native: Kernels, kernel: KernelName, args: Arg[], opts: CompareOptions): void {
  const { outputs, rtol = 1e-5, atol = 1e-6, alias = [], implementation = native.name } = opts;
  const run = (k: Kernels): Arg[] => {
    const a = args.map(clone);
    for (const [from, to] of alias) a[to] = a[from];
    (k[kernel] as (...x: Arg[]) => void)(...a);
    return a;
  };
  const ref = run(referenceKernels);
  const n1 = run(native);
  const n2 = run(native);
  const label = `${implementation}.${kernel}`;
  for (let i = 0; i < args.length; i++) {
    const a = n1[i];
    if (!(a instanceof Float32Array)) continue;
    const b = n2[i] as Float32Array;
    if (!outputs.includes(i)) {
      if (alias.some(([, to]) => to === i)) continue;
      assert.ok(equalBits(a, args[i] as Float32Array), `${label}: input argument ${i} was modified`);
      continue;
    }
    assert.ok(equalBits(a, b), `${label}: two runs on the same input differ in argument ${i}`);
    const r = ref[i] as Float32Array;
    for (let j = 0; j < r.length; j++) {
      const x: number = a[j], y: number = r[j];
      if (Object.is(x, y)) continue; // also NaN = NaN, ±∞ = ±∞
      const err = Math.abs(x - y);
      if (!(err <= atol + rtol * Math.abs(y))) {
        assert.fail(`${label}: argument ${i}[${j}] is ${x}, reference ${y} (|diff| ${err.toExponential(2)} > ${atol} + ${rtol}·|ref|)`);
      }
    }
  }
}

function equalBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
