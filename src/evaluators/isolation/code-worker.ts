/**
 * Worker thread that runs model-written JavaScript against test cases.
 * With `isolated-vm` installed (the default) the code runs in a fresh V8 isolate per task with its
 * own heap limit and a time limit per test: no `process`, `require`, `import`, file system,
 * network, timers or environment exist there. Without it (isolated-vm failed to build) a
 * `node:vm` context is used instead: weaker (a vm context is not a security boundary), which is
 * why this always runs in a worker thread with a heap limit, killed by the pool on timeout.
 *
 * Results leave the sandbox as a copy the graded code cannot influence and are compared here, in
 * the worker (see runIsolated, runNodeVm and plain-data.ts).
 *
 * Task `{ code, entry, tests: [{args, expected}], timeoutMs, memoryMb }` →
 * `{ backend, compiled, error?, results: [{ pass, got?, error? }] }`.
 */
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { deepEqual } from './deep-equal.js';
import { NotPlainData, toPlainData } from './plain-data.js';
import { serve } from './worker-protocol.js';

export interface CodeTest {
  args: unknown[];
  expected: unknown;
}

export interface CodeTask {
  code: string;
  entry: string;
  tests: CodeTest[];
  timeoutMs: number;
  memoryMb: number;
  /** `auto`: isolated-vm when installed, else node:vm. */
  sandbox: 'auto' | 'isolated-vm' | 'node:vm';
}

export interface CodeTestResult {
  pass: boolean;
  got?: string;
  error?: string;
}

export interface CodeOutcome {
  backend: 'isolated-vm' | 'node:vm';
  compiled: boolean;
  error?: string;
  results: CodeTestResult[];
}

type Ivm = typeof import('isolated-vm');
let ivm: Ivm | undefined;
try {
  ivm = createRequire(import.meta.url)('isolated-vm') as Ivm;
} catch {
  ivm = undefined;
}

function judge(test: CodeTest, got: unknown): CodeTestResult {
  // `got` is a copy this realm made (see plain-data.ts); nothing of the graded code runs from here on.
  let value: unknown;
  try {
    value = toPlainData(got);
  } catch (e) {
    if (e instanceof NotPlainData) return { pass: false, error: `the function returned something that is not JSON data: ${e.message}` };
    throw e;
  }
  const text = JSON.stringify(value);
  return { pass: deepEqual(value, test.expected), got: text.length > 200 ? text.slice(0, 200) + '…' : text };
}

function shortError(e: unknown): string {
  const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return m.length > 300 ? m.slice(0, 300) + '…' : m;
}

/**
 * isolated-vm: the entry point is called through a Reference with its arguments copied in and
 * its result copied out by isolated-vm's ExternalCopy (V8's structured clone, in C++), so no
 * script of the isolate — where the code may have replaced JSON, prototypes or anything else —
 * takes part in moving or comparing the result. The clone runs the result's getters, outside
 * the call's time limit; a watchdog disposes of the isolate if the copy outlasts it.
 */
async function runIsolated(ivm: Ivm, task: CodeTask): Promise<CodeOutcome> {
  const iso = new ivm.Isolate({ memoryLimit: Math.max(8, task.memoryMb) });
  try {
    const ctx = await iso.createContext();
    let fn: import('isolated-vm').Reference<unknown>;
    try {
      const script = await iso.compileScript(task.code);
      await script.run(ctx, { timeout: task.timeoutMs });
      const kind = await iso.compileScript(`typeof ${task.entry}`).then((s) => s.run(ctx, { timeout: task.timeoutMs }));
      if (kind !== 'function') return { backend: 'isolated-vm', compiled: false, error: `no function named ${task.entry}`, results: [] };
      fn = await (await iso.compileScript(task.entry)).run(ctx, { timeout: task.timeoutMs, reference: true });
      if (fn.typeof !== 'function') return { backend: 'isolated-vm', compiled: false, error: `${task.entry} is not a function`, results: [] };
    } catch (e) {
      return { backend: 'isolated-vm', compiled: false, error: shortError(e), results: [] };
    }
    const results: CodeTestResult[] = [];
    for (const t of task.tests) {
      if (iso.isDisposed) {
        results.push({ pass: false, error: 'the isolate was disposed (memory or time limit)' });
        continue;
      }
      const watchdog = setTimeout(() => iso.isDisposed || iso.dispose(), task.timeoutMs + 100);
      try {
        const got = await fn.apply(undefined, t.args, { arguments: { copy: true }, result: { copy: true }, timeout: task.timeoutMs });
        results.push(judge(t, got));
      } catch (e) {
        if (iso.isDisposed) results.push({ pass: false, error: 'the call or copying its result out went past the time limit (or the memory limit)' });
        else if (/could not be cloned/.test(String((e as Error | undefined)?.message))) results.push({ pass: false, error: `the function returned something that is not JSON data: ${shortError(e)}` });
        else results.push({ pass: false, error: shortError(e) });
      } finally {
        clearTimeout(watchdog);
      }
    }
    return { backend: 'isolated-vm', compiled: true, results };
  } finally {
    if (!iso.isDisposed) iso.dispose();
  }
}

/**
 * The call into a node:vm context. Installed before the graded code runs, as a global the code
 * can neither reassign, delete nor shadow (non-writable and non-configurable: a later `let`,
 * `var` or `function` of that name is an error), with the context's JSON.parse and Reflect.apply
 * captured in its closure. Arguments are parsed inside the context, so no object of this realm
 * (whose constructors would lead out) is handed to the code.
 */
const CALL = '__rftCall';
const INSTALL_CALL = `Object.defineProperty(globalThis, ${JSON.stringify(CALL)}, {
  value: ((apply, parse) => (fn, json) => apply(fn, undefined, apply(parse, undefined, [json])))(Reflect.apply, JSON.parse),
  writable: false, configurable: false, enumerable: false,
});`;

function runNodeVm(task: CodeTask): CodeOutcome {
  // A context with no host objects in it; `microtaskMode` keeps promise jobs inside the timeout.
  const ctx = vm.createContext(Object.create(null), { codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate' });
  const opts = { timeout: task.timeoutMs, breakOnSigint: false };
  try {
    vm.runInContext(INSTALL_CALL, ctx, opts);
    vm.runInContext(task.code, ctx, opts);
    if (vm.runInContext(`typeof ${task.entry}`, ctx, opts) !== 'function') return { backend: 'node:vm', compiled: false, error: `no function named ${task.entry}`, results: [] };
  } catch (e) {
    return { backend: 'node:vm', compiled: false, error: shortError(e), results: [] };
  }
  const results = task.tests.map((t) => {
    try {
      // The result stays a live object of the context; judge() copies it with this realm's intrinsics.
      return judge(t, vm.runInContext(`${CALL}(${task.entry}, ${JSON.stringify(JSON.stringify(t.args))})`, ctx, opts));
    } catch (e) {
      return { pass: false, error: shortError(e) };
    }
  });
  return { backend: 'node:vm', compiled: true, results };
}

serve(async (task: CodeTask) => {
  if (!/^[A-Za-z_$][\w$]*$/.test(task.entry)) throw new Error(`entry point ${JSON.stringify(task.entry)} is not a function name`);
  if (task.sandbox === 'isolated-vm' && !ivm) throw new Error('isolated-vm is not installed (it failed to build?); use "sandbox": "auto" or "node:vm"');
  return ivm && task.sandbox !== 'node:vm' ? runIsolated(ivm, task) : runNodeVm(task);
});
