/**
 * `rft dataset validate | stats | split | convert | from-sft | generate`: the CLI over src/data/.
 * Problems in the data are printed one per line as FILE:LINE: PATH: MESSAGE; user errors
 * (missing files, bad flags) are CliErrors with exit code 2; a file with problems exits 1.
 */
import { Command, Option } from 'commander';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Row } from '../../contracts/row.js';
import {
  ConvertError,
  DEFAULT_ANSWER_TAGS,
  DEFAULT_MAX_BYTES,
  JsonlError,
  StatsAccumulator,
  TASKS,
  answerPatterns,
  convertPromptRow,
  fromSftRow,
  generateTask,
  readJsonl,
  rebaseRowPaths,
  readJsonlRecords,
  splitRows,
  toPromptRow,
  validateFile,
  writeJsonl,
  type CompletionTarget,
  type DatasetStats,
  type Distribution,
  type KnobSpec,
  type SkipReason,
} from '../../data/index.js';
import { CliError } from '../main.js';
import { plural } from '../plural.js';

const out = (s: string) => process.stdout.write(s + '\n');

/** Turns file-system and parse errors into messages that say what and where. */
function userError(e: unknown, file: string): never {
  const err = e as NodeJS.ErrnoException;
  if (err instanceof JsonlError) throw new CliError(`${err.message} (run "rft dataset validate ${err.file}" to list every problem)`);
  // System errors name the path that failed (the input, an output, or a directory).
  const path = (err as { dest?: string })?.dest ?? err?.path ?? file; // rename errors: the destination
  if ((err?.code === 'EEXIST' || err?.code === 'ENOTDIR') && err.syscall === 'mkdir') {
    throw new CliError(`cannot create directory ${path}: a file is in the way (choose another output directory)`);
  }
  if (err?.code === 'ENOENT') throw new CliError(`cannot read ${path}: no such file`);
  if (err?.code === 'EISDIR') throw new CliError(`cannot use ${path}: it is a directory, not a JSONL file`);
  if (err?.code === 'EACCES' || err?.code === 'EPERM') throw new CliError(`cannot access ${path}: permission denied`);
  if (typeof err?.code === 'string' && err.syscall) throw new CliError(`${path}: ${err.message}`);
  if (err instanceof RangeError || err instanceof ConvertError) throw new CliError(err.message);
  throw e;
}

async function readAll(file: string): Promise<unknown[]> {
  try {
    return await readJsonl(file);
  } catch (e) {
    userError(e, file);
  }
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`${name} must be a whole number >= 1, got "${v}"`);
    return n;
  };
}

function integer(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || v.trim() === '') throw new CliError(`${name} must be a whole number, got "${v}"`);
    return n;
  };
}

const fmtDist = (d: Distribution) => `min ${d.min}  p50 ${d.p50}  p90 ${d.p90}  p99 ${d.p99}  max ${d.max}  mean ${d.mean}`;
const fmtCounts = (c: Record<string, number>) =>
  Object.entries(c).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ') || '-';

function printStats(file: string, s: DatasetStats): void {
  out(`${file}`);
  out(`  rows             ${s.rows}${s.skippedLines ? ` (${plural(s.skippedLines, 'line')} skipped: not JSON rows with messages)` : ''}`);
  out(`  messages by role ${fmtCounts(s.roles)}`);
  out(`  messages per row ${fmtDist(s.turns)}`);
  out(`  prompt chars     ${fmtDist(s.promptChars)}`);
  out(`  end with answer  ${plural(s.rowsEndingWithAssistant, 'row')} (SFT-style)`);
  out(`  fields           ${fmtCounts(s.fields)}`);
  out(`  ground_truth     ${fmtCounts(s.groundTruthTypes)}`);
  out(`  tools            ${plural(s.rowsWithTools, 'row')} with tools${s.rowsWithTools ? ` (${fmtCounts(s.toolNames)})` : ''}; ${plural(s.toolCalls, 'tool call')} in messages`);
}

function registerValidate(ds: Command): void {
  ds.command('validate')
    .description('check every row and print each problem with its line number; exits 1 when there are problems')
    .argument('<file>', 'JSONL dataset')
    .option('--sft', 'rows are SFT rows: each ends with the assistant (teacher) answer')
    .option('--max-bytes <n>', `largest allowed row in bytes (default ${DEFAULT_MAX_BYTES})`, positiveInt('--max-bytes'))
    .option('--allow-duplicates', 'do not report rows whose prompt repeats an earlier row')
    .option('--json', 'print one JSON object { rows, validRows, ok, issues: [{ line, code, path, message }] }')
    .action(async (file: string, o: { sft?: boolean; maxBytes?: number; allowDuplicates?: boolean; json?: boolean }) => {
      let report;
      try {
        report = await validateFile(file, { kind: o.sft ? 'sft' : 'rft', maxBytes: o.maxBytes, duplicates: !o.allowDuplicates });
      } catch (e) {
        userError(e, file);
      }
      if (o.json) out(JSON.stringify({ file, ...report }));
      else {
        for (const i of report.issues) out(`${file}:${i.line}: ${i.path}: ${i.message} [${i.code}]`);
        const lines = new Set(report.issues.map((i) => i.line)).size;
        out(report.ok
          ? `${file}: ${plural(report.rows, 'row')}, all valid`
          : `${file}: ${plural(report.rows, 'row')}, ${report.validRows} valid; ${plural(report.issues.length, 'problem')} on ${plural(lines, 'line')}`);
      }
      if (!report.ok) process.exitCode = 1;
    });
}

function registerStats(ds: Command): void {
  ds.command('stats')
    .description('rows, roles, turns, prompt lengths, fields, ground_truth types and tools of a dataset')
    .argument('<file>', 'JSONL dataset')
    .option('--json', 'print the statistics as JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const acc = new StatsAccumulator();
      try {
        for await (const r of readJsonlRecords(file)) {
          if (r.error !== undefined) acc.addSkipped();
          else acc.add(r.value);
        }
      } catch (e) {
        userError(e, file);
      }
      const s = acc.finish();
      if (o.json) out(JSON.stringify({ file, ...s }));
      else printStats(file, s);
    });
}

function defaultOut(file: string, suffix: string): string {
  const ext = extname(file);
  return join(dirname(file), `${basename(file, ext)}.${suffix}${ext || '.jsonl'}`);
}

function registerSplit(ds: Command): void {
  ds.command('split')
    .description('deterministic train/eval split, stratified by a field when --stratify is given')
    .argument('<file>', 'JSONL dataset')
    .requiredOption('--eval <size>', 'eval share: a fraction in (0, 1) or a row count', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new CliError(`--eval must be a fraction in (0, 1) or a row count >= 1, got "${v}"`);
      return n;
    })
    .option('--seed <n>', 'seed for the random choice', integer('--seed'), 0)
    .option('--stratify <field>', 'keep each value of this field (dot path, e.g. template or ground_truth.kind) in proportion')
    .option('--out-train <file>', 'train output (default FILE.train.jsonl)')
    .option('--out-eval <file>', 'eval output (default FILE.eval.jsonl)')
    .option('--json', 'print the counts as JSON')
    .action(async (file: string, o: { eval: number; seed: number; stratify?: string; outTrain?: string; outEval?: string; json?: boolean }) => {
      const rows = await readAll(file);
      let result;
      try {
        result = splitRows(rows, { eval: o.eval, seed: o.seed, stratify: o.stratify });
      } catch (e) {
        userError(e, file);
      }
      const trainPath = o.outTrain ?? defaultOut(file, 'train');
      const evalPath = o.outEval ?? defaultOut(file, 'eval');
      try {
        // relative file paths in rows (the SQL task's database) keep naming the same files from the new files' directories
        await writeJsonl(trainPath, result.train.map((r) => rebaseRowPaths(r, file, trainPath)));
        await writeJsonl(evalPath, result.eval.map((r) => rebaseRowPaths(r, file, evalPath)));
      } catch (e) {
        userError(e, trainPath);
      }
      if (o.json) out(JSON.stringify({ train: { path: trainPath, rows: result.train.length }, eval: { path: evalPath, rows: result.eval.length }, strata: result.strata }));
      else {
        out(`train ${plural(result.train.length, 'row')} -> ${trainPath}`);
        out(`eval  ${plural(result.eval.length, 'row')} -> ${evalPath}`);
        if (result.strata) for (const [k, v] of Object.entries(result.strata)) out(`  ${o.stratify} = ${k}: ${plural(v.rows, 'row')}, ${v.eval} to eval`);
      }
    });
}

function registerConvert(ds: Command): void {
  ds.command('convert')
    .description('prompt-style rows ({prompt, completion?, ...}, text or TRL conversational) to chat rows, or back with --to prompt')
    .argument('<file>', 'JSONL dataset')
    .requiredOption('--out <file>', 'output JSONL')
    .addOption(new Option('--to <form>', 'target form').choices(['chat', 'prompt']).default('chat'))
    .addOption(new Option('--completion <target>', 'where a completion goes: a final assistant message (SFT row), ground_truth, or nowhere').choices(['assistant', 'ground-truth', 'drop']).default('assistant'))
    .option('--system <text>', 'add this system message to prompts that have none')
    .option('--prompt-template <text>', 'the prompt of rows with neither messages nor prompt, from their fields: "Make {{target}} from {{nums}}"')
    .action(async (file: string, o: { out: string; to: 'chat' | 'prompt'; completion: CompletionTarget; system?: string; promptTemplate?: string }) => {
      const rows = await readAll(file);
      const converted = rows.map((row, i) => {
        try {
          const chat = convertPromptRow(row, { completion: o.completion, system: o.system, promptTemplate: o.promptTemplate });
          return o.to === 'chat' ? chat : toPromptRow(chat);
        } catch (e) {
          if (e instanceof ConvertError) throw new CliError(`${file}:${i + 1}: ${e.message}`);
          throw e;
        }
      });
      try {
        await writeJsonl(o.out, converted.map((r) => rebaseRowPaths(r, file, o.out)));
      } catch (e) {
        userError(e, o.out);
      }
      out(`${plural(converted.length, 'row')} -> ${o.out}`);
    });
}

function registerFromSft(ds: Command): void {
  ds.command('from-sft')
    .description("SFT rows to RFT rows: keep the prompt turns, move the teacher's final answer into ground_truth")
    .argument('<file>', 'SFT JSONL (each row ends with the assistant answer)')
    .requiredOption('--out <file>', 'RFT JSONL output')
    .option('--answer-tag <tag>', 'answer inside [TAG]…[/TAG] or <TAG>…</TAG> (default: RESULT, then answer)')
    .option('--answer-regex <re>', 'answer = first capture group (or whole match) of the last match')
    .option('--max <n>', 'stop after this many RFT rows', positiveInt('--max'))
    .option('--keep-ground-truth', 'rows that already have a ground_truth keep it (e.g. countdown\'s {numbers, target}); the answer must still be present')
    .option('--json', 'print the counts as JSON')
    .action(async (file: string, o: { out: string; answerTag?: string; answerRegex?: string; max?: number; keepGroundTruth?: boolean; json?: boolean }) => {
      if (o.answerTag !== undefined && o.answerRegex !== undefined) throw new CliError('give --answer-tag or --answer-regex, not both');
      let patterns: RegExp[];
      try {
        patterns = answerPatterns({ answerTag: o.answerTag, answerRegex: o.answerRegex });
      } catch (e) {
        throw new CliError(`bad answer pattern: ${(e as Error).message}`);
      }
      const skipped: Partial<Record<SkipReason | 'bad_json', number>> = {};
      let read = 0;
      let written = 0;
      async function* rows(): AsyncGenerator<Row> {
        for await (const rec of readJsonlRecords(file)) {
          if (o.max !== undefined && written >= o.max) return;
          read++;
          if (rec.error !== undefined) {
            skipped.bad_json = (skipped.bad_json ?? 0) + 1;
            continue;
          }
          const r = fromSftRow(rec.value, patterns, { keepGroundTruth: o.keepGroundTruth });
          if (r.skip) skipped[r.skip] = (skipped[r.skip] ?? 0) + 1;
          else {
            written++;
            yield rebaseRowPaths(r.row, file, o.out);
          }
        }
      }
      // written beside --out first: when no row converts, nothing is left (and an earlier --out file stays)
      const partial = `${o.out}.from-sft-${process.pid}`;
      try {
        await writeJsonl(partial, rows());
      } catch (e) {
        rmSync(partial, { force: true });
        userError(e, file);
      }
      const nSkipped = Object.values(skipped).reduce((a, b) => a + (b ?? 0), 0);
      const why = nSkipped ? ` (${fmtCounts(skipped as Record<string, number>)})` : '';
      if (written === 0) {
        rmSync(partial, { force: true });
        const tried = o.answerRegex !== undefined ? `--answer-regex ${o.answerRegex}`
          : o.answerTag !== undefined ? `[${o.answerTag}]…[/${o.answerTag}] or <${o.answerTag}>…</${o.answerTag}>`
          : `the default answer tags (${DEFAULT_ANSWER_TAGS.join(', ')})`;
        const hint = skipped.no_answer ? `; no final answer matched ${tried}: check --answer-tag / --answer-regex against a row's last message` : '';
        throw new CliError(`from-sft: no RFT row from ${plural(read, 'row')} of ${file}${why}${hint}; nothing written to ${o.out}`, 1);
      }
      renameSync(partial, o.out);
      if (o.json) out(JSON.stringify({ read, written, skipped }));
      else out(`read ${plural(read, 'row')}, wrote ${written} -> ${o.out}; skipped ${nSkipped}${why}`);
    });
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function registerGenerate(ds: Command): void {
  const cmd = ds
    .command('generate')
    .description(`write TASK.sft.jsonl (teacher solutions) and TASK.rft.jsonl (ground truth) for a built-in task: ${Object.keys(TASKS).join(', ')}`)
    .argument('<task>', Object.entries(TASKS).map(([k, t]) => `${k}: ${t.description}`).join('; '))
    .requiredOption('--out-dir <dir>', 'output directory (created if missing)')
    .requiredOption('--n <n>', 'number of examples', positiveInt('--n'))
    .option('--seed <n>', 'seed: same seed, same files', integer('--seed'), 0)
    .option('--json', 'print the written files as JSON');
  // Every task's knobs become flags; each is only accepted for its own task.
  const knobOwners = new Map<string, { spec: KnobSpec; tasks: string[] }>();
  for (const [name, task] of Object.entries(TASKS)) {
    for (const spec of task.knobs) {
      const e = knobOwners.get(spec.name);
      if (e) e.tasks.push(name);
      else knobOwners.set(spec.name, { spec, tasks: [name] });
    }
  }
  for (const { spec, tasks } of knobOwners.values()) {
    const help = `(${tasks.join(', ')}) ${spec.description}; default ${Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)}`;
    cmd.option(spec.type === 'bool' ? `--${spec.name}` : `--${spec.name} <value>`, help);
  }
  cmd.action(async (taskName: string, o: Record<string, unknown>) => {
    if (!(taskName in TASKS)) throw new CliError(`unknown task "${taskName}": choose one of ${Object.keys(TASKS).join(', ')}`);
    const knobs: Record<string, unknown> = {};
    for (const name of knobOwners.keys()) {
      const v = o[camel(name)];
      if (v === undefined) continue;
      if (!knobOwners.get(name)!.tasks.includes(taskName)) {
        throw new CliError(`--${name} is not a knob of ${taskName}; it belongs to ${knobOwners.get(name)!.tasks.join(', ')}`);
      }
      knobs[name] = v;
    }
    let report;
    try {
      report = await generateTask(taskName, { outDir: o.outDir as string, n: o.n as number, seed: o.seed as number, knobs });
    } catch (e) {
      userError(e, o.outDir as string);
    }
    if (o.json) out(JSON.stringify(report));
    else {
      out(`${report.task}: ${plural(report.rows, 'row')}`);
      out(`  SFT ${report.sftPath}`);
      out(`  RFT ${report.rftPath}`);
      for (const f of report.files) out(`  ${f}`);
    }
  });
}

export function register(program: Command): void {
  const ds = program.command('dataset').description('validate, inspect, split, convert and generate JSONL datasets');
  registerValidate(ds);
  registerStats(ds);
  registerSplit(ds);
  registerConvert(ds);
  registerFromSft(ds);
  registerGenerate(ds);
}
