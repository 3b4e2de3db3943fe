/** `rft generate`: sample a completion from a model folder (optionally with a LoRA adapter). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../main.js';
import { loadForCli, userErrors, WEIGHTS_DTYPE_FLAG } from './model.js';
import { loadTokenizer } from '../../model/load.js';
import { sample } from '../../model/sampler.js';
import type { ChatMessage } from '../../model/tokenizer.js';

/** Messages from a file: a JSON array of messages, or an object / JSONL line with `messages`. */
function readMessages(path: string): ChatMessage[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`--messages ${path}: cannot read (${(e as Error).message})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    const first = text.split('\n').find((l) => l.trim());
    try {
      v = JSON.parse(first ?? '');
    } catch (e) {
      throw new CliError(`--messages ${path}: not JSON or JSONL (${(e as Error).message})`);
    }
  }
  const msgs = Array.isArray(v) ? v : (v as { messages?: unknown })?.messages;
  if (!Array.isArray(msgs) || msgs.length === 0 || msgs.some((m) => !m || typeof m !== 'object' || typeof (m as ChatMessage).role !== 'string'))
    throw new CliError(`--messages ${path}: expected a non-empty array of {role, content} messages (or an object with "messages")`);
  return msgs as ChatMessage[];
}

const num = (name: string, lo: number, hi: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new CliError(`${name} must be a number in [${lo}, ${hi}], got "${v}"`);
  return n;
};
const int = (name: string, lo: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < lo) throw new CliError(`${name} must be an integer ≥ ${lo}, got "${v}"`);
  return n;
};

export function register(program: Command): void {
  program
    .command('generate')
    .description('sample completions from a model folder (and an optional LoRA adapter)')
    .requiredOption('--model <dir>', 'model folder (Hugging Face layout)')
    .option('--adapter <dir>', 'PEFT LoRA adapter folder')
    .option(...WEIGHTS_DTYPE_FLAG)
    .option('--prompt <text>', 'raw prompt text')
    .option('--messages <file>', 'chat messages (JSON array, or a row with "messages"); rendered with the chat template')
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', num('--temperature', 0, 100), 1)
    .option('--top-p <p>', 'nucleus sampling mass', num('--top-p', 1e-9, 1), 1)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', int('--top-k', 0), 0)
    .option('--max-tokens <n>', 'maximum new tokens', int('--max-tokens', 1), 128)
    .option('--n <n>', 'number of samples', int('--n', 1), 1)
    .option('--stop <text...>', 'stop strings')
    .option('--seed <n>', 'random seed', int('--seed', 0), 0)
    .option('--json', 'print JSON: one object per sample with text, tokens, logprobs, finish_reason')
    .action((o: { model: string; adapter?: string; weightsDtype?: string; prompt?: string; messages?: string; temperature: number; topP: number; topK: number; maxTokens: number; n: number; stop?: string[]; seed: number; json?: boolean }) => {
      if ((o.prompt === undefined) === (o.messages === undefined)) throw new CliError('give exactly one of --prompt TEXT or --messages FILE');
      const model = loadForCli(o.model, o.adapter, o.weightsDtype);
      const tok = userErrors(() => loadTokenizer(o.model, model));
      const ids = userErrors(() => (o.messages !== undefined ? tok.encodeChat(readMessages(o.messages), { addGenerationPrompt: true }) : tok.encode(o.prompt!)));
      if (ids.length === 0) throw new CliError('the prompt encodes to no tokens');
      const samples = userErrors(() =>
        sample(model, Array.from({ length: o.n }, () => ids), {
          maxNewTokens: o.maxTokens, temperature: o.temperature, topP: o.topP, topK: o.topK, stopStrings: o.stop, seed: o.seed, tokenizer: tok,
        }),
      );
      for (const s of samples) {
        if (o.json) process.stdout.write(JSON.stringify({ text: s.text, tokens: s.tokens, logprobs: s.logprobs, finish_reason: s.finishReason, prompt_tokens: ids.length }) + '\n');
        else process.stdout.write(`${s.text}\n${samples.length > 1 ? '---\n' : ''}`);
      }
    });
}
