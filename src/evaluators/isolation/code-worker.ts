/**
 * Worker thread that runs model-written JavaScript against test cases.
 * With `isolated-vm` installed (the default) the code runs in a fresh V8 isolate per task with its
 * own heap limit and a time limit per test: no `process`, `require`, `import`, file system,
 * network, timers or environment exist there. Without it (isolated-vm failed to build) a
 * `node:vm` context is used instead: weaker (a vm context is not a security boundary), which is
 * why this always runs in a worker thread with a heap limit, killed by the pool on timeout.
 *
 * Task `{ code, entry, tests: [{args, expected}], timeoutMs, memoryMb }` →
 * `{ backend, compiled, error?, results: [{ pass, got?, error? }] }`.
 */
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { deepEqual } from './deep-equal.js';
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

/** The call, as source: arguments travel as a JSON string literal, results back as JSON text. */
function callSource(entry: string, args: unknown[]): string {
  return `(() => { const __r = ${entry}(...JSON.parse(${JSON.stringify(JSON.stringify(args))})); return JSON.stringify(__r === undefined ? null : __r); })()`;
}

function judge(test: CodeTest, got: unknown): CodeTestResult {
  if (typeof got !== 'string') return { pass: false, error: 'the function returned a value that is not JSON' };
  const value = JSON.parse(got) as unknown;
  return { pass: deepEqual(value, test.expected), got: got.length > 200 ? got.slice(0, 200) + '…' : got };
}

function shortError(e: unknown): string {
  const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return m.length > 300 ? m.slice(0, 300) + '…' : m;
}

async function runIsolated(ivm: Ivm, task: CodeTask): Promise<CodeOutcome> {
  const iso = new ivm.Isolate({ memoryLimit: Math.max(8, task.memoryMb) });
  try {
    const ctx = await iso.createContext();
    try {
      const script = await iso.compileScript(task.code);
      await script.run(ctx, { timeout: task.timeoutMs });
      const kind = await iso.compileScript(`typeof ${task.entry}`).then((s) => s.run(ctx, { timeout: task.timeoutMs }));
      if (kind !== 'function') return { backend: 'isolated-vm', compiled: false, error: `no function named ${task.entry}`, results: [] };
    } catch (e) {
      return { backend: 'isolated-vm', compiled: false, error: shortError(e), results: [] };
    }
    const results: CodeTestResult[] = [];
    for (const t of task.tests) {
      if (iso.isDisposed) {
        results.push({ pass: false, error: 'the isolate was disposed (memory limit)' });
        continue;
      }
      try {
        const got = await (await iso.compileScript(callSource(task.entry, t.args))).run(ctx, { timeout: task.timeoutMs });
        results.push(judge(t, got));
      } catch (e) {
        results.push({ pass: false, error: shortError(e) });
      }
    }
    return { backend: 'isolated-vm', compiled: true, results };
  } finally {
    if (!iso.isDisposed) iso.dispose();
  }
}

function runNodeVm(task: CodeTask): CodeOutcome {
  // A context with no host objects in it; `microtaskMode` keeps promise jobs inside the timeout.
  const ctx = vm.createContext(Object.create(null), { codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate' });
  const opts = { timeout: task.timeoutMs, breakOnSigint: false };
  try {
    vm.runInContext(task.code, ctx, opts);
    if (vm.runInContext(`typeof ${task.entry}`, ctx, opts) !== 'function') return { backend: 'node:vm', compiled: false, error: `no function named ${task.entry}`, results: [] };
  } catch (e) {
    return { backend: 'node:vm', compiled: false, error: shortError(e), results: [] };
  }
  const results = task.tests.map((t) => {
    try {
      return judge(t, vm.runInContext(callSource(task.entry, t.args), ctx, opts));
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
