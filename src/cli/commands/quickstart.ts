/** `rft quickstart` (what `npm start` runs): SFT then RFT end to end on a model it builds, offline. */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { basePlan, runQuickstart, summaryTable, withOverrides } from '../quickstart.js';
import { CliError } from '../errors.js';
import { JsonTextError, parseJsonText } from '../../data/index.js';
import { Progress } from '../progress.js';

export function register(program: Command): void {
  program
    .command('quickstart')
    .description('build a small model, SFT it on a generated task, then RFT it with GRPO; prints held-out accuracy before and after')
    .option('--out <dir>', 'run directory', 'runs/quickstart')
    .option('--task <name>', 'countdown (single-turn) or sql-agent (the built-in SQL agent: tool calls over the shop database)', 'countdown')
    .option('--agent <url>', 'sql-agent only: a remote agent server (e.g. `rft agent serve --agent sql-agent`) instead of the agent in process')
    .option('--small', 'a much smaller pipeline (a couple of minutes; what the test suite runs; countdown only)')
    .option('--plan <file>', 'a JSON file overriding parts of the plan (e.g. {"rft": {"steps": 50}, "trainSize": 2000})')
    .option('--json', 'print summary.json as the last line')
    .option('--fleet <n>', 'sample RFT\'s rollouts on N rft serve processes (one thread each) instead of in process (README "Scaling out")')
    .option('--async', 'with --fleet: sample step t+1 while step t trains')
    .action(async (o: { out: string; task: string; agent?: string; small?: boolean; plan?: string; json?: boolean; fleet?: string; async?: boolean }) => {
      const fleet = o.fleet === undefined ? undefined : Number(o.fleet);
      if (fleet !== undefined && !(Number.isInteger(fleet) && fleet >= 1 && fleet <= 16)) throw new CliError(`--fleet must be an integer in [1, 16], got "${o.fleet}"`);
      let plan;
      try {
        plan = basePlan(o.task, o.small);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      if (o.agent && o.task !== 'sql-agent') throw new CliError('--agent needs --task sql-agent');
      if (o.agent && !/^https?:\/\//i.test(o.agent)) throw new CliError(`--agent ${o.agent}: expected the http(s):// URL of a remote agent server (the in-process agent is the default)`);
      if (o.plan) {
        try {
          plan = withOverrides(plan, parseJsonText(readFileSync(o.plan, 'utf8'), o.plan) as Record<string, unknown>);
        } catch (e) {
          throw new CliError(e instanceof JsonTextError ? `--plan ${e.message}` : `--plan ${o.plan}: ${(e as Error).message}`);
        }
      }
      let bar: Progress | undefined;
      const log = (m: string) => (bar ? bar.log(m) : process.stderr.write(m + '\n'));
      const run = runQuickstart(plan, o.out, {
        log,
        onSftStep: (step, total, m) => (bar ??= new Progress('SFT')).update(step, total, { loss: m.loss, 'tok/s': Math.round(m.tokens_per_s) }),
        onRftStep: (step, total, m) => {
          if (step === 1) {
            bar?.done();
            bar = new Progress('RFT');
          }
          bar!.update(step, total, { reward: m.reward_mean, entropy: m.entropy, len: m.completion_len_mean, 'sample tok/s': Math.round(m.sample_tokens_per_s) });
        },
      }, { fleet, async: o.async === true, agentUrl: o.agent });
      const summary = await run.catch((e: Error) => {
        bar?.done();
        throw new CliError(e.message, 1);
      });
      bar?.done();
      const out = resolve(o.out);
      console.log('\n' + summaryTable(summary));
      const trained = join(out, 'rft', plan.rftFull ? 'model' : 'adapter');
      console.log(`\n${plan.rftFull ? 'model:  ' : 'adapter:'} ${trained}\nreport:  ${join(out, 'rft', 'report.md')}\nsummary: ${join(out, 'summary.json')}`);
      const serve = plan.rftFull ? `--model ${trained}` : `--model ${join(out, 'sft', 'model')} --adapter ${plan.task}=${trained}`;
      console.log(`serve:   npx rft serve ${serve}`);
      if (o.json) console.log(JSON.stringify(summary));
    });
}
