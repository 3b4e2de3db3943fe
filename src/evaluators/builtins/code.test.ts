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

// Every attempt returns a wrong answer for each test and tries to make it pass anyway by
// tampering with what moves or compares results. None may score above 0.
const poisonTests = [
  { args: [1], expected: 3 },
  { args: [2], expected: [1, 2, 3] },
  { args: [3], expected: { a: 1 } },
  { args: [4], expected: '3' },
];
const poisonGt = { entry_point: 'f', tests: poisonTests };
const WRONG = 'const wrong = [4, [3, 2, 1], { a: 2 }, "4"][x - 1];';
const poisonings: [string, string][] = [
  ['JSON.stringify replaced', `JSON.stringify = () => '3'; ${WRONG} return wrong;`],
  ['JSON.parse replaced', `JSON.parse = () => 3; ${WRONG} return wrong;`],
  ['the JSON global redefined', `Object.defineProperty(globalThis, 'JSON', { value: { stringify: () => '3', parse: () => 3 } }); ${WRONG} return wrong;`],
  ['toJSON on every prototype', `Object.prototype.toJSON = Array.prototype.toJSON = Number.prototype.toJSON = String.prototype.toJSON = () => 3; ${WRONG} return wrong;`],
  ['Object statics replaced', `Object.keys = () => ['a']; Object.entries = () => [['a', 1]]; Object.values = () => [1]; Object.getOwnPropertyDescriptor = () => ({ value: 1, enumerable: true }); ${WRONG} return wrong;`],
  ['Array methods and Array.isArray replaced', `Array.prototype.map = Array.prototype.every = Array.prototype.some = function () { return true; }; Array.isArray = () => true; ${WRONG} return wrong;`],
  ['Function.prototype call/apply/toString and Reflect replaced', `Function.prototype.call = Function.prototype.apply = () => 3; Function.prototype.toString = () => '3'; Reflect.apply = () => 3; ${WRONG} return wrong;`],
  ['valueOf/toString overrides and boxed numbers', `Number.prototype.valueOf = () => 3; Object.prototype.valueOf = () => 3; Object.prototype.toString = () => '3'; return new Number(4);`],
  ['Symbol.toPrimitive on the result and on Number.prototype', `Number.prototype[Symbol.toPrimitive] = () => 3; return { [Symbol.toPrimitive]: () => (x === 4 ? '3' : 3), valueOf: () => 3 };`],
  ['a thenable that resolves to the answer', `return { then(resolve) { resolve([3, [1, 2, 3], { a: 1 }, '3'][x - 1]); } };`],
  ['a then getter', `return { get then() { return (resolve) => resolve(3); } };`],
  ['a promise of the answer', `return Promise.resolve([3, [1, 2, 3], { a: 1 }, '3'][x - 1]);`],
  ['a Proxy that pretends to be the answer', `const answer = [3, [1, 2, 3], { a: 1 }, '3'][x - 1]; const t = typeof answer === 'object' ? answer : {};
     return new Proxy(Array.isArray(t) ? [3, 2, 1] : {}, { get: (_, k) => t[k], ownKeys: () => Reflect.ownKeys(t), getOwnPropertyDescriptor: (_, k) => Reflect.getOwnPropertyDescriptor(t, k), has: (_, k) => k in t });`],
  ['a Proxy inside the result', `return [new Proxy({}, { get: () => 1, ownKeys: () => ['a'], getOwnPropertyDescriptor: () => ({ value: 1, enumerable: true, configurable: true }) })];`],
  ['a getter that is wrong on the first read and right on every later one', `let n = 0; return { get a() { return n++ === 0 ? 2 : 1; } };`],
  ['a throwing getter', `return { get a() { throw new Error('no'); } };`],
  ['a getter that never returns', `return { get a() { for (;;) {} } };`],
  ['holes filled from Array.prototype', `Array.prototype[0] = 1; Array.prototype[1] = 2; Array.prototype[2] = 3; const holes = [, , ,]; return x === 2 ? holes : 4;`],
  ['a Date whose toJSON/toISOString are replaced', `Date.prototype.toJSON = () => 3; Date.prototype.toISOString = () => '3'; return new Date(0);`],
  ['a class whose prototype getter holds the answer', `class A { get a() { return 1; } } return new A();`],
  ['a cycle', `const o = { a: 1 }; o.self = o; return o;`],
  ['a huge sparse array', `const a = new Array(1e9); a[0] = 3; return a;`],
  ['replacing the node:vm call hook', `try { Object.defineProperty(globalThis, '__rftCall', { value: () => 3 }); } catch {} try { globalThis.__rftCall = () => 3; } catch {} ${WRONG} return wrong;`],
];

for (const [label, ev] of [['isolated-vm', ivm], ['node:vm fallback', nodeVm]] as const) {
  test(`${label}: a wrong answer cannot pass by poisoning intrinsics, getters, thenables or proxies`, async () => {
    // control: the honest answer passes through the same path
    const honest = await ev.evaluate(rollout(`function f(x) { return [3, [1, 2, 3], { a: 1 }, '3'][x - 1]; }`, poisonGt));
    assert.equal(honest.score, 1, honest.reason);
    for (const [name, body] of poisonings) {
      const r = await ev.evaluate(rollout(`function f(x) { ${body} }`, poisonGt));
      assert.equal(r.score, 0, `${name}: ${r.reason}`);
      assert.equal(r.valid, true, name);
    }
    // declaring the hook's name at the top level is refused before any test runs
    const shadow = await ev.evaluate(rollout(`var __rftCall = () => 3; function f(x) { return 4; }`, poisonGt));
    assert.equal(shadow.score, 0);
    assert.equal((await ev.evaluate(rollout(good, gt))).score, 1);
  });

  test(`${label}: a result that is not data says so`, async () => {
    const r = await ev.evaluate(rollout(`function f(x) { return new Proxy({}, {}); }`, { tests: [{ args: [1], expected: {} }] }));
    assert.equal(r.score, 0);
    assert.match(r.reason!, /not JSON data/);
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
