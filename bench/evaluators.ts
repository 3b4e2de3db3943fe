/**
 * Evaluator throughput: evaluations per second for the pure built-ins (in-process) and the
 * sandboxed ones (code in isolated-vm worker threads, SQL in child processes, a user module in the
 * worker pool). Median of repeats; figures, not assertions.
 *   npm run bench -- evaluators [--quick] [--json]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Evaluator, Rollout } from '../src/contracts/evaluation.js';
import { EvaluatorPool, runEvaluations } from '../src/evaluators/isolation/evaluator-pool.js';
import { loadEvaluator } from '../src/evaluators/spec/load.js';

interface Case {
  name: string;
  kind: 'pure' | 'sandboxed';
  make(): Promise<Evaluator>;
  rollouts: Rollout[];
  concurrency: number;
}

const row = (ground_truth: unknown, extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user' as const, content: 'q' }], ground_truth, ...extra });
const ro = (output: string, gt: unknown, extra: Record<string, unknown> = {}): Rollout => ({ row: row(gt, extra), messages: [], output });

function cycle<T>(items: T[], n: number): T[] {
  return Array.from({ length: n }, (_, i) => items[i % items.length]!);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(args: string[]): Promise<number> {
  const quick = args.includes('--quick');
  const json = args.includes('--json');
  const repeats = quick ? 3 : 5;
  const scale = quick ? 0.2 : 1;
  const dir = mkdtempSync(join(tmpdir(), 'rft-bench-eval-'));
  try {
    const dbPath = join(dir, 'shop.sqlite');
    const db = new Database(dbPath);
    db.exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL);`);
    const ins = db.prepare('INSERT INTO orders (customer, total) VALUES (?, ?)');
    for (let i = 0; i < 1000; i++) ins.run(`c${i % 37}`, (i * 7.3) % 100);
    db.close();
    const modulePath = join(dir, 'user.mjs');
    writeFileSync(modulePath, `export default ({ output, row }) => ({ score: output.trim() === row.ground_truth ? 1 : 0, valid: true });`);

    const countdownGt = { numbers: [25, 50, 75, 100, 3, 6], target: 952 };
    const company = { company_name: 'Acme Widgets GmbH', founding_year: 1987, address: '12 Hauptstrasse, 10115 Berlin', business_areas: ['widgets', 'logistics software'], revenue: '$12.5M', ceo: 'Maria Schmidt', phone: '+49 30 1234567', email: 'info@acme.de' };
    const n = (k: number) => Math.max(20, Math.round(k * scale));
    const cases: Case[] = [
      { name: 'countdown', kind: 'pure', make: () => loadEvaluator('countdown'), concurrency: 1,
        rollouts: cycle([ro('<think>…</think><answer>(100+6)*3*75/25-50/25*... </answer>'.replace('*... ', ''), countdownGt), ro('<answer>((75*3)+100)*(50/25)+6</answer>', countdownGt), ro('no answer', countdownGt)], n(20000)) },
      { name: 'numeric', kind: 'pure', make: () => loadEvaluator('numeric'), concurrency: 1,
        rollouts: cycle([ro('[WORK]150/0.75 = 200[/WORK][RESULT]$200[/RESULT]', '200'), ro('The original price was 1,234.50 dollars.', '1234.5'), ro('<answer>25%</answer>', '0.25')], n(20000)) },
      { name: 'json-fields', kind: 'pure', make: () => loadEvaluator({ type: 'json-fields', schema: { type: 'object', required: ['company_name'] } }), concurrency: 1,
        rollouts: cycle([ro('```json\n' + JSON.stringify(company) + '\n```', company), ro(`Here: ${JSON.stringify({ ...company, ceo: 'M. Schmidt', business_areas: ['Widgets'] })}`, company)], n(5000)) },
      { name: 'format', kind: 'pure', make: () => loadEvaluator('format'), concurrency: 1,
        rollouts: cycle([ro('<think>a b c</think>\n<answer>42</answer>', null), ro('<answer>42</answer>', null)], n(50000)) },
      { name: 'code (isolated-vm)', kind: 'sandboxed', make: () => loadEvaluator({ type: 'code', workers: 2 }), concurrency: 4,
        rollouts: cycle([ro('```js\nfunction add(a, b) { return a + b; }\n```', { tests: [{ args: [1, 2], expected: 3 }, { args: [-1, 1], expected: 0 }, { args: [0.5, 0.25], expected: 0.75 }] })], n(400)) },
      { name: 'sql (child process)', kind: 'sandboxed', make: () => loadEvaluator({ type: 'sql', database: dbPath, workers: 2 }), concurrency: 4,
        rollouts: cycle([ro('SELECT customer, SUM(total) FROM orders GROUP BY customer', { sql: 'SELECT customer, SUM(total) AS s FROM orders GROUP BY customer' }), ro('SELECT COUNT(*) FROM orders WHERE total > 50', { sql: 'SELECT COUNT(*) FROM orders WHERE total > 50' })], n(1000)) },
      { name: 'user module (worker pool)', kind: 'sandboxed', make: async () => {
        const pool = new EvaluatorPool({ size: 2 });
        const ev = await pool.load(modulePath);
        return { ...ev, close: () => pool.close() };
      }, concurrency: 8, rollouts: cycle([ro(' 42 ', '42'), ro('41', '42')], n(5000)) },
    ];

    const report: { name: string; kind: string; evaluations: number; evaluations_per_second: number }[] = [];
    if (!json) console.log(`evaluator throughput (median of ${repeats}; ${quick ? 'quick' : 'full'} run)\n`);
    for (const c of cases) {
      const ev = await c.make();
      try {
        await runEvaluations(ev, c.rollouts.slice(0, 20), { concurrency: c.concurrency }); // warm-up: workers, JIT, gold queries
        const rates: number[] = [];
        for (let r = 0; r < repeats; r++) {
          const t0 = performance.now();
          const results = await runEvaluations(ev, c.rollouts, { concurrency: c.concurrency });
          const s = (performance.now() - t0) / 1000;
          const invalid = results.filter((x) => !x.valid);
          if (invalid.length) throw new Error(`${c.name}: ${invalid.length} invalid results, e.g. ${invalid[0]!.reason}`);
          rates.push(c.rollouts.length / s);
        }
        const rate = median(rates);
        report.push({ name: c.name, kind: c.kind, evaluations: c.rollouts.length, evaluations_per_second: Math.round(rate) });
        if (!json) console.log(`  ${c.kind.padEnd(10)} ${c.name.padEnd(26)} ${String(Math.round(rate)).padStart(9)} evaluations/s   (${c.rollouts.length} per repeat, concurrency ${c.concurrency})`);
      } finally {
        await ev.close?.();
      }
    }
    if (json) console.log(JSON.stringify({ benchmark: 'evaluators', repeats, results: report }));
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
