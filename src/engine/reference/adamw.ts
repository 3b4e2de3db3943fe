/**
 * Reference AdamW, PyTorch semantics (torch.optim.AdamW, amsgrad off):
 *   p ← p − lr·wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps),  t = step ≥ 1.
 * param, grad, m, v (n).
 */
import { type Floats, dims, floats, need } from './check.js';

export function checkAdamw(op: string, arrays: [string, unknown][], n: number, step: number, hyper: Record<string, number>): void {
  dims(op, { n });
  for (const [name, a] of arrays) floats(op, name, a, n, `(${n})`);
  need(Number.isInteger(step) && step >= 1, op, `step must be an integer ≥ 1 (it is 1-based), got ${step}`);
  for (const [k, x] of Object.entries(hyper)) need(Number.isFinite(x), op, `${k} must be finite, got ${x}`);
}

export function adamw(param: Floats, grad: Floats, m: Floats, v: Floats, n: number,
  lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void {
  checkAdamw('adamw', [['param', param], ['grad', grad], ['m', m], ['v', v]], n, step, { lr, beta1, beta2, eps, weightDecay });
  const decay = 1 - lr * weightDecay;
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * decay - stepSize * mi / (Math.sqrt(vi) / bc2sqrt + eps);
  }
}
