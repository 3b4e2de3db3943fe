import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { NotPlainData, toPlainData } from './plain-data.js';

test('ordinary data copies exactly as JSON.stringify then JSON.parse would give it', () => {
  const samples: unknown[] = [
    3, -0.5, 'x', true, null, [1, 'a', null], { a: 1, b: [2, { c: 'd' }] },
    [1, , 3], [NaN, Infinity], { u: undefined, n: -Infinity }, new Date(0), new Date(NaN),
    new Number(4), new String('s'), new Boolean(false), new Map([[1, 2]]), new Uint8Array([7, 8]),
    JSON.parse('{"__proto__": 1, "constructor": 2}'),
  ];
  for (const s of samples) assert.deepEqual(toPlainData(s), JSON.parse(JSON.stringify(s)), String(s));
  assert.equal(toPlainData(undefined), null);
  // "__proto__" stays an own key, not a prototype
  const p = toPlainData(JSON.parse('{"__proto__": {"x": 1}}')) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(p), Object.prototype);
  assert.deepEqual(Object.keys(p), ['__proto__']);
});

test('proxies, accessors, functions, promises, symbols, bigints and cycles are refused with their path, and nothing of them runs', () => {
  let ran = 0;
  const trap = () => {
    ran++;
    return 1;
  };
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  const cases: [unknown, RegExp][] = [
    [new Proxy({}, { get: trap, ownKeys: () => (ran++, []) }), /^result is a Proxy/],
    [{ a: [0, new Proxy([], { get: trap })] }, /^result\.a\[1\] is a Proxy/],
    [{ get a() { return trap(); } }, /^result\.a is a getter/],
    [Object.defineProperty([1], 0, { get: trap }), /^result\[0\] is a getter/],
    [{ 'x y': () => 1 }, /^result\["x y"\] is a function/],
    [{ then: (r: (v: number) => void) => r(3) }, /^result\.then is a function/],
    [Promise.resolve(3), /Promise/],
    [{ s: Symbol('q') }, /Symbol/],
    [10n, /BigInt/],
    [cyc, /^result\.self refers back to itself/],
    [new Array(1e9), /^result has 1000000000 elements, more than/],
    [{ a: Array.from({ length: 600_000 }, () => 0), b: Array.from({ length: 600_000 }, () => 0) }, /^result\.b has 600000 elements, more than the 1000000 values/],
  ];
  for (const [v, re] of cases) {
    assert.throws(() => toPlainData(v), (e: unknown) => e instanceof NotPlainData && re.test(e.message), String(re));
  }
  assert.equal(ran, 0);
  // a DAG (the same object twice, no cycle) is fine
  const leaf = { k: 1 };
  assert.deepEqual(toPlainData([leaf, leaf]), [{ k: 1 }, { k: 1 }]);
});

test("a vm context's replaced intrinsics do not change the copy", () => {
  const ctx = vm.createContext({});
  const v = vm.runInContext(
    `Object.prototype.toJSON = () => 3; Array.prototype.toJSON = () => 3; Number.prototype.valueOf = () => 3;
     Date.prototype.toISOString = () => '3'; Object.keys = () => []; Object.getOwnPropertyDescriptor = () => ({ value: 3 });
     JSON.stringify = () => '3';
     ({ a: [4, new Number(5), new Date(0)], [Symbol.toPrimitive]: () => 3 })`,
    ctx,
  );
  assert.deepEqual(toPlainData(v), { a: [4, 5, '1970-01-01T00:00:00.000Z'] });
});
