/**
 * `npm run bench -- model [--preset smollm-135m|tiny | --model DIR] [--batch 4 --seq 256 --lora-rank 16
 *   --sample-seqs 16 --sample-tokens 64 --prompt-tokens 16 --repeats 3 --json]`
 *
 * LoRA forward and forward+backward throughput (tokens/s over batch × seq, adapters on every
 * projection), greedy batched sampling with the KV cache (generated tokens/s), and peak RSS.
 * Medians over repeats after one warm-up. Figures only: nothing here asserts timing.
 * The same checkpoint can be timed by another implementation (bench/model_torch.py).
 */
import { parseArgs } from 'node:util';
import { backward, crossEntropy, kernels, noGrad, reshape, Rng, scope } from '../src/engine/index.js';
import { parseConfig } from '../src/model/config.js';
import { buildConfigJson, DEFAULTS, initWeights, PRESETS, type InitSpec } from '../src/model/init.js';
import { loadModel } from '../src/model/load.js';
import { addLora } from '../src/model/lora.js';
import { sample } from '../src/model/sampler.js';
import { PROJECTIONS, Transformer } from '../src/model/transformer.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function presetModel(name: string, seed: number): Transformer {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset "${name}" (${Object.keys(PRESETS).join(', ')})`);
  const spec: InitSpec = { ...DEFAULTS, ...p };
  // The character tokenizer has 101 entries; the preset may pad vocab_size beyond it.
  const config = parseConfig(buildConfigJson(spec, 101, { bos: null, eos: 2, pad: 0 }), `preset ${name}`);
  return new Transformer(config, initWeights(config, seed), `preset ${name}`);
}

export async function run(args: string[]): Promise<number> {
  let o;
  try {
    o = parseArgs({
      args,
      options: {
        preset: { type: 'string' }, model: { type: 'string' }, batch: { type: 'string', default: '4' }, seq: { type: 'string', default: '256' },
        'lora-rank': { type: 'string', default: '16' }, 'sample-seqs': { type: 'string', default: '16' }, 'sample-tokens': { type: 'string', default: '64' },
        'prompt-tokens': { type: 'string', default: '16' }, repeats: { type: 'string', default: '3' }, json: { type: 'boolean', default: false },
        skip: { type: 'string', default: '' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`bench model: ${(e as Error).message}\n`);
    return 2;
  }
  const n = (k: keyof typeof o) => {
    const v = Number(o[k]);
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer, got ${String(o[k])}`);
    return v;
  };
  const [B, T, r, S, G, P, reps] = [n('batch'), n('seq'), n('lora-rank'), n('sample-seqs'), n('sample-tokens'), n('prompt-tokens'), n('repeats')];
  const skip = new Set(String(o.skip).split(',').filter(Boolean));
  if (o.model && o.preset) {
    process.stderr.write('bench model: give --model DIR or --preset NAME, not both\n');
    return 2;
  }
  const model = o.model ? loadModel(o.model) : presetModel(o.preset ?? 'tiny', 0);
  const c = model.config;
  const rng = new Rng(1);
  const adapter = addLora(model, { r, alpha: 2 * r, dropout: 0, targetModules: [...PROJECTIONS] }, rng);
  for (const p of adapter.parameters()) if (p.name!.endsWith('lora_B.weight')) p.data.fill(0.01);
  const V = c.vocabSize;
  const ids = Int32Array.from({ length: B * T }, () => rng.int(Math.min(V, 100)));
  const targets = Int32Array.from({ length: B * T }, (_, i) => ids[(i + 1) % ids.length]!);
  const log = (s: string) => {
    if (!o.json) process.stdout.write(s);
  };
  log(`model ${o.model ?? `preset ${o.preset ?? 'tiny'}`}: ${c.architecture}, hidden ${c.hiddenSize}, ${c.numLayers} layers, vocab ${V}; kernels ${kernels().name}, ${kernels().getThreads()} thread(s)\n`);

  const fwd: number[] = [];
  const fb: number[] = [];
  const smp: number[] = [];
  for (let i = 0; i <= reps; i++) {
    // i = 0 is the warm-up (buffer pool, JIT).
    if (!skip.has('fwd')) {
      const t = time(() => noGrad(() => scope(() => void model.forward(ids, B, T).data[0])));
      if (i > 0) fwd.push((B * T) / t);
    }
    if (!skip.has('bwd')) {
      const t = time(() => scope(() => backward(crossEntropy(reshape(model.forward(ids, B, T), [B * T, V]), targets))));
      for (const p of adapter.parameters()) p.zeroGrad();
      if (i > 0) fb.push((B * T) / t);
    }
    if (!skip.has('sample')) {
      const prompts = Array.from({ length: S }, (_, s) => Array.from({ length: P }, (_, j) => (s * 7 + j * 3) % Math.min(V, 100)));
      const t = time(() => void sample(model, prompts, { maxNewTokens: G, temperature: 0, stopTokenIds: [], stopOnEos: false }));
      if (i > 0) smp.push((S * G) / t);
    }
    log(`  repeat ${i === 0 ? 'warm-up' : i}: fwd ${fwd.at(-1)?.toFixed(1) ?? '-'} tok/s, fwd+bwd ${fb.at(-1)?.toFixed(1) ?? '-'} tok/s, sample ${smp.at(-1)?.toFixed(1) ?? '-'} tok/s\n`);
  }
  const res = {
    fwd_tokens_per_s: fwd.length ? median(fwd) : null,
    fwd_bwd_tokens_per_s: fb.length ? median(fb) : null,
    sample_tokens_per_s: smp.length ? median(smp) : null,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    threads: kernels().getThreads(),
  };
  if (o.json) process.stdout.write(JSON.stringify(res) + '\n');
  else log(`median: fwd ${res.fwd_tokens_per_s?.toFixed(1)} tok/s, LoRA fwd+bwd ${res.fwd_bwd_tokens_per_s?.toFixed(1)} tok/s (batch ${B} × ${T}, r ${r}), sampling ${res.sample_tokens_per_s?.toFixed(1)} tok/s (${S} seqs × ${G} new), peak RSS ${res.peak_rss_mb} MB\n`);
  return 0;
}
