/**
 * Measures what each diversity option of `rft train` does on the quickstart task: for every
 * variant × seed it runs `rft quickstart --small --plan P` (a separate process: data, SFT, RFT) with
 * the variant's plan overrides, then compares held-out results problem by problem — RFT against
 * SFT (the step-0 evaluation of the same run) and against the baseline variant of the same seed
 * (same data, same SFT model, same held-out problems) — with paired standard errors.
 *
 *   node dist/bench/diversity.js [--variants baseline,entropy,...] [--seeds 1,2,3] [--out runs/diversity]
 *                                [--steps N] [--smoke] [--no-reuse-sft] [--json]
 *
 * The baseline of each seed is a whole `rft quickstart --small` run (a few minutes on 2 cores); the
 * other variants of that seed change only RFT, so they run stage 2 alone on the baseline's data and
 * SFT model (bench/diversity-stage2.ts, the quickstart's own stage-2 code) unless --no-reuse-sft.
 * Finished runs (a summary.json in their folder) are reused, so an interrupted measurement continues.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtPaired, mean, outcomes, paired, type Paired, type ProblemOutcomes, type SampleRecord } from './diversity-stats.js';

/** Plan overrides per variant (withOverrides' shape: fields of rft, rft.loss, rft.advantage). */
export const VARIANTS: Record<string, { describe: string; plan: Record<string, unknown> }> = {
  baseline: { describe: 'the small plan as it is (GRPO, no KL)', plan: {} },
  entropy: { describe: 'entropy bonus 0.01', plan: { rft: { loss: { entropyCoef: 0.01 } } } },
  'kl-reset': { describe: 'KL β 0.02 to a reference reset every 40 steps (ProRL)', plan: { rft: { refResetEvery: 40, loss: { klBeta: 0.02 } } } },
  'clip-cov': { describe: 'clip_cov, ratio 2e-4, window (1, 5)', plan: { rft: { loss: { lossMode: 'clip_cov' } } } },
  'kl-cov': { describe: 'kl_cov, ratio 2e-4, κ 1, with 2 policy updates per batch (it needs logp ≠ old); compare with baseline-mu2', plan: { rft: { policyUpdates: 2, loss: { lossMode: 'kl_cov' } } } },
  'baseline-mu2': { describe: 'the baseline with 2 policy updates per batch: kl-cov\'s control', plan: { rft: { policyUpdates: 2 } } },
  'pass-at-k': { describe: 'Pass@k-training advantages, k 4', plan: { rft: { advantage: { estimator: 'pass_at_k', passK: 4, passThreshold: 1 } } } },
  'w-reinforce': { describe: 'W-REINFORCE, λ 0.1', plan: { rft: { advantage: { estimator: 'w_reinforce', wReinforceLambda: 0.1, passThreshold: 1 } } } },
  unlikeliness: { describe: 'unlikeliness reward, β 0.25', plan: { rft: { advantage: { unlikelinessBeta: 0.25 } } } },
};

interface RunResult {
  variant: string;
  seed: number;
  dir: string;
  wall_s: number;
  sft: ProblemOutcomes;
  rft: ProblemOutcomes;
}

function args(argv: string[]) {
  const o: { variants: string[]; seeds: number[]; out: string; steps?: number; smoke: boolean; reuseSft: boolean; json: boolean } = { variants: Object.keys(VARIANTS), seeds: [1, 2, 3], out: 'runs/diversity', smoke: false, reuseSft: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--variants') o.variants = next().split(',');
    else if (a === '--seeds') o.seeds = next().split(',').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--seeds: "${s}" is not a non-negative integer`);
      return n;
    });
    else if (a === '--out') o.out = next();
    else if (a === '--steps') {
      o.steps = Number(next());
      if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error('--steps must be a positive integer');
    } else if (a === '--smoke') o.smoke = true;
    else if (a === '--no-reuse-sft') o.reuseSft = false;
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown argument ${a} (see the comment at the top of bench/diversity.ts)`);
  }
  for (const v of o.variants) if (!(v in VARIANTS)) throw new Error(`unknown variant "${v}"; variants: ${Object.keys(VARIANTS).join(', ')}`);
  if (!o.variants.includes('baseline')) o.variants.unshift('baseline');
  return o;
}

/** --smoke: a tiny plan (seconds of SFT, a few RFT steps) that only checks the harness end to end; its numbers mean nothing. */
const SMOKE = { trainSize: 300, heldoutSize: 40, sft: { epochs: 1 }, rft: { steps: 3, evalSamples: 4 } };

function planFor(variant: string, seed: number, steps?: number, smoke = false): Record<string, unknown> {
  const v = VARIANTS[variant]!.plan as { rft?: Record<string, unknown> };
  const s = smoke ? SMOKE : { sft: {}, rft: {} };
  return { ...(smoke ? { trainSize: SMOKE.trainSize, heldoutSize: SMOKE.heldoutSize } : {}), ...v, seed, sft: { ...s.sft, seed }, rft: { ...s.rft, ...(v.rft ?? {}), seed, ...(steps ? { steps } : {}) } };
}

function readSamples(dir: string, which: 'first' | 'last'): SampleRecord[] {
  const files = readdirSync(join(dir, 'rft', 'samples')).filter((f) => /^step-\d+\.json$/.test(f)).sort();
  const f = which === 'first' ? files[0] : files[files.length - 1];
  if (!f || (which === 'last' && files.length < 2)) throw new Error(`${dir}/rft/samples has no ${which} evaluation`);
  return JSON.parse(readFileSync(join(dir, 'rft', 'samples', f), 'utf8')) as SampleRecord[];
}

/** The plan without its RFT part: two variants with the same one share data and SFT model. */
const stage1 = (plan: Record<string, unknown>) => JSON.stringify({ ...plan, rft: undefined });

function runOne(cli: string, out: string, variant: string, seed: number, steps?: number, smoke = false, reuseSft = true): RunResult {
  const dir = resolve(out, `${variant}-seed${seed}`);
  const summaryPath = join(dir, 'summary.json');
  if (!existsSync(summaryPath)) {
    mkdirSync(dir, { recursive: true });
    const planPath = join(dir, 'plan.json');
    const plan = planFor(variant, seed, steps, smoke);
    writeFileSync(planPath, JSON.stringify(plan, null, 2) + '\n');
    const baseDir = resolve(out, `baseline-seed${seed}`);
    const reuse = reuseSft && variant !== 'baseline' && existsSync(join(baseDir, 'summary.json')) && stage1(plan) === stage1(planFor('baseline', seed, steps, smoke));
    const argv = reuse
      ? [fileURLToPath(new URL('./diversity-stage2.js', import.meta.url)), baseDir, dir, planPath]
      : [cli, 'quickstart', '--small', '--plan', planPath, '--out', dir, '--json'];
    process.stderr.write(`[diversity] ${variant} seed ${seed}: ${reuse ? `RFT on ${baseDir}'s data and SFT model` : `rft quickstart --small --plan ${planPath} --out ${dir}`}\n`);
    const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`${variant} seed ${seed}: ${reuse ? 'stage 2' : 'rft quickstart'} exited with ${r.status ?? r.signal}`);
  }
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as { heldout_size: number; wall_s: number };
  const n = summary.heldout_size;
  return { variant, seed, dir, wall_s: summary.wall_s, sft: outcomes(readSamples(dir, 'first'), n), rft: outcomes(readSamples(dir, 'last'), n) };
}

/** The per-problem arrays of several runs end to end (seeds pooled: each problem of each seed is one pair). */
function concat(rs: RunResult[], stage: 'sft' | 'rft', key: 'greedy' | 'sampled' | 'passK'): Float64Array {
  return Float64Array.from(rs.flatMap((r) => Array.from(r[stage][key])));
}

interface Row {
  variant: string;
  seeds: number[];
  k: number;
  sft: { greedy: number; sampled: number; passK: number };
  rft: { greedy: number; sampled: number; passK: number };
  gain: { greedy: Paired; sampled: Paired; passK: Paired };
  perSeedGreedyGain: Paired[];
  vsBaseline?: { greedy: Paired; sampled: Paired; passK: Paired };
  wall_s: number;
}

function summarise(runs: RunResult[], variants: string[]): Row[] {
  return variants.map((variant) => {
    const rs = runs.filter((r) => r.variant === variant).sort((a, b) => a.seed - b.seed);
    const base = runs.filter((r) => r.variant === 'baseline').sort((a, b) => a.seed - b.seed);
    const keys = ['greedy', 'sampled', 'passK'] as const;
    const stage = (s: 'sft' | 'rft') => Object.fromEntries(keys.map((k) => [k, mean(concat(rs, s, k))])) as Row['sft'];
    const gain = Object.fromEntries(keys.map((k) => [k, paired(concat(rs, 'sft', k), concat(rs, 'rft', k))])) as Row['gain'];
    const row: Row = {
      variant, seeds: rs.map((r) => r.seed), k: rs[0]?.rft.k ?? 0, sft: stage('sft'), rft: stage('rft'), gain,
      perSeedGreedyGain: rs.map((r) => paired(r.sft.greedy, r.rft.greedy)),
      wall_s: rs.reduce((a, r) => a + r.wall_s, 0) / Math.max(1, rs.length),
    };
    if (variant !== 'baseline' && base.length === rs.length) {
      row.vsBaseline = Object.fromEntries(keys.map((k) => [k, paired(concat(base, 'rft', k), concat(rs, 'rft', k))])) as Row['gain'];
    }
    return row;
  });
}

function table(rows: Row[]): string {
  const f = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(3));
  const k = rows[0]?.k ?? 8;
  const head = ['variant', 'seeds', 'greedy pass@1 SFT→RFT', 'Δ ± SE', 'sampled pass@1', 'Δ ± SE', `pass@${k}`, 'Δ ± SE', 'greedy Δ per seed', `vs baseline: greedy, pass@${k}`, 'wall s'];
  const lines = rows.map((r) => [
    r.variant, r.seeds.join(','),
    `${f(r.sft.greedy)} → ${f(r.rft.greedy)}`, fmtPaired(r.gain.greedy),
    `${f(r.sft.sampled)} → ${f(r.rft.sampled)}`, fmtPaired(r.gain.sampled),
    `${f(r.sft.passK)} → ${f(r.rft.passK)}`, fmtPaired(r.gain.passK),
    r.perSeedGreedyGain.map(fmtPaired).join('; '),
    r.vsBaseline ? `${fmtPaired(r.vsBaseline.greedy)}, ${fmtPaired(r.vsBaseline.passK)}` : '',
    r.wall_s.toFixed(0),
  ]);
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
}

export function main(argv: string[]): void {
  const o = args(argv);
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const runs: RunResult[] = [];
  for (const seed of o.seeds) for (const v of o.variants) runs.push(runOne(cli, o.out, v, seed, o.steps, o.smoke, o.reuseSft));
  // Same seed, same data and SFT model: every variant's step-0 evaluation must agree with the baseline's.
  for (const r of runs) {
    const b = runs.find((x) => x.variant === 'baseline' && x.seed === r.seed)!;
    if (mean(r.sft.greedy) !== mean(b.sft.greedy)) process.stderr.write(`[diversity] warning: ${r.variant} seed ${r.seed} starts from a different SFT result than the baseline (${mean(r.sft.greedy)} vs ${mean(b.sft.greedy)})\n`);
  }
  const rows = summarise(runs, o.variants);
  if (o.json) console.log(JSON.stringify(rows));
  else {
    console.log(table(rows));
    console.log('\nΔ: RFT − SFT on the same held-out problems (seeds pooled), ± its paired standard error; "vs baseline": this variant\'s RFT − the baseline\'s RFT, same seeds and problems.');
    for (const v of o.variants) console.log(`  ${v}: ${VARIANTS[v]!.describe}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`diversity: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
