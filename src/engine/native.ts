/**
 * Loads the N-API addon (build/Release/rft_native.node) and adapts it to the Kernels contract.
 * Every Kernels method the addon exports is used as is (the addon checks its own arguments, so a
 * bad call throws a JS error naming the op rather than crashing); a method the addon does not
 * export yet runs on the TypeScript reference, so native kernels can land one at a time.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Kernels } from './kernels.js';
import { referenceKernels } from './reference/index.js';

/** Package root: dist/src/engine/native.js → three levels up. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The native-only controls the addon exports beside the Kernels functions. */
export interface NativeAddon {
  abiVersion: number;
  cpu: { avx512f: boolean; avx2: boolean; fma: boolean };
  getThreads(): number;
  setThreads(n: number): void;
  availableCores(): number;
  /** The GEMM path in use: "avx512", "avx2" or "portable". */
  isa(): string;
  /** GEMM paths this CPU can run, widest first. */
  isas(): string[];
  /** Forces a GEMM path (tests, benchmarks); throws a RangeError when this CPU cannot run it. */
  setIsa(name: string): void;
  /**
   * Measured GFLOP/s of independent FMA chains on `threads` threads (widest ISA), by the wall
   * clock or, with cpuTime, by each thread's own CPU time (summed).
   */
  fmaPeak(threads: number, cpuTime?: boolean): number;
  /** Measured sequential read bandwidth of main memory (GB/s) on `threads` threads over a buffer of `megabytes`. */
  readBandwidth(threads: number, megabytes: number): number;
  /** The 16-bit-weight GEMM path in use: "avx512bf16", "avx512bf16-round", "avx512", "avx2" or "portable". */
  w16Isa(): string;
  /** 16-bit-weight GEMM paths this CPU can run, widest first. */
  w16Isas(): string[];
  /** Forces a 16-bit-weight GEMM path; throws a RangeError when this CPU cannot run it. */
  setW16Isa(name: string): void;
  sgemm: Kernels['sgemm'];
  sgemmBatched: Kernels['sgemmBatched'];
  sgemmW16: Kernels['sgemmW16'];
  [name: string]: unknown;
}

/**
 * Every Kernels method, by name. Typed as a Record over the contract's keys so that adding a
 * method to Kernels without listing it here is a compile error.
 */
const kernelMethods: Record<Exclude<keyof Kernels, 'name'>, true> = {
  getThreads: true, setThreads: true, sgemm: true, sgemmBatched: true, sgemmW16: true,
  rmsnormForward: true, rmsnormBackward: true, rope: true, swigluForward: true, swigluBackward: true,
  attentionForward: true, attentionBackward: true, softmaxForward: true, softmaxBackward: true,
  logSoftmaxForward: true, logSoftmaxBackward: true, tokenLogprobsForward: true, tokenLogprobsBackward: true,
  entropy: true, embeddingForward: true, embeddingBackward: true, adamw: true,
};

let cached: { kernels: Kernels } | { error: string } | undefined;

export function addonPath(): string {
  return join(packageRoot, 'build', 'Release', 'rft_native.node');
}

/** The raw addon module; throws when it cannot load. */
export function rawAddon(): NativeAddon {
  const p = addonPath();
  if (!existsSync(p)) throw new Error(`${p} not found`);
  return createRequire(import.meta.url)(p) as NativeAddon;
}

export function loadNative(): { kernels: Kernels } | { error: string } {
  if (cached) return cached;
  try {
    const addon = rawAddon();
    warnOnBadThreadsEnv();
    applyW16PathEnv(addon);
    cached = { kernels: adapt(addon) };
  } catch (e) {
    cached = { error: (e as Error).message };
  }
  return cached;
}

/** The native ops the addon exports, and the ones still served by the reference. */
export function nativeCoverage(addon: NativeAddon): { native: string[]; reference: string[] } {
  const names = Object.keys(kernelMethods);
  return {
    native: names.filter((n) => typeof addon[n] === 'function'),
    reference: names.filter((n) => typeof addon[n] !== 'function'),
  };
}

/** Kernels over the addon: its own functions where it has them, the reference elsewhere. */
export function adapt(addon: NativeAddon): Kernels {
  if (addon.abiVersion !== 1) throw new Error(`addon ABI ${addon.abiVersion}, expected 1 (run: npm run rebuild:native)`);
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(kernelMethods)) {
    const fn = addon[name];
    out[name] = typeof fn === 'function' ? fn : (referenceKernels as unknown as Record<string, unknown>)[name];
  }
  Object.defineProperty(out, 'name', { get: () => `native-${addon.isa()}`, enumerable: true });
  return out as unknown as Kernels;
}

/**
 * RFT_W16_PATH=NAME picks the 16-bit-weight GEMM path at start-up (as setW16Isa): e.g.
 * "avx512bf16-round" for the faster single-rounding kernels, whose sampled and teacher-forced
 * log-probs differ by ~1e-3 (see README). An unknown or unsupported name is said once and ignored.
 */
function applyW16PathEnv(addon: NativeAddon): void {
  const v = process.env.RFT_W16_PATH;
  if (v === undefined || v === '' || typeof addon.setW16Isa !== 'function') return;
  try {
    addon.setW16Isa(v);
  } catch (e) {
    process.stderr.write(`[rft] RFT_W16_PATH ignored: ${(e as Error).message}\n`);
  }
}

let warnedThreads = false;
/** RFT_THREADS that is not a positive integer is ignored by the addon; say so once. */
function warnOnBadThreadsEnv(): void {
  const v = process.env.RFT_THREADS;
  if (warnedThreads || v === undefined || v === '' || /^[1-9][0-9]*$/.test(v)) return;
  warnedThreads = true;
  process.stderr.write(`[rft] RFT_THREADS=${JSON.stringify(v)} is not a positive integer; using one thread per core.\n`);
}
