/**
 * Stage 2 of `rft quickstart` alone, on the data and SFT model of a finished quickstart run:
 *   node dist/bench/diversity-stage2.js BASE_RUN_DIR OUT_DIR PLAN.json
 * For the diversity measurement: variants of one seed differ only in RFT, and their data and SFT
 * model are those of the seed's baseline run, so SFT (most of a run's time) is done once per seed.
 * The code is runQuickstart's stage 2 (same policy, scorer, loop and config); the caller checks
 * that the plan's data / model / SFT parts are the baseline's.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { readJsonl } from '../src/data/index.js';
import type { Row } from '../src/contracts/row.js';
import { SMALL_PLAN, withOverrides } from '../src/cli/quickstart.js';
import { makePolicy, makeScorer } from '../src/train/setup.js';
import { runRftLoop } from '../src/train/grpo/trainer.js';
import { writeReport } from '../src/train/report.js';

export async function stage2(baseDir: string, outDir: string, planPath: string): Promise<void> {
  const t0 = performance.now();
  const plan = withOverrides(SMALL_PLAN, JSON.parse(readFileSync(planPath, 'utf8')));
  const base = resolve(baseDir);
  const out = resolve(outDir);
  rmSync(join(out, 'rft'), { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const train = (await readJsonl(join(base, 'data', 'rft.jsonl'))) as Row[];
  const heldout = (await readJsonl(join(base, 'data', 'heldout.jsonl'))) as Row[];
  const scorer = await makeScorer(JSON.stringify(plan.evaluator), { timeoutMs: 30000, concurrency: 4 });
  try {
    const policy = makePolicy({ model: join(base, 'sft', 'model'), ...plan.lora, full: plan.rftFull, seed: plan.seed });
    await runRftLoop({
      policy, tokenizer: policy.chat, score: scorer.score, train, heldout,
      config: plan.rft, runDir: join(out, 'rft'), saveAs: plan.rftFull ? 'model' : 'adapter',
      recordedConfig: { evaluator: plan.evaluator, quickstart: true, full: plan.rftFull, sftFrom: base },
      onEval: (step, r) => process.stderr.write(`[stage2] held-out @ step ${step}: pass@1 ${r.pass1.toFixed(3)}, pass@${r.k} ${r.pass_at_k.toFixed(3)}\n`),
    });
    writeReport(join(out, 'rft'));
  } finally {
    await scorer.close();
  }
  writeFileSync(join(out, 'summary.json'), JSON.stringify({ heldout_size: heldout.length, wall_s: (performance.now() - t0) / 1000, sft_from: base }, null, 2) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [baseDir, outDir, planPath] = process.argv.slice(2);
  if (!baseDir || !outDir || !planPath) {
    process.stderr.write('usage: diversity-stage2 BASE_RUN_DIR OUT_DIR PLAN.json\n');
    process.exitCode = 2;
  } else {
    stage2(baseDir, outDir, planPath).catch((e) => {
      process.stderr.write(`diversity-stage2: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    });
  }
}
