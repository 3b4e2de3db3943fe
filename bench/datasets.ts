/**
 * `npm run bench -- datasets [--json] [--rows N]`: rows/s of each task generator and of
 * streaming validation (read + parse + schema + duplicate check) on a generated file.
 * Figures are medians over 3 repeats; nothing is asserted.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateExamples, TASKS, validateFile, writeJsonl } from '../src/data/index.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(fn: () => Promise<unknown>, repeats = 3): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const at = args.indexOf('--rows');
  const rows = at >= 0 ? Number(args[at + 1]) : 50_000;
  if (!(Number.isInteger(rows) && rows > 0)) {
    process.stderr.write(`--rows must be a whole number > 0, got ${args[at + 1]}\n`);
    return 2;
  }
  const dir = await mkdtemp(join(tmpdir(), 'rft-bench-data-'));
  const results: Record<string, number | string> = {};
  try {
    for (const task of Object.keys(TASKS)) {
      const n = 500;
      const ms = await time(() => generateExamples(task, { n, seed: 1, outDir: dir }));
      results[`generate ${task} rows/s`] = Math.round((n / ms) * 1000);
    }
    // A validation corpus: generated word problems repeated with distinct prompts.
    const { examples } = await generateExamples('word-problems', { n: 1000, seed: 1, outDir: dir, knobs: { difficulty: '1-3' } });
    const file = join(dir, 'corpus.jsonl');
    await writeJsonl(file, Array.from({ length: rows }, (_, i) => {
      const row = examples[i % examples.length]!.rft;
      return { ...row, messages: [...row.messages.slice(0, -1), { role: 'user', content: `${row.messages.at(-1)!.content} (#${i})` }] };
    }));
    const bytes = (await stat(file)).size;
    const ms = await time(() => validateFile(file));
    results['validate rows/s'] = Math.round((rows / ms) * 1000);
    results['validate MB/s'] = Math.round((bytes / 1e6 / ms) * 1000 * 10) / 10;
    results['validate corpus'] = `${rows} rows, ${(bytes / 1e6).toFixed(1)} MB`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (json) console.log(JSON.stringify(results));
  else for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(32)} ${v}`);
  return 0;
}
