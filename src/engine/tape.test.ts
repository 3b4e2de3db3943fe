/** The tape (backward, noGrad, detach, frozen weights), scopes and buffer reuse, and error paths. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from './index.js';

const rng = () => new E.Rng(5);

test('noGrad records nothing: outputs have no node and do not require a gradient', () => {
  const w = E.randn([3, 3], rng(), { requiresGrad: true });
  const y = E.noGrad(() => E.sum(E.matmul(w, w)));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
  assert.equal(E.isGradEnabled(), true);
  assert.throws(() => E.backward(y), /does not require a gradient/);
  assert.equal(w.grad, null);
});

test('noGrad restores grad mode after an exception', () => {
  assert.throws(() => E.noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(E.isGradEnabled(), true);
});

test('backward twice accumulates; zeroGrad resets to one contribution', () => {
  const x = E.tensor([1, 2, 3], [3], { requiresGrad: true });
  const y = E.sum(E.square(x)); // dy/dx = 2x
  E.backward(y);
  assert.deepEqual([...x.grad!], [2, 4, 6]);
  E.backward(y);
  assert.deepEqual([...x.grad!], [4, 8, 12]);
  x.zeroGrad();
  E.backward(E.sum(E.scale(x, 3)));
  assert.deepEqual([...x.grad!], [3, 3, 3]);
});

test('frozen weights get no gradient buffer but gradients flow through them to earlier tensors', () => {
  const x = E.tensor([1, 2], [1, 2], { requiresGrad: true });
  const w = E.tensor([1, 2, 3, 4], [2, 2]); // frozen (out, in)
  const y = E.sum(E.linear(x, w)); // Σ_o Σ_i x_i w_oi → dx_i = Σ_o w_oi
  E.backward(y);
  assert.equal(w.grad, null);
  assert.deepEqual([...x.grad!], [4, 6]);
});

test('detach cuts the graph', () => {
  const x = E.tensor([1, 2], [2], { requiresGrad: true });
  const y = E.add(E.mul(x.detach(), x), 0); // d/dx = x (detached factor is a constant)
  E.backward(E.sum(y));
  assert.deepEqual([...x.grad!], [1, 2]);
});

test('backward with an upstream gradient for a non-scalar output', () => {
  const x = E.tensor([1, 2, 3], [3], { requiresGrad: true });
  E.backward(E.scale(x, 2), E.tensor([1, 0, -1]));
  assert.deepEqual([...x.grad!], [2, 0, -2]);
});

test('a NaN or infinite loss is refused with an error naming it and the op that produced it', () => {
  const x = E.tensor([-1, 2], [2], { requiresGrad: true });
  assert.throws(() => E.backward(E.sum(E.log(x))), (e: Error) => e instanceof E.BackwardError && /NaN/.test(e.message) && /"sum"/.test(e.message));
  const z = E.tensor([0, 1], [2], { requiresGrad: true });
  assert.throws(() => E.backward(E.mean(E.neg(E.log(z)))), /Infinity.*"mean"/);
  assert.equal(x.grad, null);
});

test('backward of a non-scalar without an upstream gradient is an error', () => {
  const x = E.tensor([1, 2], [2], { requiresGrad: true });
  assert.throws(() => E.backward(E.scale(x, 2)), /one element, got shape \[2\]/);
  assert.throws(() => E.backward(E.scale(x, 2), E.tensor([1, 2, 3])), /upstream gradient shape \[3\] does not match output shape \[2\]/);
});

test('shape errors name the op and both shapes', () => {
  const a = E.zeros([2, 3]);
  assert.throws(() => E.add(a, E.zeros([4])), (e: Error) => e instanceof E.ShapeError && /^add: shapes \[2, 3\] and \[4\]/.test(e.message));
  assert.throws(() => E.matmul(a, E.zeros([2, 3])), /matmul: inner dimensions differ: \[2, 3\] · \[2, 3\] \(3 vs 2\)/);
  assert.throws(() => E.matmul(E.zeros([2, 2, 3]), E.zeros([3, 3, 4])), /matmul: batch dimensions differ/);
  assert.throws(() => E.linear(a, E.zeros([4, 5])), /linear: input \[2, 3\] does not end in the weight's input size 5 \(weight \[4, 5\]\)/);
  const w = E.zeros([4, 3]);
  assert.throws(() => E.fusedLinear(a, w, { residual: E.zeros([2, 3]) }), /linear: residual \[2, 3\] does not match the output \[2, 4\]/);
  assert.throws(() => E.fusedLinear(a, w, { lowRank: { x: a, A: E.zeros([2, 4]), B: E.zeros([4, 2]), scaling: 1 } }), /linear: low-rank A \[2, 4\] must be \(r, 3\)/);
  assert.throws(() => E.fusedLinear(a, w, { lowRank: { x: a, A: E.zeros([2, 3]), B: E.zeros([4, 3]), scaling: 1 } }), /linear: low-rank B \[4, 3\] must be \(4, 2\)/);
  assert.throws(() => E.fusedLinear(a, w, { lowRank: { x: E.zeros([3, 3]), A: E.zeros([2, 3]), B: E.zeros([4, 2]), scaling: 1 } }), /linear: low-rank input \[3, 3\] differs/);
  assert.throws(() => E.reshape(a, [4, 2]), /reshape: cannot reshape \[2, 3\]/);
  assert.throws(() => E.rmsnorm(a, E.ones([2])), /rmsnorm: weight \[2\] does not match input \[2, 3\]/);
  assert.throws(() => E.swiglu(a, E.zeros([3, 2])), /swiglu: gate \[2, 3\] and up \[3, 2\] differ/);
  assert.throws(() => E.attention(E.zeros([1, 2, 3, 4]), E.zeros([1, 2, 2, 4]), E.zeros([1, 2, 2, 4])), /attention: query heads \(3\) must be a multiple/);
  assert.throws(() => E.attention(E.zeros([1, 2, 2, 4]), E.zeros([1, 3, 2, 4]), E.zeros([1, 3, 2, 4]), { qStart: Int32Array.of(2) }), /attention: qStart\[0\] = 2 puts queries outside the 3 keys/);
  assert.throws(() => E.concat([a, E.zeros([2, 2])], 0), /concat: shapes \[2, 3\], \[2, 2\] differ outside axis 0/);
  assert.throws(() => E.slice(a, 1, 2, 5), /slice: range \[2, 5\) is out of bounds/);
  assert.throws(() => E.sum(a, 2), /sum: axis 2 is out of range for shape \[2, 3\]/);
  assert.throws(() => E.tensor(new Float32Array(5), [2, 3]), /tensor: data has 5 elements but shape \[2, 3\] needs 6/);
});

test('bad ids are clear errors, not out-of-bounds reads', () => {
  const table = E.zeros([4, 2]);
  assert.throws(() => E.embedding(table, Int32Array.from([1, 4])), /embedding: id 4 at position 1 is outside the table's vocabulary of 4/);
  assert.throws(() => E.tokenLogprobs(E.zeros([2, 3]), Int32Array.from([0, 3])), /tokenLogprobs: target 3 at row 1 is outside the vocabulary of 3/);
  assert.throws(() => E.tokenLogprobs(E.zeros([2, 3]), Int32Array.from([0])), /tokenLogprobs: 1 targets for 2 rows/);
  assert.throws(() => E.rope(E.zeros([2, 1, 4]), Int32Array.from([0, 9]), E.ropeTable(8, 4)), /rope: position 9 \(row 1\) is outside the table's 8 positions/);
  assert.throws(() => E.crossEntropy(E.zeros([2, 3]), Int32Array.from([-1, -1])), /crossEntropy: every one of the 2 targets is ignored/);
  assert.throws(() => E.embedding(table, [1, 2] as unknown as Int32Array), /embedding: ids must be an Int32Array, got an Array/);
  assert.throws(() => E.tokenLogprobs(E.zeros([1, 3]), new Float32Array([0]) as unknown as Int32Array), /tokenLogprobs: targets must be an Int32Array, got Float32Array/);
  assert.throws(() => new E.Tensor([1, 2] as unknown as Float32Array, [2]), /tensor: data must be a Float32Array, got Array/);
  assert.throws(() => E.tensor([1, 'x'] as unknown as number[]), /tensor: element 1 is string, not a number/);
  assert.throws(() => E.int32([1.5]), /int32: element 0 \(1.5\) is not a 32-bit integer/);
});

test('scope releases what it created, keeps what it returns (detached), and refuses async functions', () => {
  const w = E.randn([4, 4], rng(), { requiresGrad: true });
  let inner: E.Tensor | undefined;
  const out = E.scope(() => {
    inner = E.matmul(w, w);
    const y = E.sum(inner);
    E.backward(y);
    return { y, list: [E.scale(inner, 2)] };
  });
  assert.ok(inner!.disposed);
  assert.throws(() => inner!.data, /was released when its scope ended/);
  assert.ok(!out.y.disposed && !out.list[0].disposed);
  assert.equal(out.y.node, null);
  assert.equal(out.y.requiresGrad, false);
  assert.ok(Math.abs(out.list[0].data.reduce((s, v) => s + v, 0) - 2 * out.y.item()) < 1e-3);
  assert.ok(w.grad && !w.disposed, 'leaves created outside the scope survive with their gradient');
  assert.throws(() => E.scope(() => Promise.resolve(1) as unknown as number), /synchronous/);
});

test('keep() keeps a view and the storage it shares', () => {
  const r = E.scope(() => {
    const a = E.full([2, 3], 7);
    return E.keep(E.reshape(a, [6]));
  });
  assert.deepEqual([...r.data], [7, 7, 7, 7, 7, 7]);
  // The kept storage must not be handed out again.
  E.scope(() => E.full([6], 1));
  assert.deepEqual([...r.data], [7, 7, 7, 7, 7, 7]);
});

test('a Float32Array returned from a scope (t.data) keeps its storage: later scopes do not overwrite it', () => {
  const d = E.scope(() => E.full([5], 3).data);
  const { rows } = E.scope(() => ({ rows: [E.full([5], 4).data] }));
  for (let i = 0; i < 4; i++) E.scope(() => E.full([5], -1));
  assert.deepEqual([...d], [3, 3, 3, 3, 3]);
  assert.deepEqual([...rows[0]], [4, 4, 4, 4, 4]);
});

test('a training loop in scopes stops allocating: 50 iterations, the pool\'s allocation count stays flat', () => {
  const r = rng();
  const w1 = E.randn([16, 8], r, { requiresGrad: true, std: 0.3 });
  const w2 = E.randn([5, 16], r, { requiresGrad: true, std: 0.3 });
  const opt = new E.AdamW([w1, w2], { lr: 1e-2 });
  const x = E.randn([12, 8], r);
  const targets = Int32Array.from({ length: 12 }, (_, i) => i % 5);
  const counts: number[] = [];
  const losses: number[] = [];
  for (let it = 0; it < 50; it++) {
    losses.push(E.scope(() => {
      opt.zeroGrad();
      const h = E.relu(E.linear(x, w1));
      const loss = E.crossEntropy(E.linear(h, w2), targets);
      E.backward(loss);
      opt.step();
      return loss.item();
    }));
    counts.push(E.pool.stats().allocations);
  }
  assert.equal(counts[49], counts[4], `allocations grew from ${counts[4]} to ${counts[49]}: ${counts.join(',')}`);
  assert.ok(E.pool.stats().reuses > 0);
  assert.ok(losses[49] < losses[0] * 0.5, `loss ${losses[0]} → ${losses[49]}`);
});
