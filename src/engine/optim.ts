/** AdamW over tensors, on the adamw kernel (PyTorch semantics: decoupled weight decay, bias correction). */
import type { Tensor } from './tensor.js';
import { kernels } from './backend.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Refuse a step when a gradient holds NaN or ±Infinity (default true; one pass over the gradients). */
  checkFinite?: boolean;
}

/** First and second moments of one parameter. */
export interface AdamWSlot {
  m: Float32Array;
  v: Float32Array;
}

export class AdamW {
  readonly params: readonly Tensor[];
  readonly state: AdamWSlot[];
  /** Steps taken (1-based inside step(); 0 before the first). */
  stepCount = 0;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  checkFinite: boolean;

  constructor(params: readonly Tensor[], opts: AdamWOptions) {
    for (const p of params) {
      if (!p.requiresGrad) throw new Error(`AdamW: parameter ${p.describe()} does not have requiresGrad`);
      if (p.node) throw new Error(`AdamW: parameter ${p.describe()} is an op output, not a leaf`);
    }
    this.params = params;
    this.state = params.map((p) => ({ m: new Float32Array(p.size), v: new Float32Array(p.size) }));
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.checkFinite = opts.checkFinite ?? true;
  }

  /**
   * One update from the parameters' .grad (parameters without a gradient yet are skipped). A
   * non-finite gradient throws before any parameter changes, naming the parameter.
   */
  step(): void {
    if (this.checkFinite) {
      for (const p of this.params) {
        const g = p.grad;
        if (!g) continue;
        for (let i = 0; i < g.length; i++) {
          if (!Number.isFinite(g[i])) {
            throw new Error(`AdamW: the gradient of parameter ${p.describe()} is ${g[i]} at element ${i}; step refused, no parameter changed`);
          }
        }
      }
    }
    this.stepCount++;
    const K = kernels();
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const s = this.state[i];
      K.adamw(p.data, p.grad, s.m, s.v, p.size, this.lr, this.beta1, this.beta2, this.eps, this.weightDecay, this.stepCount);
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
}
