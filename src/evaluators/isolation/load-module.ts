/**
 * Loading a user's evaluator module by path: `.js`/`.mjs`/`.cjs` through `import()`, `.ts`/`.mts`/
 * `.cts` through tsx's `tsImport` (works on Node 20, which has no type stripping). The module's
 * default export is an `Evaluator` (`defineEvaluator(...)`) or a function `(rollout) => result`;
 * a named export `evaluate` works too. `importUserModule` is the loading part alone (agent modules use it).
 */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Evaluator } from '../../contracts/evaluation.js';

export const MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

export async function importEvaluatorModule(path: string): Promise<Evaluator> {
  const { mod, abs } = await importUserModule(path, 'evaluator module');
  return asEvaluator(mod, abs);
}

/** Imports a user's module (`what` names it in errors: "evaluator module", "agent module"); `.ts` through tsx. */
export async function importUserModule(path: string, what: string): Promise<{ mod: Record<string, unknown>; abs: string }> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new Error(`${what} ${abs} does not exist`);
  const ext = extname(abs).toLowerCase();
  if (!MODULE_EXTENSIONS.includes(ext)) throw new Error(`${what} ${abs}: expected one of ${MODULE_EXTENSIONS.join(' ')}`);
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
    const { tsImport } = await import('tsx/esm/api');
    return { mod: (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>, abs };
  }
  return { mod: (await import(pathToFileURL(abs).href)) as Record<string, unknown>, abs };
}

function asEvaluator(mod: Record<string, unknown>, path: string): Evaluator {
  let d: unknown = mod.default ?? mod;
  // CommonJS / transpiled interop may nest the default export once more.
  if (d && typeof d === 'object' && 'default' in d && !('evaluate' in d)) d = (d as { default: unknown }).default;
  const fallbackName = path.split(/[\\/]/).pop()!.replace(/\.[^.]+$/, '');
  if (typeof d === 'function') return { name: (d as { name?: string }).name || fallbackName, evaluate: d as Evaluator['evaluate'] };
  if (d && typeof d === 'object' && typeof (d as Evaluator).evaluate === 'function') {
    const e = d as Evaluator;
    return { name: typeof e.name === 'string' && e.name ? e.name : fallbackName, evaluate: e.evaluate.bind(e) };
  }
  if (typeof mod.evaluate === 'function') return { name: fallbackName, evaluate: mod.evaluate as Evaluator['evaluate'] };
  throw new Error(`evaluator module ${path} must export default an evaluator (defineEvaluator({...})) or a function (rollout) => result`);
}
