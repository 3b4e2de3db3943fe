/**
 * Picks the kernel implementation once per process: the native addon when it loads, the
 * pure-TypeScript reference otherwise (said once on stderr). RFT_ENGINE=reference forces
 * the reference (tests use it to compare the two); RFT_THREADS sets the native thread count.
 */
import type { Kernels } from './kernels.js';
import { referenceKernels } from './reference/index.js';
import { loadNative } from './native.js';

let active: Kernels | undefined;
let nativeLoadError: string | undefined;

/** The native kernels, or null (with the reason in nativeError()) when the addon cannot load. */
export function nativeKernels(): Kernels | null {
  const r = loadNative();
  if ('error' in r) {
    nativeLoadError = r.error;
    return null;
  }
  return r.kernels;
}

export function nativeError(): string | undefined {
  return nativeLoadError;
}

/** The kernels every op runs on. */
export function kernels(): Kernels {
  if (active) return active;
  if (process.env.RFT_ENGINE === 'reference') {
    active = referenceKernels;
    return active;
  }
  const n = nativeKernels();
  if (n) {
    active = n;
  } else {
    process.stderr.write(
      `[rft] native engine unavailable (${nativeLoadError}); running on the TypeScript reference kernels, which are much slower.\n` +
        `[rft] rebuild it with: npm run rebuild:native\n`,
    );
    active = referenceKernels;
  }
  return active;
}

/** Replace the active kernels (tests); returns the previous ones. */
export function useKernels(k: Kernels): Kernels {
  const prev = kernels();
  active = k;
  return prev;
}
