/**
 * `code`: a model-written JavaScript function run against test cases, in a sandbox (see
 * isolation/code-worker.ts: an isolated-vm isolate inside a worker thread; no file system,
 * network, `process`, `require` or environment; heap and time limits). Score = fraction of tests
 * passed. Tests come from the option `tests` or the row's ground_truth
 * `{"entry_point": "name", "tests": [{"args": [...], "expected": ...}]}`; the entry point defaults
 * to the first `function NAME` in the code. The code is the last ```js / ```javascript fence, else
 * the whole output. Metrics: `compiles`, `tests_passed`, `test.I` for each test (first 20).
 */
import type { EvaluationResult, Evaluator, MetricResult } from '../../contracts/evaluation.js';
import type { CodeOutcome, CodeTask, CodeTest } from '../isolation/code-worker.js';
import { WorkerPool } from '../isolation/pool.js';
import { describeValue, type Options } from '../spec/issues.js';
import { lastFenced } from '../text/extract.js';
import { round } from './common.js';

export interface CodeOptions {
  entry_point?: string;
  tests?: CodeTest[];
  /** Per test, ms (default 1000). */
  timeout_ms?: number;
  /** Isolate heap, MiB (default 32). */
  memory_mb?: number;
  sandbox?: CodeTask['sandbox'];
  workers?: number;
}

export function extractCode(output: string): string {
  return (lastFenced(output, ['js', 'javascript', 'mjs', 'node']) ?? output).trim();
}

function readTests(v: unknown): CodeTest[] | string {
  if (!Array.isArray(v) || v.length === 0) return 'tests must be a non-empty array of {"args": [...], "expected": ...}';
  for (const [i, t] of v.entries()) {
    if (!t || typeof t !== 'object' || !Array.isArray((t as CodeTest).args) || !('expected' in t)) return `tests[${i}] must be {"args": [...], "expected": ...}`;
  }
  return v as CodeTest[];
}

export function codeEvaluator(opts: CodeOptions = {}): Evaluator & { close(): Promise<void> } {
  const timeoutMs = opts.timeout_ms ?? 1000;
  const memoryMb = opts.memory_mb ?? 32;
  let pool: WorkerPool<CodeTask, CodeOutcome> | undefined;
  const getPool = () =>
    (pool ??= new WorkerPool<CodeTask, CodeOutcome>({
      kind: 'thread',
      script: new URL('../isolation/code-worker.js', import.meta.url),
      size: opts.workers ?? 2,
      // The worker's own heap also holds the isolate's copy-outs; leave room above the isolate's.
      memoryMb: Math.max(64, memoryMb * 2 + 32),
    }));
  return {
    name: 'code',
    evaluate: async ({ row, output }): Promise<EvaluationResult> => {
      const gt = (row.ground_truth ?? {}) as { entry_point?: unknown; tests?: unknown };
      const tests = readTests(opts.tests ?? gt.tests);
      if (typeof tests === 'string') return { score: 0, valid: false, reason: `ground_truth.${tests}` };
      const code = extractCode(output);
      const entry = opts.entry_point ?? (typeof gt.entry_point === 'string' ? gt.entry_point : undefined) ?? /\bfunction\s+([A-Za-z_$][\w$]*)/.exec(code)?.[1];
      const none = { compiles: { score: 0 }, tests_passed: { score: 0 } };
      if (!entry) return { score: 0, valid: true, reason: 'no function found in the output (and no entry_point given)', metrics: none };
      // The whole task gets every test's time limit plus start-up slack; past that the worker is killed.
      const out = await getPool().run(
        { code, entry, tests, timeoutMs, memoryMb, sandbox: opts.sandbox ?? 'auto' },
        timeoutMs * (tests.length + 1) + 5000,
      );
      if (!out.ok) {
        if (out.cause === 'closed') return { score: 0, valid: false, reason: out.error };
        // The code itself brought the sandbox down (a timeout, or memory beyond the worker's limit).
        return { score: 0, valid: true, reason: `the code could not be run: ${out.error}`, metrics: none };
      }
      const r = out.value;
      if (!r.compiled) return { score: 0, valid: true, reason: `the code does not run: ${r.error}`, metrics: none };
      const passed = r.results.filter((t) => t.pass).length;
      const metrics: Record<string, MetricResult> = { compiles: { score: 1 }, tests_passed: { score: round(passed / tests.length) } };
      r.results.slice(0, 20).forEach((t, i) => {
        metrics[`test.${i}`] = t.pass ? { score: 1 } : { score: 0, reason: t.error ?? `got ${t.got}` };
      });
      const firstFail = r.results.findIndex((t) => !t.pass);
      return {
        score: round(passed / tests.length),
        valid: true,
        reason: `${passed}/${tests.length} tests passed` + (firstFail >= 0 ? `; test ${firstFail}: ${r.results[firstFail]!.error ?? `got ${r.results[firstFail]!.got}`}` : ''),
        metrics,
      };
    },
    close: async () => {
      await pool?.close();
      pool = undefined;
    },
  };
}

export function parseCode(o: Options): CodeOptions {
  const tests = o.raw('tests');
  let parsedTests: CodeTest[] | undefined;
  if (tests !== undefined) {
    const t = readTests(tests);
    if (typeof t === 'string') o.issues.add(o.at('tests'), `${t.replace(/^tests/, 'must be').replace(/^must be must be/, 'must be')}; got ${describeValue(tests)}`);
    else parsedTests = t;
  }
  const entry = o.string('entry_point');
  if (entry !== undefined && !/^[A-Za-z_$][\w$]*$/.test(entry)) o.issues.add(o.at('entry_point'), 'must be a JavaScript function name');
  return {
    entry_point: entry,
    tests: parsedTests,
    timeout_ms: o.number('timeout_ms', { min: 1 }),
    memory_mb: o.number('memory_mb', { min: 8, max: 4096 }),
    sandbox: o.oneOf('sandbox', ['auto', 'isolated-vm', 'node:vm'] as const),
    workers: o.number('workers', { min: 1, max: 64, integer: true }),
  };
}
