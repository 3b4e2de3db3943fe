/**
 * `npm run bench -- model [--preset smollm-135m|tiny | --model DIR] [--batch 4 --seq 256 --lora-rank 16
 *   --sample-seqs 16 --sample-tokens 64 --prompt-tokens 16 --repeats 3 --weights-dtype f32|bf16 --json]`
 *
 * LoRA forward and forward+backward throughput (tokens/s over batch × seq, adapters on every
 * projection), greedy batched sampling with the KV cache (generated tokens/s) with the adapter as
 * two extra products and merged into the weights (withMergedAdapter), and peak RSS.
 * --weights-dtype bf16 keeps the frozen base in bf16 (a preset is rounded to it).
 * Medians over repeats after one warm-up. Figures only: nothing here asserts timing.
 * The same checkpoint can be timed by another implementation (bench/model_torch.py).
 */
import { parseArgs } from 'node:util';
import { backward, crossEntropy, kernels, noGrad, reshape, Rng, scope } from '../src/engine/index.js';
import { parseConfig } from '../src/model/config.js';
import { buildConfigJson, DEFAULTS, initWeights, PRESETS, type InitSpec } from '../src/model/init.js';
import { loadModel } from '../src/model/load.js';
import { addLora, withMergedAdapter } from '../src/model/lora.js';
import { toBf16Bits } from '../src/model/dtype.js';
import { mayStay16 } from '../src/model/weights.js';
import type { NamedTensor, NamedTensor16 } from '../src/model/safetensors.js';
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

function presetModel(name: string, seed: number, bf16: boolean): Transformer {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset "${name}" (${Object.keys(PRESETS).join(', ')})`);
  const spec: InitSpec = { ...DEFAULTS, ...p };
  // The character tokenizer has 101 entries; the preset may pad vocab_size beyond it.
  const config = parseConfig(buildConfigJson(spec, 101, { bos: null, eos: 2, pad: 0 }), `preset ${name}`);
  const w: Map<string, NamedTensor | NamedTensor16> = initWeights(config, seed);
  if (bf16) for (const [k, t] of w) if (mayStay16(config, k) && 'data' in t) w.set(k, { shape: t.shape, dtype: 'bf16', bits: toBf16Bits(t.data) });
  return new Transformer(config, w, `preset ${name}`);
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
        skip: { type: 'string', default: '' }, 'weights-dtype': { type: 'string', default: 'auto' },
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
  const wd = String(o['weights-dtype']);
  if (!['auto', 'f32', 'bf16'].includes(wd)) {
    process.stderr.write(`bench model: --weights-dtype must be f32 or bf16, got ${wd}\n`);
    return 2;
  }
  const model = o.model ? loadModel(o.model, { weightsDtype: wd as 'auto' | 'f32' | 'bf16' }) : presetModel(o.preset ?? 'tiny', 0, wd === 'bf16');
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
  log(`model ${o.model ?? `preset ${o.preset ?? 'tiny'}`}: ${c.architecture}, hidden ${c.hiddenSize}, ${c.numLayers} layers, vocab ${V}, base weights ${model.weightsDtype}; kernels ${kernels().name}, ${kernels().getThreads()} thread(s)\n`);

  const fwd: number[] = [];
  const fb: number[] = [];
  const smp: number[] = [];
  const smpMerged: number[] = [];
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
      const so = { maxNewTokens: G, temperature: 0, stopTokenIds: [], stopOnEos: false };
      const t = time(() => void sample(model, prompts, so));
      if (i > 0) smp.push((S * G) / t);
      // Merged: the fold (W + s·B·A for every projection) is part of the time, as in a GRPO step.
      const tm = time(() => void withMergedAdapter(model, () => sample(model, prompts, so)));
      if (i > 0) smpMerged.push((S * G) / tm);
    }
    log(`  repeat ${i === 0 ? 'warm-up' : i}: fwd ${fwd.at(-1)?.toFixed(1) ?? '-'} tok/s, fwd+bwd ${fb.at(-1)?.toFixed(1) ?? '-'} tok/s, sample ${smp.at(-1)?.toFixed(1) ?? '-'} tok/s, merged ${smpMerged.at(-1)?.toFixed(1) ?? '-'} tok/s\n`);
  }
  // Decoding reads every weight once per step (all S sequences share it): the step time is bounded
  // below by (weight bytes) / (read bandwidth), so S / that is the tokens/s bound.
  let weightBytes = 0;
  for (const t of model.params.values()) weightBytes += t.size * ('bits' in t ? 2 : 4);
  if (c.tieWordEmbeddings) weightBytes += model.embed.size * ('bits' in model.embed ? 2 : 4); // read again as lm_head
  const addon = kernels().name.startsWith('native') ? (await import('../src/engine/native.js')).rawAddon() : null;
  const bandwidth = addon && smp.length ? addon.readBandwidth(kernels().getThreads(), 256) : null;
  const boundTokS = bandwidth ? (S * bandwidth * 1e9) / weightBytes : null;
  const res = {
    fwd_tokens_per_s: fwd.length ? median(fwd) : null,
    fwd_bwd_tokens_per_s: fb.length ? median(fb) : null,
    sample_tokens_per_s: smp.length ? median(smp) : null,
    sample_merged_tokens_per_s: smpMerged.length ? median(smpMerged) : null,
    weights_dtype: model.weightsDtype,
    read_bandwidth_gbs: bandwidth,
    sample_bound_tokens_per_s: boundTokS,
    sample_fraction_of_bound: boundTokS && smp.length ? median(smp) / boundTokS : null,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    threads: kernels().getThreads(),
  };
  if (o.json) process.stdout.write(JSON.stringify(res) + '\n');
  else if (boundTokS) log(`decode bound: ${(weightBytes / 1e6).toFixed(1)} MB of weights per step at ${bandwidth!.toFixed(1)} GB/s read → ${boundTokS.toFixed(0)} tok/s for ${S} seqs; sampling reached ${(100 * res.sample_fraction_of_bound!).toFixed(0)}% of it (merged ${(100 * median(smpMerged) / boundTokS).toFixed(0)}%)\n`);
  if (!o.json) log(`median: fwd ${res.fwd_tokens_per_s?.toFixed(1)} tok/s, LoRA fwd+bwd ${res.fwd_bwd_tokens_per_s?.toFixed(1)} tok/s (batch ${B} × ${T}, r ${r}), sampling ${res.sample_tokens_per_s?.toFixed(1)} tok/s, merged-LoRA ${res.sample_merged_tokens_per_s?.toFixed(1)} tok/s (${S} seqs × ${G} new), peak RSS ${res.peak_rss_mb} MB\n`);
  return 0;
}
