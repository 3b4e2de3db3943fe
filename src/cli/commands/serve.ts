/** `rft serve`: the OpenAI-compatible server for a base model and its LoRA adapters. */
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { loadForCli, userErrors, WEIGHTS_DTYPE_FLAG } from './model.js';
import { loadTokenizer } from '../../model/load.js';
import { InferenceServer } from '../../server/http.js';
import { ApiError } from '../../server/errors.js';

const int = (name: string, lo: number, hi: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < lo || n > hi) throw new CliError(`${name} must be an integer in [${lo}, ${hi}], got "${v}"`);
  return n;
};

/** `--adapter NAME=DIR`, repeatable. */
function parseAdapters(list: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    if (i <= 0 || i === a.length - 1) throw new CliError(`--adapter "${a}": expected NAME=DIR, e.g. --adapter math=runs/grpo1/adapter`);
    const name = a.slice(0, i);
    if (out[name]) throw new CliError(`--adapter: the name "${name}" is given twice`);
    out[name] = a.slice(i + 1);
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve a model (and LoRA adapters) over an OpenAI-compatible HTTP API with continuous batching')
    .requiredOption('--model <dir>', 'model folder (Hugging Face layout)')
    .option('--adapter <name=dir...>', 'a PEFT LoRA adapter served under NAME (repeatable)')
    .option('--name <id>', 'the id the base model is served under (default: the folder name)')
    .option(...WEIGHTS_DTYPE_FLAG)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', int('--port', 0, 65535), 8000)
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" on /v1/* (default: $RFT_API_KEY, else no key)')
    .option('--max-batch <n>', 'sequences decoded together at most', int('--max-batch', 1, 1024), 32)
    .option('--max-queue <n>', 'requests waiting at most before 429', int('--max-queue', 0, 100000), 64)
    .option('--allow-runtime-lora', "serve vLLM's POST /v1/load_lora_adapter and /v1/unload_lora_adapter (default: $VLLM_ALLOW_RUNTIME_LORA_UPDATING is 1 or true)")
    .action(async (o: { model: string; adapter?: string[]; name?: string; weightsDtype?: string; host: string; port: number; apiKey?: string; maxBatch: number; maxQueue: number; allowRuntimeLora?: boolean }) => {
      const adapters = parseAdapters(o.adapter);
      const model = loadForCli(o.model, undefined, o.weightsDtype);
      const tokenizer = userErrors(() => loadTokenizer(o.model, model));
      const modelName = o.name ?? basename(resolve(o.model));
      const allowRuntimeLora = o.allowRuntimeLora === true || /^(1|true)$/i.test(process.env.VLLM_ALLOW_RUNTIME_LORA_UPDATING ?? '');
      let server: InferenceServer;
      try {
        server = new InferenceServer({ model, tokenizer, modelName, adapters, apiKey: o.apiKey ?? process.env.RFT_API_KEY, maxBatch: o.maxBatch, maxQueue: o.maxQueue, allowRuntimeLora });
      } catch (e) {
        if (e instanceof ApiError || e instanceof Error) throw new CliError(e.message.replace(/^lora_(name|path)/, '--adapter'));
        throw e;
      }
      let addr: { port: number; host: string };
      try {
        addr = await server.listen(o.port, o.host);
      } catch (e) {
        throw new CliError(`cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
      }
      process.stderr.write(`rft serve: ${modelName}${server.adapterNames.length ? ` + adapters ${server.adapterNames.join(', ')}` : ''} on http://${addr.host}:${addr.port}/v1${allowRuntimeLora ? ' (runtime LoRA loading on)' : ''}\n`);
      const stop = (sig: string) => {
        process.stderr.write(`rft serve: ${sig}, finishing requests in flight\n`);
        server.close(30_000).then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
