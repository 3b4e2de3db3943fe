/**
 * `npm run bench -- serve [--preset tiny,smollm-135m] [--clients 1,8,32] [--requests N] [--max-tokens 64]
 *   [--prompt-tokens 16] [--compare 16] [--threads N] [--no-llama] [--repeats 2] [--json]`
 *
 * Concurrent streaming clients against `rft serve` (a child process, on loopback): requests/s,
 * generated tokens/s, time to first token and inter-token latency p50/p99, errors. Then, at
 * `--compare` parallel sequences: serving throughput vs the model's own batched sampler
 * (`sample()`, as `bench model` times it) vs llama.cpp (node-llama-cpp on rft's F32 GGUF export,
 * the same number of parallel sequences and threads). Figures only; nothing asserts timing.
 * Requests use `ignore_eos` so every one generates exactly --max-tokens tokens, and `logprobs: 0` so
 * every token arrives in its own chunk (tokens past a random model's tokenizer decode to no text).
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernels } from '../src/engine/index.js';
import { DEFAULTS, initModel, PRESETS, type InitSpec } from '../src/model/init.js';
import { loadModel, loadTokenizer } from '../src/model/load.js';
import { sample } from '../src/model/sampler.js';
import { exportGguf } from '../src/model/export/to-gguf.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => pct(xs, 50);

interface LoadResult {
  clients: number;
  requests: number;
  errors: number;
  seconds: number;
  requests_per_s: number;
  tokens_per_s: number;
  ttft_ms_p50: number;
  ttft_ms_p99: number;
  itl_ms_p50: number;
  itl_ms_p99: number;
}

/** One streaming completion; returns TTFT, inter-token gaps and the generated token count. */
async function streamOne(url: string, prompt: number[], maxTokens: number): Promise<{ ttft: number; gaps: number[]; tokens: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bench', prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true }, ignore_eos: true, logprobs: 0 }),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let ttft = -1;
  let last = 0;
  const gaps: number[] = [];
  let tokens = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const o = JSON.parse(line.slice(6)) as { error?: { message: string }; usage?: { completion_tokens: number }; choices: { text: string; logprobs: { tokens: string[] } | null }[] };
      if (o.error) throw new Error(o.error.message);
      if (o.usage) tokens = o.usage.completion_tokens;
      // With logprobs every token gets its chunk, even one that decodes to no text (padding ids of a random model).
      if (o.choices[0]?.logprobs?.tokens.length) {
        const now = performance.now();
        if (ttft < 0) ttft = now - t0;
        else gaps.push(now - last);
        last = now;
      }
    }
  }
  return { ttft, gaps, tokens };
}

async function load(url: string, clients: number, perClient: number, prompt: (i: number) => number[], maxTokens: number): Promise<LoadResult> {
  const ttfts: number[] = [];
  const gaps: number[] = [];
  let tokens = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let r = 0; r < perClient; r++) {
        try {
          const x = await streamOne(url, prompt(c * perClient + r), maxTokens);
          ttfts.push(x.ttft);
          gaps.push(...x.gaps);
          tokens += x.tokens;
        } catch (e) {
          errors++;
          if (errors === 1) process.stderr.write(`bench serve: request failed: ${(e as Error).message}\n`);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const n = clients * perClient;
  return {
    clients, requests: n, errors, seconds, requests_per_s: (n - errors) / seconds, tokens_per_s: tokens / seconds,
    ttft_ms_p50: median(ttfts), ttft_ms_p99: pct(ttfts, 99), itl_ms_p50: median(gaps), itl_ms_p99: pct(gaps, 99),
  };
}

/** llama.cpp through node-llama-cpp: S sequences of one context decoding together, greedy, G tokens each. */
async function llamaCppTokensPerS(gguf: string, prompts: number[][], G: number, threads: number, repeats: number): Promise<number | string> {
  let mod: typeof import('node-llama-cpp');
  try {
    mod = await import('node-llama-cpp');
  } catch (e) {
    return `node-llama-cpp unavailable: ${(e as Error).message}`;
  }
  const llama = await mod.getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath: gguf });
  const S = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const rates: number[] = [];
  for (let rep = 0; rep <= repeats; rep++) {
    const ctx = await model.createContext({ sequences: S, contextSize: S * (P + G + 8), threads, batchSize: Math.max(512, S * P) });
    const t0 = performance.now();
    await Promise.all(
      prompts.map(async (p) => {
        const seq = ctx.getSequence();
        let n = 0;
        for await (const _ of seq.evaluate(p as never, { temperature: 0, yieldEogToken: true } as never)) if (++n >= G) break;
      }),
    );
    const s = (performance.now() - t0) / 1000;
    if (rep > 0) rates.push((S * G) / s);
    await ctx.dispose();
  }
  await model.dispose();
  return median(rates);
}

export async function run(args: string[]): Promise<number> {
  let o;
  try {
    o = parseArgs({
      args,
      options: {
        preset: { type: 'string', default: 'tiny,smollm-135m' }, clients: { type: 'string', default: '1,8,32' }, requests: { type: 'string' },
        'max-tokens': { type: 'string' }, 'prompt-tokens': { type: 'string', default: '16' }, compare: { type: 'string', default: '16' },
        'no-llama': { type: 'boolean', default: false }, threads: { type: 'string' }, repeats: { type: 'string', default: '2' }, json: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`bench serve: ${(e as Error).message}\n`);
    return 2;
  }
  const int = (v: string | undefined, name: string, def: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  const presets = String(o.preset).split(',').filter(Boolean);
  const clientCounts = String(o.clients).split(',').map((x) => int(x, 'clients', 1));
  const P = int(o['prompt-tokens'], 'prompt-tokens', 16);
  const S = int(o.compare, 'compare', 16);
  const reps = int(o.repeats, 'repeats', 2);
  if (o.threads !== undefined) kernels().setThreads(int(o.threads, 'threads', 1));
  const threads = kernels().getThreads();
  const out: Record<string, unknown> = {};
  const log = (s: string) => {
    if (!o.json) process.stdout.write(s);
  };
  for (const preset of presets) {
    const p = PRESETS[preset];
    if (!p) {
      process.stderr.write(`bench serve: unknown preset "${preset}" (${Object.keys(PRESETS).join(', ')})\n`);
      return 2;
    }
    const big = preset !== 'tiny';
    const G = int(o['max-tokens'], 'max-tokens', big ? 32 : 64);
    const perClient = (c: number) => int(o.requests, 'requests', big ? (c >= 16 ? 1 : 2) : c >= 16 ? 2 : 4);
    const dir = mkdtempSync(join(tmpdir(), 'rft-bench-serve-'));
    try {
      const spec: InitSpec = { ...DEFAULTS, ...p, maxPositions: 2048 };
      initModel(join(dir, 'm'), spec);
      const model = loadModel(join(dir, 'm'));
      const tok = loadTokenizer(join(dir, 'm'), model);
      const prompt = (i: number) => Array.from({ length: P }, (_, j) => 4 + ((i * 7 + j * 3) % 90));
      // The server runs as `rft serve` in its own process (clients here do not share its thread).
      const server = spawn(process.execPath, [CLI, 'serve', '--model', join(dir, 'm'), '--name', 'bench', '--port', '0', '--max-batch', '64', '--max-queue', '1024'], {
        env: { ...process.env, RFT_THREADS: String(threads) }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
      const stop = () => server.kill('SIGTERM');
      process.once('exit', stop); // also when the benchmark itself is interrupted
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        server.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /on (http:\/\/\S+)\/v1/.exec(err);
          if (m) resolve(m[1]!);
        });
        server.on('exit', (code) => reject(new Error(`rft serve exited (${code}): ${err}`)));
      });
      log(`\n${preset}: ${model.config.architecture}, hidden ${model.config.hiddenSize}, ${model.config.numLayers} layers, vocab ${model.config.vocabSize}; ${threads} thread(s); prompt ${P} tokens, ${G} new tokens per request\n`);
      await load(url, S, 1, prompt, G); // warm-up (JIT, buffer pool, KV buffers at full size)
      const rows: LoadResult[] = [];
      for (const c of clientCounts) {
        const r = await load(url, c, perClient(c), prompt, G);
        rows.push(r);
        log(`  ${String(c).padStart(2)} clients × ${perClient(c)} req: ${r.requests_per_s.toFixed(2)} req/s, ${r.tokens_per_s.toFixed(1)} tok/s, TTFT p50 ${r.ttft_ms_p50.toFixed(0)} ms p99 ${r.ttft_ms_p99.toFixed(0)} ms, ITL p50 ${r.itl_ms_p50.toFixed(1)} ms p99 ${r.itl_ms_p99.toFixed(1)} ms, errors ${r.errors}\n`);
      }
      // Throughput at S parallel sequences: serving vs sample() vs llama.cpp, serving and sample()
      // alternating so that load from other processes hits both alike.
      const prompts = Array.from({ length: S }, (_, i) => prompt(i));
      const serveRates: number[] = [];
      const sampleRates: number[] = [];
      for (let i = 0; i <= reps; i++) {
        const t0 = performance.now();
        sample(model, prompts, { maxNewTokens: G, temperature: 0, stopTokenIds: [], stopOnEos: false });
        if (i > 0) sampleRates.push((S * G) / ((performance.now() - t0) / 1000));
        if (i > 0) serveRates.push((await load(url, S, 1, prompt, G)).tokens_per_s);
      }
      let llamaRate: number | string = 'skipped (--no-llama)';
      if (!o['no-llama']) {
        exportGguf(model, tok, join(dir, 'm'), join(dir, 'm.gguf'), { dtype: 'F32' });
        llamaRate = await llamaCppTokensPerS(join(dir, 'm.gguf'), prompts, G, threads, reps);
      }
      const serve = median(serveRates);
      const own = median(sampleRates);
      log(`  ${S} parallel sequences: serving ${serve.toFixed(1)} tok/s = ${((100 * serve) / own).toFixed(0)}% of sample() ${own.toFixed(1)} tok/s; llama.cpp ${typeof llamaRate === 'number' ? `${llamaRate.toFixed(1)} tok/s (rft sample() / llama.cpp = ${(own / llamaRate).toFixed(2)}×)` : llamaRate}\n`);
      out[preset] = { load: rows, parallel: S, threads, serve_tokens_per_s: serve, sample_tokens_per_s: own, serve_vs_sample: serve / own, llama_cpp_tokens_per_s: llamaRate };
      } finally {
        server.kill('SIGTERM');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
  return 0;
}
