/** `rft model init|info|forward`: make, inspect and run Hugging Face-layout models. */
import type { Command } from 'commander';
import { CliError } from '../main.js';
import { DEFAULTS, InitError, initModel, PRESETS, type InitSpec } from '../../model/init.js';
import { formatModelInfo, modelInfo } from '../../model/info.js';
import { ConfigError, parameterCount, type Arch } from '../../model/config.js';
import { SafetensorsError, type DType } from '../../model/safetensors.js';
import { TokenizerError } from '../../model/tokenizer.js';
import { WeightsError } from '../../model/weights.js';
import { ModelError } from '../../model/transformer.js';
import { loadModel } from '../../model/load.js';
import { AdapterError, loadAdapter } from '../../model/lora.js';
import { noGrad, scope } from '../../engine/index.js';

function int(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new CliError(`${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}
function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}

const USER_ERRORS = [ConfigError, SafetensorsError, TokenizerError, WeightsError, InitError, AdapterError, ModelError];

/** Runs f, turning the model layer's errors about files and inputs (the user's doing) into CliErrors. */
export function userErrors<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (USER_ERRORS.some((C) => e instanceof C)) throw new CliError((e as Error).message);
    throw e;
  }
}

export function register(program: Command): void {
  const model = program.command('model').description('create, inspect and run models in Hugging Face layout');

  model
    .command('init')
    .description('write a new randomly initialised model (config.json, model.safetensors, tokenizer) from flags')
    .requiredOption('--out <dir>', 'output folder')
    .option('--preset <name>', `start from a preset (${Object.keys(PRESETS).join(', ')}); other flags override it`)
    .option('--arch <arch>', 'llama | qwen2 | qwen3')
    .option('--hidden <n>', 'hidden size', int('--hidden'))
    .option('--layers <n>', 'number of layers', int('--layers'))
    .option('--heads <n>', 'attention heads', int('--heads'))
    .option('--kv-heads <n>', 'key/value heads (grouped-query attention)', int('--kv-heads'))
    .option('--head-dim <n>', 'head size (default hidden / heads)', int('--head-dim'))
    .option('--intermediate <n>', 'MLP intermediate size', int('--intermediate'))
    .option('--vocab-from <src>', '"chars" (printable ASCII) or a text file whose characters form the vocabulary (with those of the chat template: role names, space, newline)')
    .option('--vocab-size <n>', 'config vocab_size (≥ tokenizer size; pads the embedding)', int('--vocab-size'))
    .option('--no-tie', 'untied input/output embeddings (an lm_head.weight of its own)')
    .option('--rope-theta <x>', 'RoPE base', num('--rope-theta'))
    .option('--llama3-rope <f,lo,hi,orig>', 'llama3 rope scaling: factor, low_freq_factor, high_freq_factor, original_max_position_embeddings')
    .option('--max-positions <n>', 'max_position_embeddings', int('--max-positions'))
    .option('--rms-norm-eps <x>', 'RMSNorm epsilon', num('--rms-norm-eps'))
    .option('--attention-bias', 'q/k/v/o biases (Llama, Qwen3; Qwen2 always has q/k/v biases)')
    .option('--dtype <t>', 'storage dtype: f32 | f16 | bf16', 'f32')
    .option('--seed <n>', 'random seed', int('--seed', 0), 0)
    .option('--init-std <x>', 'std of the normal init (initializer_range, default 0.02)', num('--init-std'))
    .option('--random-norms', 'randomise norm weights and biases too (to compare implementations)')
    .option('--force', 'overwrite an existing model folder')
    .option('--json', 'print a JSON summary')
    .action((o: Record<string, unknown>) => {
      const preset = o.preset === undefined ? {} : PRESETS[o.preset as string];
      if (!preset) throw new CliError(`unknown --preset "${String(o.preset)}"; choose one of ${Object.keys(PRESETS).join(', ')}`);
      const spec: InitSpec = { ...DEFAULTS, ...preset };
      const set = <K extends keyof InitSpec>(k: K, v: unknown) => {
        if (v !== undefined) spec[k] = v as InitSpec[K];
      };
      if (o.arch !== undefined && !['llama', 'qwen2', 'qwen3'].includes(o.arch as string)) throw new CliError(`--arch must be llama, qwen2 or qwen3, got "${String(o.arch)}"`);
      set('arch', o.arch as Arch | undefined);
      set('hidden', o.hidden);
      set('layers', o.layers);
      set('heads', o.heads);
      set('kvHeads', o.kvHeads);
      set('headDim', o.headDim);
      set('intermediate', o.intermediate);
      set('vocabFrom', o.vocabFrom);
      set('vocabSize', o.vocabSize);
      if (o.tie === false) spec.tieEmbeddings = false;
      set('ropeTheta', o.ropeTheta);
      set('maxPositions', o.maxPositions);
      set('rmsNormEps', o.rmsNormEps);
      set('seed', o.seed);
      set('initStd', o.initStd);
      if (o.attentionBias) spec.attentionBias = true;
      if (o.randomNorms) spec.randomNorms = true;
      if (o.llama3Rope !== undefined) {
        const p = String(o.llama3Rope).split(',').map(Number);
        if (p.length !== 4 || p.some((x) => !Number.isFinite(x) || x <= 0)) throw new CliError(`--llama3-rope must be four positive numbers "factor,low,high,original_max_positions", got "${String(o.llama3Rope)}"`);
        spec.llama3Rope = p as [number, number, number, number];
      }
      const dtype = String(o.dtype).toUpperCase();
      if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new CliError(`--dtype must be f32, f16 or bf16, got "${String(o.dtype)}"`);
      spec.dtype = dtype as DType;
      if (spec.headDim === undefined && spec.hidden % spec.heads !== 0) throw new CliError(`--hidden ${spec.hidden} is not divisible by --heads ${spec.heads}; give --head-dim`);
      if (spec.heads % spec.kvHeads !== 0) throw new CliError(`--heads ${spec.heads} must be a multiple of --kv-heads ${spec.kvHeads}`);
      const { config, files } = userErrors(() => initModel(o.out as string, spec, o.force === true));
      if (o.json) process.stdout.write(JSON.stringify({ dir: o.out, architecture: config.architecture, parameters: parameterCount(config), files }) + '\n');
      else process.stdout.write(`wrote ${config.architecture} with ${parameterCount(config)} parameters to ${String(o.out)} (${files.join(', ')})\n`);
    });

  model
    .command('info')
    .description('print architecture, sizes, parameter count, dtype and tokenizer of a model folder')
    .argument('<dir>', 'model folder (Hugging Face layout)')
    .option('--json', 'print JSON')
    .action((dir: string, o: { json?: boolean }) => {
      const info = userErrors(() => modelInfo(dir));
      process.stdout.write(o.json ? JSON.stringify(info, null, 2) + '\n' : formatModelInfo(info));
    });

  registerForward(model);
}

/** `--weights-dtype`: the frozen base weights' storage; without it, the checkpoint's own dtype. */
export const WEIGHTS_DTYPE_FLAG = ['--weights-dtype <t>', 'frozen base weights: f32 | bf16 (default: the checkpoint\'s dtype)'] as const;

export function parseWeightsDtype(v: string | undefined): 'f32' | 'bf16' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'f32' && v !== 'bf16') throw new CliError(`--weights-dtype must be f32 or bf16, got "${v}"`);
  return v;
}

/** Loads a model folder and, optionally, a PEFT adapter on it, turning file problems into CliErrors. */
export function loadForCli(modelDir: string, adapterDir?: string, weightsDtype?: string) {
  const wd = parseWeightsDtype(weightsDtype);
  return userErrors(() => {
    const model = loadModel(modelDir, { weightsDtype: wd ?? 'auto' });
    if (adapterDir) loadAdapter(model, adapterDir);
    return model;
  });
}

export function registerForward(model: Command): void {
  model
    .command('forward')
    .description('print the logits at every position of one id sequence (to compare with other implementations)')
    .requiredOption('--model <dir>', 'model folder (Hugging Face layout)')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder')
    .requiredOption('--ids <list>', 'comma-separated token ids, e.g. 1,2,3')
    .option('--json', 'print {"logits": [[...], ...]} (one row of vocab_size values per position)')
    .action((o: { model: string; adapter?: string; ids: string; json?: boolean }) => {
      const ids = o.ids.split(',').map((x) => x.trim());
      if (ids.length === 0 || ids.some((x) => !/^\d+$/.test(x))) throw new CliError(`--ids must be comma-separated non-negative integers, got "${o.ids}"`);
      const m = loadForCli(o.model, o.adapter);
      const V = m.config.vocabSize;
      const bad = ids.find((x) => Number(x) >= V);
      if (bad !== undefined) throw new CliError(`--ids: token id ${bad} is outside the vocabulary of ${o.model} (0..${V - 1})`);
      const logits = noGrad(() => scope(() => m.forward(Int32Array.from(ids, Number), 1, ids.length).data.slice()));
      const rows = ids.map((_, t) => Array.from(logits.subarray(t * V, (t + 1) * V)));
      if (o.json) {
        process.stdout.write(JSON.stringify({ logits: rows }) + '\n');
        return;
      }
      rows.forEach((r, t) => {
        const top = r.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
        process.stdout.write(`${t}\tid ${ids[t]}\ttop: ${top.map(([v, i]) => `${i} (${v.toFixed(4)})`).join(', ')}\n`);
      });
    });
}

export { InitError };
