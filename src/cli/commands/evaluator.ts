/**
 * `rft evaluator preview --evaluator SPEC --dataset FILE --responses FILE [--json]`: scores given
 * responses with an evaluator and prints a table and a summary (or one JSON object).
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Evaluator } from '../../contracts/evaluation.js';
import { formatPreview, InputError, previewEvaluations, readDataset, readResponses } from '../../evaluators/preview.js';
import { SpecError } from '../../evaluators/spec/issues.js';
import { builtinsNeedingOptions, loadEvaluator } from '../../evaluators/spec/load.js';
import { BUILTINS } from '../../evaluators/registry.js';
import { CliError } from '../errors.js';

function positiveInt(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, got "${v}"`);
    return n;
  };
}

export function register(program: Command): void {
  const evaluator = program.command('evaluator').description('evaluators (reward functions): preview them on given responses');
  evaluator
    .command('preview')
    .description('score given responses with an evaluator and print a table with a summary')
    .requiredOption('--evaluator <spec>', `a built-in (${Object.keys(BUILTINS).join(', ')}; ${Object.entries(builtinsNeedingOptions()).map(([n, o]) => `${n} needs ${o.join(', ')}`).join('; ')}: give those as JSON), a JSON spec (inline or .json file) or a .js/.ts module`)
    .requiredOption('--dataset <file>', 'dataset JSONL (one row per line)')
    .requiredOption('--responses <file>', 'JSONL: line i is a JSON string (or array of strings) answering row i')
    .option('--json', 'print one JSON object {results, summary}')
    .option('--concurrency <n>', 'evaluations in flight at once', positiveInt('--concurrency'), 4)
    .option('--timeout <ms>', 'per-evaluation timeout in ms', positiveInt('--timeout'), 30_000)
    .option('--workers <n>', 'worker threads for .js/.ts evaluator modules', positiveInt('--workers'), 2)
    .action(async (opts: { evaluator: string; dataset: string; responses: string; json?: boolean; concurrency: number; timeout: number; workers: number }) => {
      let ev: Evaluator;
      let rows;
      let responses;
      try {
        rows = readDataset(opts.dataset);
        responses = readResponses(opts.responses);
      } catch (e) {
        if (e instanceof InputError) throw new CliError(e.message);
        throw e;
      }
      try {
        ev = await loadEvaluator(opts.evaluator, { pool: { size: opts.workers, timeoutMs: opts.timeout } });
      } catch (e) {
        if (e instanceof SpecError) throw new CliError(`invalid --evaluator spec:\n${e.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
        throw e;
      }
      try {
        const { results, summary } = await previewEvaluations(ev, rows, responses, { concurrency: opts.concurrency, timeoutMs: opts.timeout });
        if (opts.json) {
          const out = results.map(({ row, sample, response, score, valid, reason, metrics }) => ({ row, sample, response, score, valid, reason: reason ?? null, metrics: metrics ?? {} }));
          process.stdout.write(JSON.stringify({ results: out, summary }) + '\n');
        } else {
          process.stdout.write(formatPreview(results, summary));
        }
      } catch (e) {
        if (e instanceof InputError) throw new CliError(e.message);
        throw e;
      } finally {
        await ev.close?.();
      }
    });
}
