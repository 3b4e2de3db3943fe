/**
 * `npm run bench -- engine [--json] [--steps N]`: the tensor engine's own cost on top of the kernels.
 * A training step of a small Llama-style stack (embedding, rmsnorm, GQA attention with RoPE,
 * SwiGLU MLP, cross-entropy, AdamW) inside scope(): milliseconds per step, tokens/s, the share of
 * time spent inside kernel calls (the rest is the engine: tape, elementwise ops in TypeScript,
 * pooling), and the pool's allocation count after warm-up and at the end (equal when buffer reuse
 * works). Medians over steps; nothing here asserts a time.
 */
import * as E from '../src/engine/index.js';
import type { Kernels } from '../src/engine/kernels.js';

const cfg = { B: 4, T: 128, dim: 256, Hq: 8, Hkv: 2, D: 32, hidden: 768, vocab: 1024, layers: 2 };

function timedKernels(k: Kernels, acc: { ms: number }): Kernels {
  return new Proxy(k, {
    get(target, prop) {
      const v = (target as any)[prop];
      if (typeof v !== 'function' || prop === 'getThreads' || prop === 'setThreads') return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r = v.apply(target, args);
        acc.ms += performance.now() - t0;
        return r;
      };
    },
  });
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const si = args.indexOf('--steps');
  const steps = si >= 0 ? Number(args[si + 1]) : 8;
  if (!Number.isInteger(steps) || steps < 3) {
    process.stderr.write('engine bench: --steps needs an integer ≥ 3\n');
    return 2;
  }
  const { B, T, dim, Hq, Hkv, D, hidden, vocab, layers } = cfg;
  const rng = new E.Rng(1);
  const p = (shape: number[], std = 0.05) => E.randn(shape, rng, { requiresGrad: true, std });
  const ones = (n: number) => E.full([n], 1, { requiresGrad: true });
  const embed = p([vocab, dim]);
  const blocks = Array.from({ length: layers }, () => ({
    n1: ones(dim), wq: p([Hq * D, dim]), wk: p([Hkv * D, dim]), wv: p([Hkv * D, dim]), wo: p([dim, Hq * D]),
    n2: ones(dim), gate: p([hidden, dim]), up: p([hidden, dim]), down: p([dim, hidden]),
  }));
  const norm = ones(dim);
  const head = p([vocab, dim]);
  const params = [embed, norm, head, ...blocks.flatMap((b) => Object.values(b))];
  const opt = new E.AdamW(params, { lr: 1e-3 });
  const ids = Int32Array.from({ length: B * T }, () => rng.int(vocab));
  const targets = Int32Array.from({ length: B * T }, (_, i) => ((i + 1) % T === 0 ? -1 : ids[i + 1]));
  const positions = Int32Array.from({ length: B * T }, (_, i) => i % T);
  const table = E.ropeTable(T, D);

  const step = (): number => E.scope(() => {
    opt.zeroGrad();
    let x = E.embedding(embed, ids, [B, T]);
    for (const b of blocks) {
      const h = E.rmsnorm(x, b.n1);
      const q = E.rope(E.reshape(E.linear(h, b.wq), [B, T, Hq, D]), positions, table);
      const k = E.rope(E.reshape(E.linear(h, b.wk), [B, T, Hkv, D]), positions, table);
      const v = E.reshape(E.linear(h, b.wv), [B, T, Hkv, D]);
      x = E.add(x, E.linear(E.reshape(E.attention(q, k, v), [B, T, Hq * D]), b.wo));
      const m = E.rmsnorm(x, b.n2);
      x = E.add(x, E.linear(E.swiglu(E.linear(m, b.gate), E.linear(m, b.up)), b.down));
    }
    const loss = E.crossEntropy(E.linear(E.rmsnorm(x, norm), head), targets);
    E.backward(loss);
    opt.step();
    return loss.item();
  });

  const base = E.kernels();
  const acc = { ms: 0 };
  const prev = E.useKernels(timedKernels(base, acc));
  const times: number[] = [];
  const kernelShare: number[] = [];
  let allocAfterWarmup = 0;
  try {
    for (let s = 0; s < steps; s++) {
      acc.ms = 0;
      const t0 = performance.now();
      step();
      const ms = performance.now() - t0;
      if (s === 1) allocAfterWarmup = E.pool.stats().allocations;
      if (s >= 2) {
        times.push(ms);
        kernelShare.push(acc.ms / ms);
      }
    }
  } finally {
    E.useKernels(prev);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const stats = E.pool.stats();
  const result = {
    kernels: base.name,
    threads: base.getThreads(),
    shape: cfg,
    ms_per_step: median(times),
    tokens_per_s: (B * T) / (median(times) / 1000),
    kernel_share: median(kernelShare),
    pool_allocations_after_warmup: allocAfterWarmup,
    pool_allocations_at_end: stats.allocations,
    pool_mbytes: stats.bytesAllocated / 2 ** 20,
  };
  if (json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`engine training step on ${result.kernels} (${result.threads} thread(s)); B ${B} × T ${T}, dim ${dim}, ${layers} layers, vocab ${vocab}`);
    console.log(`  ${result.ms_per_step.toFixed(1)} ms/step (median of ${times.length}), ${result.tokens_per_s.toFixed(0)} tokens/s`);
    console.log(`  time inside kernel calls: ${(100 * result.kernel_share).toFixed(1)}% (the rest is the engine's own work)`);
    console.log(`  pool: ${allocAfterWarmup} allocations after warm-up, ${stats.allocations} at the end, ${result.pool_mbytes.toFixed(1)} MiB`);
  }
  return 0;
}
