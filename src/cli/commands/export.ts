/**
 * `rft model export`: a base model with its LoRA adapter merged, as a Hugging Face folder
 * (`--merged DIR`) or as a GGUF file for llama.cpp / Ollama (`--gguf OUT.gguf`).
 * Registered under the `model` command.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { loadForCli, userErrors } from './model.js';
import { loadTokenizer, saveModel } from '../../model/load.js';
import { getAdapter, mergeLora } from '../../model/lora.js';
import { exportGguf } from '../../model/export/to-gguf.js';
import { GgufError } from '../../model/export/gguf.js';

interface ExportOptions {
  model: string;
  adapter?: string;
  merged?: string;
  gguf?: string;
  dtype: string;
  force?: boolean;
}

export function register(program: Command): void {
  const model = program.commands.find((c) => c.name() === 'model') ?? program.command('model');
  model
    .command('export')
    .description('export a model (with a LoRA adapter merged) as a Hugging Face folder (--merged) or a GGUF file (--gguf)')
    .requiredOption('--model <dir>', 'base model folder (Hugging Face layout)')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder to merge into the base (required with --merged, optional with --gguf)')
    .option('--merged <dir>', 'write the merged model as a Hugging Face folder here')
    .option('--gguf <file>', 'write a GGUF file here (llama.cpp, Ollama)')
    .option('--dtype <type>', 'storage type: f32 | f16 (GGUF matrices; merged folder weights)', 'f32')
    .option('--force', 'overwrite an existing output')
    .action((o: ExportOptions) => {
      if ((o.merged === undefined) === (o.gguf === undefined)) throw new CliError('give exactly one of --merged DIR or --gguf FILE');
      if (o.merged !== undefined && !o.adapter) throw new CliError('--merged needs --adapter DIR (the adapter to merge into the base)');
      const dtype = o.dtype.toLowerCase();
      if (dtype !== 'f32' && dtype !== 'f16') throw new CliError(`--dtype must be f32 or f16, got "${o.dtype}"`);
      const out = (o.merged ?? o.gguf)!;
      if (existsSync(out) && !o.force) throw new CliError(`${out} exists; pass --force to overwrite it`);
      const m = loadForCli(o.model, o.adapter);
      if (getAdapter(m)) userErrors(() => mergeLora(m));
      if (o.merged !== undefined) {
        userErrors(() => saveModel(m, o.merged!, { dtype: dtype === 'f16' ? 'F16' : 'F32', tokenizerFrom: o.model }));
        process.stdout.write(`wrote ${o.merged} (${o.model} with ${o.adapter} merged)\n`);
        return;
      }
      const tok = userErrors(() => loadTokenizer(o.model, m));
      try {
        const r = exportGguf(m, tok, o.model, o.gguf!, { dtype: dtype === 'f16' ? 'F16' : 'F32', name: o.model.split('/').filter(Boolean).pop() });
        process.stdout.write(`wrote ${o.gguf}: ${r.tensors} tensors, ${r.metadata} metadata keys${o.adapter ? ` (adapter ${o.adapter} merged)` : ''}\n`);
      } catch (e) {
        if (e instanceof GgufError) throw new CliError(e.message);
        throw e;
      }
    });
}
