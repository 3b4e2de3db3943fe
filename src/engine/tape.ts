/**
 * The autograd tape: ops record a Node on their output (unless in noGrad), and backward() walks
 * the recorded graph from the loss in reverse topological order, calling each op's rule once its
 * output gradient is complete. Leaves with requiresGrad accumulate into .grad; intermediate
 * gradients live in pooled buffers only for the duration of backward().
 */
import { Tensor, type Node } from './tensor.js';
import { alloc, freeNow, newFloats, popScope, pushScope } from './pool.js';
import { fmt, sameShape, ShapeError } from './shape.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording anything on the tape (sampling, evaluation). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Run fn in a buffer scope: every pooled buffer and tensor created inside is given back / released
 * when fn returns, except the tensors fn returns (directly, or inside arrays and plain objects)
 * and those marked with keep(); those survive, detached from the tape. A returned Float32Array
 * (such as `t.data`) keeps its storage too, so it is never handed out again while the caller holds
 * it. fn must be synchronous.
 * @example const lossValue = scope(() => { const l = model.loss(batch); backward(l); return l.item(); });
 */
export function scope<T>(fn: () => T): T {
  const s = pushScope();
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('scope: fn returned a Promise; scope() only supports synchronous functions');
    markKept(result, 0, s.keptStorage);
  } finally {
    popScope(s);
  }
  return result;
}

/** Keep t alive past the end of the scope that owns it (see scope()). */
export function keep<T extends Tensor>(t: T): T {
  return t.keep();
}

function markKept(v: unknown, depth: number, storage: Set<ArrayBufferLike>): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) {
    v.keep();
    return;
  }
  if (v instanceof Float32Array) {
    storage.add(v.buffer);
    return;
  }
  if (Array.isArray(v)) for (const x of v) markKept(x, depth + 1, storage);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) markKept(x, depth + 1, storage);
}

/**
 * Record op on out when grad mode is on and some input requires a gradient. Returns out.
 * The backward rule receives out's gradient and adds into the inputs' via addGrad & co.
 */
export function record(op: string, out: Tensor, inputs: readonly Tensor[], backward: (g: Float32Array) => void): Tensor {
  if (!gradEnabled) return out;
  let any = false;
  for (const t of inputs) if (t.requiresGrad) any = true;
  if (!any) return out;
  out.requiresGrad = true;
  out.node = { op, inputs, backward } satisfies Node;
  return out;
}

/** Gradients of non-leaf tensors during one backward() call (present once a contribution arrived). */
let live: Map<Tensor, Float32Array> | null = null;

/**
 * The buffer t's gradient accumulates in. fresh=true means this is the first contribution: the
 * contents are undefined and must be overwritten. Null when t needs no gradient.
 */
export function gradSlot(t: Tensor): { buf: Float32Array; fresh: boolean } | null {
  if (!t.requiresGrad) return null;
  if (live === null) throw new Error('gradient helpers are only usable inside backward()');
  if (t.node === null) {
    // A leaf: .grad persists across backward calls and accumulates.
    if (t.grad === null) {
      t.grad = newFloats(t.size);
      t.gradFresh = true;
    }
    const fresh = t.gradFresh;
    t.gradFresh = false;
    return { buf: t.grad, fresh };
  }
  const buf = live.get(t);
  if (buf) return { buf, fresh: false };
  const fresh = alloc(t.size);
  live.set(t, fresh);
  return { buf: fresh, fresh: true };
}

/** Add a contribution to t's gradient: write(buf, fresh) overwrites buf when fresh, else adds into it. */
export function addGrad(t: Tensor, write: (buf: Float32Array, fresh: boolean) => void): void {
  const s = gradSlot(t);
  if (s) write(s.buf, s.fresh);
}

/** For kernels that overwrite their output: write(out) fills out with the contribution. */
export function addGradOverwrite(t: Tensor, write: (out: Float32Array) => void): void {
  const s = gradSlot(t);
  if (!s) return;
  if (s.fresh) {
    write(s.buf);
    return;
  }
  const tmp = alloc(t.size);
  write(tmp);
  const b = s.buf;
  for (let i = 0; i < b.length; i++) b[i] += tmp[i];
  freeNow(tmp);
}

/** For kernels that accumulate into their output: write(acc) adds the contribution to acc. */
export function addGradAccumulate(t: Tensor, write: (acc: Float32Array) => void): void {
  const s = gradSlot(t);
  if (!s) return;
  if (s.fresh) s.buf.fill(0);
  write(s.buf);
}

/**
 * For kernels that produce several input gradients at once and overwrite them all. Each returned
 * buffer is where the kernel writes; call the returned commit() after the kernel to fold scratch
 * buffers into existing gradients. Tensors that need no gradient still get a scratch buffer.
 */
export function overwriteTargets(ts: readonly Tensor[]): { bufs: Float32Array[]; commit: () => void } {
  const bufs: Float32Array[] = [];
  const pending: { scratch: Float32Array; into: Float32Array | null }[] = [];
  for (const t of ts) {
    const s = gradSlot(t);
    if (s && s.fresh) {
      bufs.push(s.buf);
    } else {
      const scratch = alloc(t.size);
      bufs.push(scratch);
      pending.push({ scratch, into: s ? s.buf : null });
    }
  }
  return {
    bufs,
    commit: () => {
      for (const p of pending) {
        if (p.into) {
          const b = p.into;
          const x = p.scratch;
          for (let i = 0; i < b.length; i++) b[i] += x[i];
        }
        freeNow(p.scratch);
      }
    },
  };
}

export class BackwardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackwardError';
  }
}

/**
 * Reverse-mode differentiation from root. With no gradient given, root must have one element
 * (a loss) and must be finite; otherwise `grad` (root's shape) is the upstream gradient.
 * Gradients accumulate into the .grad of every leaf with requiresGrad (call zeroGrad between
 * steps). The graph is kept, so backward may run again on it until its scope ends.
 */
export function backward(root: Tensor, grad?: Tensor | Float32Array): void {
  if (live !== null) throw new BackwardError('backward: called from inside another backward()');
  let g0: Float32Array;
  if (grad === undefined) {
    if (root.size !== 1) throw new BackwardError(`backward: the loss must have one element, got shape ${fmt(root.shape)}; pass the upstream gradient for a non-scalar output`);
    const v = root.data[0];
    if (!Number.isFinite(v)) {
      throw new BackwardError(`backward: the loss is ${v}${root.node ? ` (produced by op "${root.node.op}")` : ''}; refusing to propagate a non-finite loss`);
    }
    g0 = Float32Array.of(1);
  } else {
    g0 = grad instanceof Tensor ? grad.data : grad;
    if (grad instanceof Tensor && !sameShape(grad.shape, root.shape)) {
      throw new ShapeError('backward', `upstream gradient shape ${fmt(grad.shape)} does not match output shape ${fmt(root.shape)}`);
    }
    if (g0.length !== root.size) throw new ShapeError('backward', `upstream gradient has ${g0.length} elements, output ${fmt(root.shape)} has ${root.size}`);
    for (let i = 0; i < g0.length; i++) {
      if (!Number.isFinite(g0[i])) throw new BackwardError(`backward: upstream gradient element ${i} is ${g0[i]}`);
    }
  }
  if (!root.requiresGrad) {
    throw new BackwardError(`backward: ${root.describe()} does not require a gradient (no input has requiresGrad, it was computed in noGrad(), or it was returned from a scope(), which detaches it: call backward inside the scope)`);
  }
  const order = topoOrder(root);
  live = new Map();
  try {
    addGrad(root, (buf, fresh) => {
      if (fresh) buf.set(g0);
      else for (let i = 0; i < buf.length; i++) buf[i] += g0[i];
    });
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const node = t.node!;
      const g = live.get(t);
      if (!g) continue; // no gradient reached this tensor
      node.backward(g);
      live.delete(t);
      freeNow(g);
    }
  } finally {
    if (live) for (const g of live.values()) freeNow(g);
    live = null;
  }
}

/** Non-leaf tensors reachable from root through inputs that require a gradient, inputs first. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  if (!root.node) return order;
  const seen = new Set<Tensor>([root]);
  // Iterative DFS (deep models would overflow recursion): [tensor, next input index].
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top[0].node!.inputs;
    if (top[1] < inputs.length) {
      const x = inputs[top[1]++];
      if (x.node && x.requiresGrad && !seen.has(x)) {
        seen.add(x);
        stack.push([x, 0]);
      }
    } else {
      stack.pop();
      order.push(top[0]);
    }
  }
  return order;
}
