import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { codeEvaluator } from './code.js';
import { rollout } from '../test-helpers.js';

const tests = [
  { args: [[3, 1, 2]], expected: [1, 2, 3] },
  { args: [[]], expected: [] },
  { args: [[5, -1, 5]], expected: [-1, 5, 5] },
  { args: [[2, 1]], expected: [1, 2] },
];
const gt = { entry_point: 'sortNumbers', tests };
const ivm = codeEvaluator({ timeout_ms: 300, memory_mb: 16 });
const nodeVm = codeEvaluator({ timeout_ms: 300, memory_mb: 16, sandbox: 'node:vm' });
after(async () => {
  await ivm.close();
  await nodeVm.close();
});

const good = '```js\nfunction sortNumbers(xs) { return [...xs].sort((a, b) => a - b); }\n```';
// Sorts only arrays of up to two elements: passes tests 1 and 3, fails 0 and 2.
const partial = 'function sortNumbers(xs) { return xs.length > 2 ? xs : [...xs].sort((a, b) => a - b); }';

for (const [label, ev] of [['isolated-vm', ivm], ['node:vm fallback', nodeVm]] as const) {
  test(`${label}: a correct function passes every test`, async () => {
    const r = await ev.evaluate(rollout(good, gt));
    assert.equal(r.score, 1, r.reason);
    assert.equal(r.metrics!.tests_passed!.score, 1);
  });

  test(`${label}: partial credit is the fraction of tests passed`, async () => {
    const r = await ev.evaluate(rollout(partial, gt));
    assert.equal(r.score, 0.5, r.reason);
    assert.equal(r.metrics!['test.0']!.score, 0);
    assert.equal(r.metrics!['test.1']!.score, 1);
  });

  test(`${label}: an infinite loop fails by the time limit, and the evaluator goes on`, async () => {
    const r = await ev.evaluate(rollout('function sortNumbers(xs) { while (true) {} }', gt));
    assert.equal(r.score, 0);
    assert.equal(r.valid, true);
    assert.match(JSON.stringify(r), /timed out|timeout/i);
    assert.equal((await ev.evaluate(rollout(good, gt))).score, 1);
  });

  test(`${label}: process, require, the host's globals and the Function constructor give nothing`, async () => {
    for (const body of [
      'return process.env',
      "return require('fs').readdirSync('/')",
      "return globalThis.constructor.constructor('return process')().env",
      "return this.constructor.constructor('return process')().pid",
      "return fetch('http://127.0.0.1:1')",
      "return import('node:fs')",
    ]) {
      const r = await ev.evaluate(rollout(`function sortNumbers(xs) { ${body} }`, gt));
      assert.equal(r.score, 0, body);
      assert.equal(r.valid, true, body);
    }
  });

  test(`${label}: a huge allocation is stopped by the memory limit`, async () => {
    const r = await ev.evaluate(rollout('function sortNumbers(xs) { const a = []; for (;;) a.push(new Array(1e6).fill(xs.length)); }', gt));
    assert.equal(r.score, 0);
    assert.equal(r.valid, true);
    assert.equal((await ev.evaluate(rollout(good, gt))).score, 1);
  });
}

test('code that does not parse, or lacks the entry point, scores 0', async () => {
  const syntax = await ivm.evaluate(rollout('function sortNumbers(xs) { return xs.sort(( }', gt));
  assert.equal(syntax.score, 0);
  assert.match(syntax.reason!, /does not run: SyntaxError/);
  const wrongName = await ivm.evaluate(rollout('function other(xs) { return xs; }', gt));
  assert.match(wrongName.reason!, /no function named sortNumbers/);
  // the entry point defaults to the first declared function
  assert.equal((await ivm.evaluate(rollout(good, { tests }))).score, 1);
});

test('results are compared structurally: key order ignored, floats within 1e-9', async () => {
  const ev = codeEvaluator({ tests: [{ args: [0.1, 0.2], expected: { sum: 0.3, ok: true } }] });
  try {
    assert.equal((await ev.evaluate(rollout('function f(a, b) { return { ok: true, sum: a + b }; }', null))).score, 1);
  } finally {
    await ev.close();
  }
});

test('malformed test cases are an invalid result', async () => {
  assert.equal((await ivm.evaluate(rollout(good, { tests: [{ input: 1 }] }))).valid, false);
  assert.equal((await ivm.evaluate(rollout(good, undefined))).valid, false);
});
