/**
 * Loads the N-API addon (build/Release/rft_native.node) and adapts it to the Kernels contract.
 * Argument checking that would otherwise crash the process (lengths, dtypes) happens here or in C++.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Kernels } from './kernels.js';

/** Package root: dist/src/engine/native.js → three levels up. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let cached: { kernels: Kernels } | { error: string } | undefined;

export function addonPath(): string {
  return join(packageRoot, 'build', 'Release', 'rft_native.node');
}

/** The raw addon module (untyped); throws when it cannot load. */
export function rawAddon(): any {
  const p = addonPath();
  if (!existsSync(p)) throw new Error(`${p} not found`);
  return createRequire(import.meta.url)(p);
}

export function loadNative(): { kernels: Kernels } | { error: string } {
  if (cached) return cached;
  try {
    const addon = rawAddon();
    cached = { kernels: adapt(addon) };
  } catch (e) {
    cached = { error: (e as Error).message };
  }
  return cached;
}

function adapt(addon: any): Kernels {
  void addon;
  throw new Error('native kernels are not wired yet');
}
