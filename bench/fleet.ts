/**
 * `npm run bench -- fleet [--preset tiny|smollm-135m] [--steps 4] [--prompts 4] [--rollouts 8]
 *   [--new-tokens 64] [--threads 2] [--json]`
 *
 * GRPO steps with rollouts sampled three ways on the same random preset-shaped model with a LoRA
 * adapter: in process (the trainer's engine on --threads threads), on a fleet of two `rft serve`
 * child processes with one thread each (adapter synced before each step's rollouts), and on that
 * fleet with --async pipelining (step t+1 sampled while step t trains). Prints the median step
 * time and its split (sample / score / train, and adapter publishing), and the mismatch metrics.
 * Figures only; nothing here asserts timing.
 */
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initModel, DEFAULTS, PRESETS } from '../src/model/init.js';
import { loadModel, loadTokenizer } from '../src/model/load.js';
import { TransformerPolicy } from '../src/model/policy.js';
import { kernels } from '../src/engine/index.js';
import { grpoStep, stepRolloutRequest, type GrpoStepConfig } from '../src/train/grpo/step.js';
import { rowsForStep } from '../src/train/grpo/trainer.js';
import type { ScoreFn } from '../src/train/grpo/score.js';
import type { Row } from '../src/contracts/row.js';
import type { RolloutSource } from '../src/rollout/source.js';
import { FleetRolloutSource } from '../src/rollout/fleet.js';
import { AdapterSync } from '../src/rollout/adapter-sync.js';
import { FleetSession } from '../src/rollout/fleet-session.js';
import { PipelinedSource } from '../src/rollout/pipeline.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const lengthScore: ScoreFn = async (rollouts) => rollouts.map((r) => ({ score: (r.output.length % 11) / 10, valid: true }));

async function serve(modelDir: string): Promise<{ url: string; child: ChildProcess }> {
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'serve', '--model', modelDir, '--name', 'base', '--port', '0', '--allow-runtime-lora'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RFT_THREADS: '1' } });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /on (http:\/\/\S+)\/v1/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`rft serve exited: ${err}`)));
  });
  return { url, child };
}

export async function run(args: string[]): Promise<number> {
  let o;
  try {
    o = parseArgs({ args, options: {
      preset: { type: 'string', default: 'tiny' }, steps: { type: 'string', default: '4' }, prompts: { type: 'string', default: '4' },
      rollouts: { type: 'string', default: '8' }, 'new-tokens': { type: 'string', default: '64' }, threads: { type: 'string', default: '2' }, json: { type: 'boolean', default: false },
    } }).values;
  } catch (e) {
    process.stderr.write(`bench fleet: ${(e as Error).message}\n`);
    return 2;
  }
  const preset = PRESETS[o.preset!];
  if (!preset) {
    process.stderr.write(`bench fleet: unknown --preset "${o.preset}" (${Object.keys(PRESETS).join(', ')})\n`);
    return 2;
  }
  const [S, P, G, N, T] = [o.steps, o.prompts, o.rollouts, o['new-tokens'], o.threads].map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'rft-bench-fleet-'));
  const children: ChildProcess[] = [];
  try {
    const modelDir = join(dir, 'm');
    initModel(modelDir, { ...DEFAULTS, ...preset, seed: 1 });
    kernels().setThreads(T);
    const rows: Row[] = Array.from({ length: 2 * P }, (_, i) => ({ messages: [{ role: 'user', content: `Make ${20 + i} from ${i + 2} ${i + 5} ${i + 9}.` }] }));
    const cfg: GrpoStepConfig = {
      rolloutsPerPrompt: G, temperature: 1, topP: 1, topK: 0, maxNewTokens: N, policyUpdates: 1, miniBatches: 1,
      rewardScaling: 'group', maskTruncated: false, dropZeroVarianceGroups: false, maxGradNorm: 1, weightDecay: 0,
      loss: { lossType: 'grpo', importanceSampling: 'token', epsilonLow: 0.2, epsilonHigh: 0.2, klBeta: 0, maxCompletionLength: N },
    };
    const newPolicy = () => {
      const model = loadModel(modelDir);
      return new TransformerPolicy(model, loadTokenizer(modelDir, model), { lora: { r: 16, alpha: 32, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }, seed: 1 });
    };
    const servers = await Promise.all([serve(modelDir), serve(modelDir)]);
    children.push(...servers.map((s) => s.child));
    const urls = servers.map((s) => s.url);

    const results: Record<string, Record<string, number>> = {};
    for (const mode of ['in-process', 'fleet', 'fleet --async'] as const) {
      const base = newPolicy();
      let policy = base as import('../src/contracts/policy-engine.js').PolicyEngine;
      let source: RolloutSource | undefined;
      let session: FleetSession | undefined;
      const stepCfg: GrpoStepConfig = mode === 'in-process' ? cfg : { ...cfg, rolloutCorrection: { level: 'token', threshold: 2 } };
      if (mode !== 'in-process') {
        const fleet = new FleetRolloutSource({ servers: urls, tokenizer: base.chat, baseModel: 'base' });
        session = new FleetSession(fleet, new AdapterSync({ servers: urls, sharedDir: join(dir, `adapters-${mode.length}`), prefix: `bench${mode.length}` }), base);
        policy = session.policy;
        const s = session;
        source = mode === 'fleet' ? session : new PipelinedSource(session, { maxStaleness: 1, version: () => s.version, plan: (step) => (step < S ? stepRolloutRequest(rowsForStep(rows, P, 1, step), stepCfg, 1, step) : null) });
      }
      const steps: Record<string, number>[] = [];
      for (let step = 0; step < S; step++) {
        const t0 = performance.now();
        const { metrics } = await grpoStep(policy, base.chat, lengthScore, rowsForStep(rows, P, 1, step), stepCfg, { seed: 1, step, lr: 1e-3, source });
        steps.push({ ...(metrics as unknown as Record<string, number>), step_s: (performance.now() - t0) / 1000 });
      }
      await source?.close?.();
      // The first step of a fleet run includes the first adapter publish and connection set-up; it is in the median's sample too.
      const m = (k: string) => median(steps.map((s) => s[k] ?? NaN));
      results[mode] = {
        step_s: m('step_s'), sample_s: m('time_sample_s'), score_s: m('time_eval_s'), train_s: m('time_train_s'),
        publish_s: session ? session.stats.publishMs / 1000 / S : 0, mismatch_kl: m('mismatch_kl'), is_clip_fraction: m('is_clip_fraction'),
      };
    }
    if (o.json) console.log(JSON.stringify({ preset: o.preset, steps: S, prompts: P, rollouts: G, newTokens: N, trainerThreads: T, results }));
    else {
      console.log(`GRPO steps on a random ${o.preset} model (LoRA r 16): ${P} prompts × ${G} rollouts × ≤ ${N} new tokens, ${S} steps, medians; trainer on ${T} threads, fleet = 2 × rft serve on 1 thread`);
      console.log('mode            step s   sample s  score s  train s  publish s  mismatch_kl  is_clip');
      for (const [k, r] of Object.entries(results))
        console.log(`${k.padEnd(15)} ${r.step_s!.toFixed(3).padStart(7)} ${r.sample_s!.toFixed(3).padStart(9)} ${r.score_s!.toFixed(3).padStart(8)} ${r.train_s!.toFixed(3).padStart(8)} ${r.publish_s!.toFixed(3).padStart(10)} ${Number.isNaN(r.mismatch_kl!) ? '–'.padStart(12) : r.mismatch_kl!.toExponential(2).padStart(12)} ${Number.isNaN(r.is_clip_fraction!) ? '–' : r.is_clip_fraction!.toFixed(3)}`);
    }
    return 0;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
