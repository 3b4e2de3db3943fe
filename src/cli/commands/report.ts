/** `rft report RUN_DIR`: (re)generate a run's report (report.md with SVG curves). */
import type { Command } from 'commander';
import { writeReport } from '../../train/report.js';
import { CliError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('regenerate the report (report.md, reward and accuracy curves as SVG) of a run directory')
    .argument('<run-dir>', 'a directory written by rft sft / rft train')
    .action((runDir: string) => {
      try {
        console.log(writeReport(runDir));
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    });
}
