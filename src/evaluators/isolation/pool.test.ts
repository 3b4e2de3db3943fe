import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineEvaluator } from '../define.js';
import { rollout } from '../test-helpers.js';
import { EvaluatorPool, runEvaluations } from './evaluator-pool.js';

// User modules written to a temp directory, the way a user would write them.
let dir: string;
const defineUrl = new URL('../define.js', import.meta.url).href;
const mod = (name: string, body: string) => {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
};
let pool: EvaluatorPool;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rft-pool-'));
  pool = new EvaluatorPool({ size: 2, timeoutMs: 1000, memoryMb: 64 });
});
after(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a .js module (defineEvaluator, async) and a .ts module (typed, plain function) both run in the pool', async () => {
  const js = await pool.load(mod('len.mjs', `
    import { defineEvaluator } from '${defineUrl}';
    export default defineEvaluator({ name: 'short', evaluate: async ({ output }) => ({ score: output.length <= 5 ? 1 : 0, valid: true, reason: 'len ' + output.length }) });
  `));
  assert.equal(js.name, 'short');
  assert.deepEqual(await js.evaluate(rollout('abc')), { score: 1, valid: true, reason: 'len 3' });
  const ts = await pool.load(mod('gt.ts', `
    import type { Rollout, EvaluationResult } from '${fileURLToPath(new URL('../../contracts/evaluation.js', import.meta.url))}';
    interface Truth { answer: string }
    export default function matches(r: Rollout): EvaluationResult {
      const t = r.row.ground_truth as Truth;
      const ok: boolean = r.output.trim() === t.answer;
      return { score: ok ? 1 : 0, valid: true, metrics: { exact: { score: ok ? 1 : 0 } } };
    }
  `));
  assert.equal(ts.name, 'matches');
  assert.deepEqual(await ts.evaluate(rollout(' 42 ', { answer: '42' })), { score: 1, valid: true, metrics: { exact: { score: 1 } } });
});

test('a module that throws, hangs, loops, exhausts memory, exits or returns garbage yields valid:false, and the pool goes on', async () => {
  const cases: [string, string, RegExp][] = [
    ['throws.mjs', `export default () => { throw new Error('bad evaluator'); }`, /bad evaluator/],
    ['rejects.mjs', `export default async () => { throw new RangeError('async bad'); }`, /async bad/],
    ['hangs.mjs', `export default () => new Promise(() => {})`, /timed out after 1000 ms/],
    ['loops.mjs', `export default () => { for (;;) {} }`, /timed out/],
    ['oom.mjs', `export default () => { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }`, /crashed: out of memory|timed out/],
    ['exits.mjs', `export default () => { process.exit(3); }`, /crashed/],
    ['garbage.mjs', `export default () => ({ score: '1' })`, /malformed evaluation result: score must be a finite number/],
    ['nan.mjs', `export default () => ({ score: NaN, valid: true })`, /malformed/],
    ['fn.mjs', `export default () => ({ score: 1, valid: true, extra: () => 1 })`, /could not be sent back/],
  ];
  const ok = await pool.load(mod('ok.mjs', `export default () => ({ score: 1, valid: true })`));
  for (const [name, body, re] of cases) {
    const ev = await pool.load(mod(name, body));
    const r = await ev.evaluate(rollout('x'));
    assert.equal(r.valid, false, name);
    assert.equal(r.score, 0, name);
    assert.match(r.reason!, re, `${name}: ${r.reason}`);
    assert.deepEqual(await ok.evaluate(rollout('x')), { score: 1, valid: true }, `after ${name}`);
  }
});

test('loading a broken module fails at load time with the reason', async () => {
  await assert.rejects(pool.load(mod('noexport.mjs', 'export const x = 1;')), /must export default an evaluator/);
  await assert.rejects(pool.load(mod('syntax.mjs', 'export default (')), /SyntaxError|Unexpected/);
  await assert.rejects(pool.load(join(dir, 'missing.js')), /does not exist/);
});

test('a module that never finishes loading fails at the set-up limit', async () => {
  const p = new EvaluatorPool({ size: 1, timeoutMs: 500, setupTimeoutMs: 800 });
  try {
    await assert.rejects(p.load(mod('stuck.mjs', 'await new Promise(() => {}); export default () => ({ score: 1, valid: true });')), /did not start within 800 ms/);
  } finally {
    await p.close();
  }
});

test('runEvaluations keeps order, honours the concurrency limit and times out in-process evaluators', async () => {
  let inFlight = 0;
  let peak = 0;
  const ev = defineEvaluator({
    name: 'slow',
    evaluate: async ({ output }) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, output === 'hang' ? 1000 : 5));
      inFlight--;
      return { score: Number(output) / 10, valid: true };
    },
  });
  const outs = ['1', '2', '3', '4', '5', '6', '7', 'hang'];
  const results = await runEvaluations(ev, outs.map((o) => rollout(o)), { concurrency: 3, timeoutMs: 200 });
  assert.deepEqual(results.slice(0, 7).map((r) => r.score), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  assert.equal(results[7]!.valid, false);
  assert.match(results[7]!.reason!, /timed out after 200 ms/);
  assert.equal(peak, 3);
});

test('the pool runs module calls in parallel up to its size', async () => {
  // Each call reports when it started and ended; with two workers the two calls overlap.
  const ev = await pool.load(mod('sleep.mjs', `export default async () => {
    const start = Date.now(); await new Promise((r) => setTimeout(r, 300));
    return { score: 1, valid: true, reason: start + ' ' + Date.now() }; }`));
  // Warm both workers first: a cold worker loading the module on a loaded machine can take longer
  // than one call, and then the first worker rightly takes the second call too.
  await runEvaluations(ev, [rollout('w1'), rollout('w2')], { concurrency: 2 });
  const rs = await runEvaluations(ev, [rollout('a'), rollout('b')], { concurrency: 2 });
  const [[s1, e1], [s2, e2]] = rs.map((r) => r.reason!.split(' ').map(Number)) as [number[], number[]];
  assert.ok(s2! < e1! && s1! < e2!, `calls did not overlap: ${rs.map((r) => r.reason).join(' / ')}`);
});
