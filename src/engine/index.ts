/**
 * The engine's public API: tensors, ops with forward and backward, the tape, no-grad mode and
 * buffer scopes. Layers above import from here only.
 *
 * @example
 * const w = randn([4, 3], new Rng(1), { requiresGrad: true });
 * const loss = scope(() => {
 *   const l = mean(square(linear(x, w)));
 *   backward(l);
 *   return l.item();
 * });
 */
export { Tensor, tensor, scalar, empty, zeros, ones, full, randn, uniform, int32 } from './tensor.js';
export type { TensorOptions, Node } from './tensor.js';
export { Tensor16, type Dtype16 } from './tensor16.js';
export { Rng } from './rng.js';
export { backward, noGrad, isGradEnabled, scope, keep, BackwardError } from './tape.js';
export { pool, BufferPool, type PoolStats } from './pool.js';
export { ShapeError, type Shape } from './shape.js';
export {
  add, sub, mul, div, minimum, maximum, scale, pow, clamp, where,
  neg, exp, log, sqrt, square, abs, relu, sigmoid, tanh, silu, type Operand,
} from './ops/elementwise.js';
export { sum, mean, type ReduceOptions } from './ops/reduce.js';
export { reshape, view, permute, transpose, slice, concat } from './ops/layout.js';
export { matmul, linear, fusedLinear, type MatmulOptions, type FusedLinearTerms } from './ops/matmul.js';
export { rmsnorm, rope, ropeTable, swiglu, softmax, logSoftmax, embedding, dropout } from './ops/nn.js';
export { attention, type AttentionOptions } from './ops/attention.js';
export { tokenLogprobs, crossEntropy, entropy } from './ops/loss.js';
export { AdamW, type AdamWOptions, type AdamWSlot } from './optim.js';
export { kernels, useKernels, nativeKernels } from './backend.js';
export type { Kernels } from './kernels.js';
