import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './random.js';
import { Rational } from './rational.js';

/** mulberry32 written independently with BigInt arithmetic mod 2^32, as the reference. */
function* referenceMulberry32(seed: number): Generator<number> {
  const M = 0xffffffffn;
  const imul = (a: bigint, b: bigint) => (a * b) & M;
  let s = BigInt(seed >>> 0);
  for (;;) {
    s = (s + 0x6d2b79f5n) & M;
    let t = s;
    t = imul(t ^ (t >> 15n), t | 1n);
    t = (t ^ ((t + imul(t ^ (t >> 7n), t | 61n)) & M)) & M;
    yield Number((t ^ (t >> 14n)) & M);
  }
}

test('Rng is mulberry32: matches an independent BigInt implementation for 2000 draws', () => {
  for (const seed of [0, 1, 42, 0xdeadbeef, -7]) {
    const rng = new Rng(seed);
    const ref = referenceMulberry32(((seed % 4294967296) + 4294967296) % 4294967296);
    for (let i = 0; i < 2000; i++) assert.equal(rng.nextUint32(), ref.next().value);
  }
});

test('Rng helpers stay in range and shuffle is a permutation', () => {
  const rng = new Rng(5);
  for (let i = 0; i < 1000; i++) {
    const v = rng.int(-3, 4);
    assert.ok(v >= -3 && v <= 4 && Number.isInteger(v));
  }
  const xs = Array.from({ length: 50 }, (_, i) => i);
  assert.deepEqual(rng.shuffle(xs).sort((a, b) => a - b), xs);
  assert.throws(() => rng.int(3, 2), RangeError);
  assert.throws(() => new Rng(1.5), RangeError);
});

test('Rational arithmetic is exact and normalised', () => {
  const a = Rational.parse('0.1');
  const b = Rational.parse('0.2');
  assert.ok(a.add(b).eq(Rational.parse('0.3')));
  assert.equal(new Rational(6, -4).toString(), '-3/2');
  assert.equal(Rational.parse('150').div(Rational.parse('0.75')).toDecimal(), '200');
  assert.equal(new Rational(1, 3).toDecimal(2), undefined);
  assert.equal(new Rational(-1, 20).toDecimal(2), '-0.05');
  assert.equal(new Rational(25, 2).toDecimal(2), '12.5');
  assert.throws(() => new Rational(1, 0), RangeError);
  assert.throws(() => Rational.parse('1e3'), SyntaxError);
});
