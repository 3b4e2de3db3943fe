/** Reference SwiGLU: out = silu(gate) · up, silu(g) = g · σ(g). All arrays (n). */
import { type Floats, dims, floats } from './check.js';

function sigmoid(g: number): number {
  return 1 / (1 + Math.exp(-g));
}

export function swigluForward(gate: Floats, up: Floats, out: Floats, n: number): void {
  const op = 'swigluForward';
  dims(op, { n });
  for (const [name, a] of [['gate', gate], ['up', up], ['out', out]] as const) floats(op, name, a, n, `(${n})`);
  for (let i = 0; i < n; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/** dgate = dout · up · σ(g)(1 + g(1 − σ(g))); dup = dout · silu(g). */
export function swigluBackward(gate: Floats, up: Floats, dout: Floats, dgate: Floats, dup: Floats, n: number): void {
  const op = 'swigluBackward';
  dims(op, { n });
  for (const [name, a] of [['gate', gate], ['up', up], ['dout', dout], ['dgate', dgate], ['dup', dup]] as const) floats(op, name, a, n, `(${n})`);
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    const d = dout[i];
    const u = up[i];
    dgate[i] = d * u * s * (1 + g * (1 - s));
    dup[i] = d * g * s;
  }
}
