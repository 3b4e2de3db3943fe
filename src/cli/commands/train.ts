/** `rft sft` (stage 1) and `rft train` (stage 2, GRPO-family RFT). Flags derive from src/train/config. */
import type { Command } from 'commander';
import { addConfigFlags, configFromFlags } from '../flags.js';
import { CliError } from '../errors.js';
import { Progress } from '../progress.js';
import { rftFields } from '../../train/config/rft.js';
import { sftFields } from '../../train/config/sft.js';
import { prepareRunOut } from '../run-out.js';
import { runSourceFor } from '../run-source.js';
import type { Fleet } from '../fleet.js';
import { runRftFromConfig, runSftFromConfig } from '../../train/run-config.js';
import type { HeldoutResult } from '../../train/evaluate.js';

export { rftLoopConfig, sftConfig, heldoutFromSft } from '../../train/run-config.js';

export function describeEval(r: HeldoutResult): string {
  const f = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(3));
  return `pass@1 ${f(r.pass1)} (greedy)  mean reward ${f(r.mean_reward)}` + (r.k ? `  pass@1 sampled ${f(r.pass1_sampled)}  pass@${r.k} ${f(r.pass_at_k)}` : '') + `  (${r.n} prompts)`;
}

async function withUserErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError((e as Error).message, 1);
  }
}

export function register(program: Command): void {
  const train = program
    .command('train')
    .description('RFT (stage 2): sample, score with an evaluator, and update a LoRA adapter with GRPO-family losses')
    .option('--resume', 'continue the run in --out from its last checkpoint (refused when any option that shapes the run differs)')
    .option('--overwrite', 'replace the run already in --out');
  addConfigFlags(train, rftFields).action(async (opts: Record<string, unknown>) => {
    const c = configFromFlags(rftFields, opts, 'train');
    const clearOut = prepareRunOut(c.out as string, { resume: opts.resume === true, overwrite: opts.overwrite === true, command: 'train' });
    await withUserErrors(async () => {
      const progress = new Progress('rft train');
      let fleet: Fleet | undefined;
      const { result, report, output } = await runRftFromConfig(c, {
        resume: opts.resume === true,
        beforeRun: clearOut,
        onWarning: (w) => process.stderr.write(`rft: warning: ${w}\n`),
        makeSource: runSourceFor(c, (f) => (fleet = f)),
        onStep: (step, total, m) =>
          progress.update(step, total, {
            reward: m.reward_mean, kl: m.kl, entropy: m.entropy, len: m.completion_len_mean,
            ...(c.agent ? { turns: m.turns_mean, 'tool err': m.tool_errors, invalid: m.invalid_fraction } : {}),
            ...(m.mismatch_kl !== undefined ? { 'mismatch kl': m.mismatch_kl, 'is clip': m.is_clip_fraction ?? 0 } : {}),
            'tok/s': Math.round(m.sample_tokens_per_s),
          }),
        onEval: (step, r) => progress.log(`held-out @ step ${step}: ${describeEval(r)}`),
      });
      progress.done();
      if (fleet) console.log(fleet.summary());
      console.log(`report: ${report}`);
      console.log(`${c.full ? 'model' : 'adapter'}: ${output}`);
      if (result.initialEval && result.finalEval) console.log(`held-out pass@1 ${result.initialEval.pass1.toFixed(3)} → ${result.finalEval.pass1.toFixed(3)}`);
    });
  });

  const sft = program
    .command('sft')
    .description('SFT (stage 1): learn from teacher answers (loss on the answer tokens only), LoRA or full')
    .option('--overwrite', 'replace the run already in --out');
  addConfigFlags(sft, sftFields).action(async (opts: Record<string, unknown>) => {
    const c = configFromFlags(sftFields, opts, 'sft');
    const clearOut = prepareRunOut(c.out as string, { overwrite: opts.overwrite === true, command: 'sft' });
    await withUserErrors(async () => {
      const progress = new Progress('rft sft');
      const { result, report, output } = await runSftFromConfig(c, {
        beforeRun: clearOut,
        onWarning: (w) => process.stderr.write(`rft: warning: ${w}\n`),
        onStep: (step, total, m) => progress.update(step, total, { loss: m.loss, lr: m.lr, 'tok/s': Math.round(m.tokens_per_s) }),
        onEval: (step, r) => progress.log(`eval @ step ${step}: ${r.eval_loss !== undefined ? `loss ${r.eval_loss.toFixed(4)}  ` : ''}${r.heldout ? describeEval(r.heldout) : ''}`),
      });
      progress.done();
      console.log(`report: ${report}`);
      console.log(`${c.full ? 'model' : 'adapter'}: ${output}`);
      if (result.evalLoss !== undefined) console.log(`eval loss ${result.evalLoss.toFixed(4)}`);
    });
  });
}
