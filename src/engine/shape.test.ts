/** Broadcast plans (tile / repeat / index map) agree with the plain odometer walk on random shapes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bidx, broadcastPlan, broadcastShapes, numel } from './shape.js';
import { Rng } from './rng.js';

/** Independent oracle: the input index of output element i by explicit coordinates. */
function oracle(out: number[], inp: number[], i: number): number {
  const coords: number[] = [];
  let r = i;
  for (let d = out.length - 1; d >= 0; d--) {
    coords[d] = r % out[d];
    r = Math.floor(r / out[d]);
  }
  let idx = 0;
  const off = out.length - inp.length;
  for (let d = 0; d < inp.length; d++) idx = idx * inp[d] + (inp[d] === 1 ? 0 : coords[d + off]);
  return idx;
}

test('bidx(broadcastPlan(out, inp), i) is the broadcast input index, for 300 random shape pairs', () => {
  const rng = new Rng(11);
  const kinds = new Set<number>();
  for (let trial = 0; trial < 300; trial++) {
    const rank = 1 + rng.int(4);
    const out = Array.from({ length: rank }, () => 1 + rng.int(4));
    const inRank = rng.int(rank + 1);
    const inp = out.slice(rank - inRank).map((d) => (rng.uniform() < 0.4 ? 1 : d));
    assert.deepEqual(broadcastShapes('t', out, inp), out);
    const plan = broadcastPlan(out, inp);
    kinds.add(plan.kind);
    for (let i = 0; i < numel(out); i++) {
      assert.equal(bidx(plan, i), oracle(out, inp, i), `out [${out}] inp [${inp}] kind ${plan.kind} element ${i}`);
    }
  }
  assert.deepEqual([...kinds].sort(), [0, 1, 2, 3], 'every plan kind was exercised');
});
