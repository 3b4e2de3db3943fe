/**
 * Creating resources from client bodies: a job spec is validated (every problem with its path),
 * its dataset, evaluator and warm start resolved against the store (the evaluator version is
 * pinned), and only then stored; an evaluator is built once to prove its spec or module loads.
 * The HTTP layer and tests call these; nothing here knows about HTTP.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadEvaluator, SpecError, BUILTINS } from '../evaluators/index.js';
import { previewEvaluations, type PreviewResult, type PreviewSummary } from '../evaluators/preview.js';
import { readJsonl, checkRow } from '../data/index.js';
import type { Row } from '../contracts/row.js';
import { JobsError } from './errors.js';
import { JobSpecError, parseRftJobSpec, parseSftJobSpec, type SpecIssue } from './spec.js';
import { newId, type EvaluatorRecord, type JobKind, type JobRecord, type JobStore } from './store.js';

/** `accounts/A/KIND/ID` or a bare ID within the account. */
export function resourceName(account: string, collection: string, ref: string): string {
  if (ref.startsWith('accounts/')) return ref;
  return `accounts/${account}/${collection}/${ref}`;
}

function accountOf(name: string): string {
  return name.split('/')[1] ?? '';
}

/** Builds the evaluator once (then closes it) so a broken spec is refused now, with paths under `prefix`. */
export async function checkEvaluatorSpec(spec: string, prefix: string): Promise<SpecIssue[]> {
  try {
    const ev = await loadEvaluator(spec, { pool: { timeoutMs: 10_000 } });
    await ev.close?.();
    return [];
  } catch (e) {
    if (e instanceof SpecError) return e.issues.map((i) => ({ path: prefix + i.path.replace(/^\$/, ''), message: i.message }));
    return [{ path: prefix, message: (e as Error).message }];
  }
}

export interface EvaluatorBody {
  evaluatorId?: string;
  evaluator?: { displayName?: string; spec?: unknown; module?: { code?: unknown; language?: unknown } };
}

/** Creates an evaluator (or, with `addVersionOf`, a new version of one) from a request body. */
export async function createEvaluator(store: JobStore, account: string, body: EvaluatorBody, addVersionOf?: string): Promise<EvaluatorRecord> {
  const issues: SpecIssue[] = [];
  const e = body.evaluator;
  const id = addVersionOf ?? body.evaluatorId ?? newId();
  if (!e || typeof e !== 'object') throw new JobSpecError([{ path: 'evaluator', message: 'required: an object with "spec" (a built-in name or spec object) or "module" ({code, language})' }], 'evaluator');
  if ((e.spec === undefined) === (e.module === undefined)) issues.push({ path: 'evaluator', message: 'give exactly one of "spec" or "module"' });
  if (e.displayName !== undefined && typeof e.displayName !== 'string') issues.push({ path: 'evaluator.displayName', message: 'expected a string' });
  let spec: string | undefined;
  let module: { code: string; extension: '.js' | '.ts' } | undefined;
  if (e.spec !== undefined) {
    if (typeof e.spec === 'string') {
      if (!BUILTINS[e.spec]) issues.push({ path: 'evaluator.spec', message: `"${e.spec}" is not a built-in evaluator (one of ${Object.keys(BUILTINS).join(', ')}); give a spec object for anything else` });
      spec = e.spec;
    } else if (e.spec && typeof e.spec === 'object' && !Array.isArray(e.spec)) {
      if ((e.spec as { type?: unknown }).type === 'module') issues.push({ path: 'evaluator.spec.type', message: 'upload a module with "module": {code, language}' });
      spec = JSON.stringify(e.spec);
    } else issues.push({ path: 'evaluator.spec', message: 'expected a built-in evaluator name or a spec object' });
  }
  if (e.module !== undefined) {
    const m = e.module;
    if (typeof m?.code !== 'string' || !m.code.trim()) issues.push({ path: 'evaluator.module.code', message: 'required: the module source' });
    if (m?.language !== 'js' && m?.language !== 'ts') issues.push({ path: 'evaluator.module.language', message: 'expected "js" or "ts"' });
    if (!issues.length) module = { code: m.code as string, extension: m.language === 'ts' ? '.ts' : '.js' };
  }
  if (issues.length) throw new JobSpecError(issues, 'evaluator');
  if (spec) {
    const problems = await checkEvaluatorSpec(spec, 'evaluator.spec');
    if (problems.length) throw new JobSpecError(problems, 'evaluator');
  }
  const rec = store.addEvaluatorVersion(account, id, { displayName: e.displayName, spec, source: typeof e.spec === 'string' ? 'builtin' : 'spec', module }, addVersionOf === undefined);
  if (module) {
    const problems = await checkEvaluatorSpec(rec.spec, 'evaluator.module');
    if (problems.length) {
      store.dropEvaluatorVersion(rec.name, rec.version);
      throw new JobSpecError(problems, 'evaluator');
    }
  }
  return rec;
}

/** The output folder of a finished job (its adapter, or its model with full fine-tuning). */
export function jobOutput(j: JobRecord): { path: string; kind: 'adapter' | 'model' } | undefined {
  for (const kind of ['adapter', 'model'] as const) {
    const p = join(j.runDir, kind);
    if (existsSync(p)) return { path: p, kind };
  }
  return undefined;
}

/**
 * Validates and stores a job; returns it PENDING (the runner picks it up). `body` is the job as
 * the client sent it; `jobId` the client's id or undefined for a generated one.
 */
export async function createJob(store: JobStore, account: string, kind: JobKind, body: unknown, jobId?: string): Promise<JobRecord> {
  const parsed = kind === 'rft' ? parseRftJobSpec(body) : parseSftJobSpec(body);
  const spec = parsed.spec as Record<string, any>;
  const issues: SpecIssue[] = [];
  const resolved: Record<string, unknown> = {};
  const tcPath = kind === 'rft' ? 'trainingConfig.' : '';
  const tc = kind === 'rft' ? spec.trainingConfig : spec;

  const dataset = (path: string, ref: string) => {
    const name = resourceName(account, 'datasets', ref);
    if (accountOf(name) !== account) return void issues.push({ path, message: `dataset "${name}" belongs to another account` });
    try {
      const d = store.getDataset(name);
      if (d.state !== 'READY') issues.push({ path, message: `dataset "${name}" has no uploaded contents yet` });
      else if (d.format !== (kind === 'rft' ? 'RFT' : 'SFT')) issues.push({ path, message: `dataset "${name}" holds ${d.format} rows; a ${kind.toUpperCase()} job needs ${kind === 'rft' ? 'RFT (prompt)' : 'SFT (answer)'} rows` });
      return name;
    } catch {
      issues.push({ path, message: `dataset "${name}" does not exist` });
    }
    return undefined;
  };
  resolved.dataset = dataset('dataset', spec.dataset);
  if (spec.evaluationDataset) resolved.evaluationDataset = dataset('evaluationDataset', spec.evaluationDataset);

  if (spec.evaluator !== undefined) {
    const ev = spec.evaluator as string | Record<string, unknown>;
    if (typeof ev === 'string' && (ev.startsWith('accounts/') || !BUILTINS[ev]) && !ev.trim().startsWith('{')) {
      const name = ev.startsWith('accounts/') ? ev : resourceName(account, 'evaluators', ev);
      try {
        if (accountOf(name) !== account) throw new Error('other account');
        const rec = store.getEvaluator(name);
        resolved.evaluator = rec.spec;
        resolved.evaluatorVersion = `${rec.name}@${rec.version}`;
      } catch {
        issues.push({ path: 'evaluator', message: `"${ev}" is neither a built-in evaluator (${Object.keys(BUILTINS).join(', ')}) nor an evaluator of account ${account}` });
      }
    } else {
      const s = typeof ev === 'string' ? ev : JSON.stringify(ev);
      issues.push(...(await checkEvaluatorSpec(s, 'evaluator')));
      resolved.evaluator = s;
    }
  }

  const model = tc.baseModel as string;
  resolved.model = isAbsolute(model) ? model : resolve(model);
  if (!existsSync(join(resolved.model as string, 'config.json'))) issues.push({ path: `${tcPath}baseModel`, message: `${resolved.model} is not a model folder on the server (no config.json)` });
  if (tc.warmStartFrom) {
    const w = tc.warmStartFrom as string;
    if (w.startsWith('accounts/')) {
      try {
        if (accountOf(w) !== account) throw new Error('other account');
        const from = store.getJob(w);
        const out = jobOutput(from);
        if (!out || !['JOB_STATE_COMPLETED', 'JOB_STATE_EARLY_STOPPED'].includes(from.state)) issues.push({ path: `${tcPath}warmStartFrom`, message: `job "${w}" is ${from.state} and has no output yet` });
        else if (out.kind === 'model') resolved.model = out.path;
        else if (kind === 'sft') issues.push({ path: `${tcPath}warmStartFrom`, message: `job "${w}" produced a LoRA adapter; SFT warm-starts from a full-weights output only` });
        else resolved.adapter = out.path;
        resolved.warmStartJob = w;
      } catch {
        issues.push({ path: `${tcPath}warmStartFrom`, message: `job "${w}" does not exist in account ${account}` });
      }
    } else {
      resolved.adapter = isAbsolute(w) ? w : resolve(w);
      if (kind === 'sft') issues.push({ path: 'warmStartFrom', message: 'SFT warm-starts from another job whose output is a full model; use baseModel for a model folder' });
      else if (!existsSync(join(resolved.adapter as string, 'adapter_config.json'))) issues.push({ path: 'trainingConfig.warmStartFrom', message: `${resolved.adapter} is not a PEFT adapter folder (no adapter_config.json)` });
    }
  }
  if (kind === 'sft' && spec.evaluator === undefined) delete resolved.evaluator;
  if (issues.length) throw new JobSpecError(issues);
  const id = jobId ?? newId();
  if (jobId !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(jobId)) throw new JobsError('invalid_argument', `job id "${jobId}" must be 1-63 lower-case letters, digits or hyphens`, 'id');
  return store.createJob({ account, id, kind, spec, options: parsed.options, resolved });
}

/**
 * `:preview`: scores given responses with an evaluator (what `rft evaluator preview` does), on
 * the first rows of a dataset resource or on rows in the body: line i of `responses` (one or
 * several strings) answers row i.
 */
export async function previewEvaluator(store: JobStore, account: string, evaluatorName: string, body: Record<string, unknown>): Promise<{ results: PreviewResult[]; summary: PreviewSummary }> {
  // a built-in by its name, unless the account has an evaluator resource of that id
  const id = evaluatorName.split('/').pop()!;
  let ev: { spec: string };
  try {
    ev = store.getEvaluator(evaluatorName);
  } catch (e) {
    if (!BUILTINS[id]) throw e;
    ev = { spec: id };
  }
  const issues: SpecIssue[] = [];
  const responses = body.responses;
  if (!Array.isArray(responses) || responses.length === 0) issues.push({ path: 'responses', message: 'required: a non-empty array; item i (a string or an array of strings) answers row i' });
  else if (responses.length > 1000) issues.push({ path: 'responses', message: `at most 1000 rows at once, got ${responses.length}` });
  else responses.forEach((r, i) => {
    if (typeof r !== 'string' && !(Array.isArray(r) && r.length > 0 && r.every((x) => typeof x === 'string'))) issues.push({ path: `responses[${i}]`, message: 'expected a string or a non-empty array of strings' });
  });
  if ((body.dataset === undefined) === (body.rows === undefined)) issues.push({ path: 'dataset', message: 'give exactly one of "dataset" (a dataset resource) or "rows" (an array of rows)' });
  let rows: Row[] = [];
  if (typeof body.dataset === 'string') {
    const name = resourceName(account, 'datasets', body.dataset);
    if (accountOf(name) !== account) issues.push({ path: 'dataset', message: `dataset "${name}" belongs to another account` });
    else {
      try {
        rows = (await readJsonl<Row>(store.datasetPath(store.getDataset(name)))).slice(0, Array.isArray(responses) ? responses.length : 0);
      } catch (e) {
        issues.push({ path: 'dataset', message: (e as Error).message });
      }
    }
  } else if (body.rows !== undefined) {
    if (!Array.isArray(body.rows)) issues.push({ path: 'rows', message: 'expected an array of rows' });
    else {
      body.rows.forEach((r, i) => {
        for (const p of checkRow(r, 'sft')) issues.push({ path: `rows[${i}]${p.path && !p.path.startsWith('(') ? `.${p.path}` : ''}`, message: p.message });
      });
      rows = body.rows as Row[];
    }
  }
  if (!issues.length && Array.isArray(responses) && rows.length !== responses.length)
    issues.push({ path: 'responses', message: `${responses.length} responses for ${rows.length} rows; item i answers row i` });
  if (issues.length) throw new JobSpecError(issues, 'preview request');
  const evaluator = await loadEvaluator(ev.spec, { pool: { timeoutMs: 30_000 } });
  try {
    return await previewEvaluations(evaluator, rows, (responses as (string | string[])[]).map((r) => (typeof r === 'string' ? [r] : r)), { concurrency: 4, timeoutMs: 30_000 });
  } finally {
    await evaluator.close?.();
  }
}
