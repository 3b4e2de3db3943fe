/**
 * The process a job runs in (forked by the runner with an IPC channel):
 *   node child.js JOB_FILE
 * JOB_FILE holds `{ kind, config, earlyStop }`: the complete `rft train` / `rft sft`
 * configuration, run by the same functions the CLI calls. Each step goes to the parent as one
 * message (metrics and rollouts together); the parent can ask for a pause (checkpoint, then
 * exit). If the parent goes away (server crash or kill -9) the child exits at once, so a
 * restarted server resumes the job from its last checkpoint with nobody else writing to it.
 */
import { readFileSync } from 'node:fs';
import { runRftFromConfig, runSftFromConfig } from '../train/run-config.js';
import type { StepRollouts } from '../train/grpo/trainer.js';
import { runSourceFor } from '../cli/run-source.js';
import type { ChildMessage, ParentMessage, WireRollout } from './protocol.js';

if (!process.send) {
  process.stderr.write('rft job child: must be started by the jobs runner (with an IPC channel)\n');
  process.exit(2);
}
process.on('disconnect', () => process.exit(70));

const send = (m: ChildMessage) => new Promise<void>((resolve) => process.send!(m, undefined, {}, () => resolve()));

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { kind: 'rft' | 'sft'; config: Record<string, any>; earlyStop: { steps: number; streak: number } };
let pauseRequested = false;
process.on('message', (m: ParentMessage) => {
  if (m.type === 'pause') pauseRequested = true;
});

function wire(ro: StepRollouts, G: number): WireRollout[] {
  return ro.trajectories.map((t, i) => {
    const r = ro.results[i]!;
    return {
      index: i, group: Math.floor(i / G), score: Number.isNaN(ro.rewards[i]) ? null : ro.rewards[i]!, valid: r.valid && !Number.isNaN(ro.rewards[i]),
      reason: r.reason ?? null, prompt: t.messages.slice(0, -1), messages: t.messages, metrics: r.metrics ?? null, finishReason: t.finishReason,
    };
  });
}

async function main(): Promise<void> {
  const c = job.config;
  if (job.kind === 'sft') {
    const out = await runSftFromConfig(c, {
      onStep: (step, total, m) => {
        process.stdout.write(`step ${step}/${total} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)}\n`);
        void send({ type: 'step', step, total, metrics: m as never, rollouts: [] });
      },
      onEval: (step, r) => {
        const { samples: _s, ...heldout } = r.heldout ?? { samples: [] };
        void send({ type: 'eval', step, evaluation: { eval_loss: r.eval_loss, ...heldout } });
      },
    });
    await send({ type: 'done', outcome: 'completed', step: out.result.steps, output: out.output });
    return;
  }
  let streak = job.earlyStop.streak;
  let pending: { step: number; total: number; metrics: Record<string, number> } | undefined;
  const out = await runRftFromConfig(c, {
    resume: true,
    makeSource: runSourceFor(c),
    onStep: (step, total, m) => {
      pending = { step, total, metrics: m as never };
      process.stdout.write(`step ${step}/${total} reward ${m.reward_mean.toFixed(3)} zero-variance ${m.zero_variance_fraction.toFixed(2)} kl ${m.kl.toFixed(4)}\n`);
    },
    onRollouts: (step, ro) => {
      if (pending?.step === step) void send({ type: 'step', ...pending, rollouts: wire(ro, c.rolloutsPerPrompt) });
      pending = undefined;
    },
    onEval: (step, r) => {
      const { samples: _s, ...summary } = r;
      void send({ type: 'eval', step, evaluation: summary as never });
    },
    control: (_step, m) => {
      streak = m.zero_variance_fraction === 1 ? streak + 1 : 0;
      if (job.earlyStop.steps > 0 && streak >= job.earlyStop.steps) return 'stop';
      return pauseRequested ? 'pause' : 'continue';
    },
  });
  const r = out.result;
  if (r.pausedAt !== undefined) await send({ type: 'done', outcome: 'paused', step: r.pausedAt, output: null });
  else if (r.stoppedAt !== undefined) await send({ type: 'done', outcome: 'early_stopped', step: r.stoppedAt, output: out.output });
  else await send({ type: 'done', outcome: 'completed', step: r.steps, output: out.output });
}

main().then(
  () => process.exit(0),
  async (e) => {
    await send({ type: 'error', message: (e as Error)?.message ?? String(e) });
    process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  },
);
