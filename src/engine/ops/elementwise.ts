/**
 * Elementwise ops with NumPy broadcasting (scalars, bias vectors, any size-1 dimension).
 * Each op is one rule: its forward and its partial derivatives, side by side.
 */
import { Tensor, empty, scalar } from '../tensor.js';
import { addGrad, record } from '../tape.js';
import { type Broadcast, bidx, broadcastPlan, broadcastShapes, fmt, sameShape, ShapeError } from '../shape.js';

export type Operand = Tensor | number;

function asTensor(x: Operand): Tensor {
  return typeof x === 'number' ? scalar(x) : x;
}

interface BinaryRule {
  f(a: number, b: number): number;
  /** ∂f/∂a and ∂f/∂b at (a, b). */
  da(a: number, b: number): number;
  db(a: number, b: number): number;
}

const binaryRules = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1 },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1 },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a },
  div: { f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b) },
  // Ties split the gradient evenly (as PyTorch does), so finite differences agree on both sides.
  minimum: { f: (a, b) => (a < b ? a : b), da: (a, b) => (a < b ? 1 : a === b ? 0.5 : 0), db: (a, b) => (b < a ? 1 : a === b ? 0.5 : 0) },
  maximum: { f: (a, b) => (a > b ? a : b), da: (a, b) => (a > b ? 1 : a === b ? 0.5 : 0), db: (a, b) => (b > a ? 1 : a === b ? 0.5 : 0) },
} satisfies Record<string, BinaryRule>;

type BinaryOp = keyof typeof binaryRules;

function binary(op: BinaryOp, x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const rule: BinaryRule = binaryRules[op];
  const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(op, a.shape, b.shape);
  const out = empty(shape);
  const pa = broadcastPlan(shape, a.shape);
  const pb = broadcastPlan(shape, b.shape);
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  const n = od.length;
  if (pa.kind === 0 && pb.kind === 0) {
    // Same shapes: the hot path (residual adds, masks), written out for the common ops.
    if (op === 'add') for (let i = 0; i < n; i++) od[i] = ad[i] + bd[i];
    else if (op === 'sub') for (let i = 0; i < n; i++) od[i] = ad[i] - bd[i];
    else if (op === 'mul') for (let i = 0; i < n; i++) od[i] = ad[i] * bd[i];
    else for (let i = 0; i < n; i++) od[i] = rule.f(ad[i], bd[i]);
  } else {
    for (let i = 0; i < n; i++) od[i] = rule.f(ad[bidx(pa, i)], bd[bidx(pb, i)]);
  }
  return record(op, out, [a, b], (g) => {
    const ad = a.data;
    const bd = b.data;
    const side = (t: Tensor, p: Broadcast, d: (a: number, b: number) => number, isB: boolean) =>
      addGrad(t, (buf, fresh) => {
        if (pa.kind === 0 && pb.kind === 0 && (op === 'add' || op === 'sub' || op === 'mul')) {
          // Same shapes, common ops: the rule's derivative is g, −g or g times the other operand.
          const other = op === 'mul' ? (isB ? ad : bd) : null;
          const sign = op === 'sub' && isB ? -1 : 1;
          if (other === null) {
            if (fresh) for (let i = 0; i < n; i++) buf[i] = sign * g[i];
            else for (let i = 0; i < n; i++) buf[i] += sign * g[i];
          } else if (fresh) for (let i = 0; i < n; i++) buf[i] = g[i] * other[i];
          else for (let i = 0; i < n; i++) buf[i] += g[i] * other[i];
        } else if (p.kind === 0) {
          if (fresh) for (let i = 0; i < n; i++) buf[i] = g[i] * d(ad[bidx(pa, i)], bd[bidx(pb, i)]);
          else for (let i = 0; i < n; i++) buf[i] += g[i] * d(ad[bidx(pa, i)], bd[bidx(pb, i)]);
        } else {
          // A broadcast input: its gradient sums over the broadcast dimensions.
          if (fresh) buf.fill(0);
          for (let i = 0; i < n; i++) buf[bidx(p, i)] += g[i] * d(ad[bidx(pa, i)], bd[bidx(pb, i)]);
        }
      });
    side(a, pa, rule.da, false);
    side(b, pb, rule.db, true);
  });
}

/** a + b (broadcast). */
export const add = (a: Operand, b: Operand): Tensor => binary('add', a, b);
/** a − b (broadcast). */
export const sub = (a: Operand, b: Operand): Tensor => binary('sub', a, b);
/** a · b elementwise (broadcast). */
export const mul = (a: Operand, b: Operand): Tensor => binary('mul', a, b);
/** a / b elementwise (broadcast). */
export const div = (a: Operand, b: Operand): Tensor => binary('div', a, b);
/** Elementwise minimum (broadcast); ties split the gradient. */
export const minimum = (a: Operand, b: Operand): Tensor => binary('minimum', a, b);
/** Elementwise maximum (broadcast); ties split the gradient. */
export const maximum = (a: Operand, b: Operand): Tensor => binary('maximum', a, b);

interface UnaryRule {
  f(x: number): number;
  /** dy/dx from x and y = f(x). */
  d(x: number, y: number): number;
}

const unaryRules = {
  neg: { f: (x) => -x, d: () => -1 },
  exp: { f: Math.exp, d: (_x, y) => y },
  log: { f: Math.log, d: (x) => 1 / x },
  sqrt: { f: Math.sqrt, d: (_x, y) => 0.5 / y },
  square: { f: (x) => x * x, d: (x) => 2 * x },
  abs: { f: Math.abs, d: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0) },
  relu: { f: (x) => (x > 0 ? x : 0), d: (x) => (x > 0 ? 1 : 0) },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), d: (_x, y) => y * (1 - y) },
  tanh: { f: Math.tanh, d: (_x, y) => 1 - y * y },
  silu: { f: (x) => x / (1 + Math.exp(-x)), d: (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 + x * (1 - s)); } },
} satisfies Record<string, UnaryRule>;

type UnaryOp = keyof typeof unaryRules;

function unary(op: string, rule: UnaryRule, x: Tensor): Tensor {
  const out = empty(x.shape);
  const xd = x.data;
  const od = out.data;
  const n = od.length;
  for (let i = 0; i < n; i++) od[i] = rule.f(xd[i]);
  return record(op, out, [x], (g) => {
    const xd = x.data;
    const od = out.data;
    addGrad(x, (buf, fresh) => {
      if (fresh) for (let i = 0; i < n; i++) buf[i] = g[i] * rule.d(xd[i], od[i]);
      else for (let i = 0; i < n; i++) buf[i] += g[i] * rule.d(xd[i], od[i]);
    });
  });
}

const u = (op: UnaryOp) => (x: Tensor): Tensor => unary(op, unaryRules[op], x);
export const neg = u('neg');
export const exp = u('exp');
export const log = u('log');
export const sqrt = u('sqrt');
export const square = u('square');
export const abs = u('abs');
export const relu = u('relu');
export const sigmoid = u('sigmoid');
export const tanh = u('tanh');
export const silu = u('silu');

/** x · s for a constant s. */
export function scale(x: Tensor, s: number): Tensor {
  return unary('scale', { f: (v) => v * s, d: () => s }, x);
}

/** x^p for a constant p. */
export function pow(x: Tensor, p: number): Tensor {
  return unary('pow', { f: (v) => v ** p, d: (v) => p * v ** (p - 1) }, x);
}

/** Clamp into [min, max]; the gradient passes where min ≤ x ≤ max (PyTorch's convention). */
export function clamp(x: Tensor, min: number, max: number): Tensor {
  if (!(min <= max)) throw new Error(`clamp: min (${min}) must not exceed max (${max})`);
  return unary('clamp', { f: (v) => (v < min ? min : v > max ? max : v), d: (v) => (v >= min && v <= max ? 1 : 0) }, x);
}

/**
 * mask ? a : b elementwise, broadcasting all three. mask is a tensor (nonzero = true) or a
 * Uint8Array of the output's size; it gets no gradient.
 */
export function where(mask: Tensor | Uint8Array, x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const mShape = mask instanceof Tensor ? mask.shape : null;
  const shape = broadcastShapes('where', ...(mShape ? [mShape] : []), a.shape, b.shape);
  const out = empty(shape);
  const n = out.size;
  const md = mask instanceof Tensor ? mask.data : mask;
  if (!(mask instanceof Tensor) && mask.length !== n) {
    throw new ShapeError('where', `mask has ${mask.length} elements but the output ${fmt(shape)} has ${n}`);
  }
  const pm = mShape ? broadcastPlan(shape, mShape) : broadcastPlan(shape, shape);
  const pa = broadcastPlan(shape, a.shape);
  const pb = broadcastPlan(shape, b.shape);
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  for (let i = 0; i < n; i++) {
    od[i] = md[bidx(pm, i)] !== 0 ? ad[bidx(pa, i)] : bd[bidx(pb, i)];
  }
  return record('where', out, [a, b], (g) => {
    const side = (t: Tensor, p: Broadcast, pick: boolean) =>
      addGrad(t, (buf, fresh) => {
        if (fresh) buf.fill(0);
        for (let i = 0; i < n; i++) {
          if ((md[bidx(pm, i)] !== 0) === pick) buf[bidx(p, i)] += g[i];
        }
      });
    side(a, pa, true);
    side(b, pb, false);
  });
}
