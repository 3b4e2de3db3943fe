/**
 * The jobs REST API (Fireworks-style resources under /v1/accounts/{account}/…):
 *
 *   datasets                      POST (create) · GET (list) · GET/DELETE {name} · POST {name}:upload (JSONL body) · GET {name}/rows
 *   evaluators                    POST · GET · GET/DELETE {name} · POST {name}:addVersion · GET {name}/versions · POST {name}:preview
 *   reinforcementFineTuningJobs   POST · GET · GET/DELETE {name} · POST {name}:cancel|:pause|:resume
 *   supervisedFineTuningJobs        (the same)
 *     {job}/metrics (paged) · {job}/metrics:stream (SSE) · {job}/evaluations · {job}/rollouts · {job}/logs (?follow=true: SSE)
 *     {job}/checkpoints · {job}/checkpoints/{id}:download (tar)
 *   deployments                   POST {job} · GET · GET/DELETE {name}   (served by the OpenAI routes, hot-loaded)
 *
 * Resources are read at `GET /v1/{name}` where name is `accounts/{a}/{collection}/{id}`.
 * Errors are the OpenAI error object, with `details` listing every problem of a refused body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, badRequest, notFound } from './errors.js';
import { tarEntries, tarSize, writeTar } from './tar.js';
import { JobsError } from '../jobs/errors.js';
import { JobSpecError } from '../jobs/spec.js';
import { createEvaluator, createJob, jobOutput, previewEvaluator, resourceName } from '../jobs/service.js';
import { COLLECTION, TERMINAL_STATES, type DatasetRecord, type EvaluatorRecord, type JobKind, type JobRecord, type JobStore } from '../jobs/store.js';
import type { JobEvent, JobRunner } from '../jobs/runner.js';

export interface ApiContext {
  store: JobStore;
  runner: JobRunner;
  /** Deploys a finished job's output under a model id; returns the deployment. */
  deploy(account: string, deploymentId: string | undefined, job: JobRecord): Record<string, unknown>;
  undeploy(name: string): void;
  readJson(req: IncomingMessage): Promise<Record<string, unknown>>;
  sendJson(res: ServerResponse, status: number, body: unknown): void;
}

/** JobsError / JobSpecError → the one error shape. */
export function apiErrorOf(e: unknown): ApiError | undefined {
  if (e instanceof JobSpecError) return new ApiError(400, e.message, 'invalid_request_error', e.issues[0]?.path ?? null, 'invalid_spec', undefined, e.issues);
  if (e instanceof JobsError) {
    const type = e.status === 404 ? 'not_found_error' : e.status === 409 ? 'conflict_error' : e.status >= 500 ? 'server_error' : 'invalid_request_error';
    return new ApiError(e.status, e.message, type, e.param, e.code, undefined, e.issues);
  }
  // the database cannot write: a full or read-only data directory
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN)/.test(code))
    return new ApiError(507, `the data directory cannot be written (${code}): ${(e as Error).message}; free space or fix its permissions`, 'server_error', null, 'storage_error');
  return undefined;
}

export function datasetJson(d: DatasetRecord): Record<string, unknown> {
  const { account: _a, id: _i, ...rest } = d;
  return rest;
}

export function evaluatorJson(e: EvaluatorRecord): Record<string, unknown> {
  let spec: unknown = e.spec;
  try {
    spec = JSON.parse(e.spec);
  } catch {
    // a built-in's name
  }
  // the server's own path of an uploaded module is not the client's business
  if (e.source === 'module') spec = { type: 'module', language: e.spec.includes('.ts"') ? 'ts' : 'js' };
  return { name: e.name, displayName: e.displayName, version: e.version, source: e.source, spec, state: 'ACTIVE', createTime: e.createTime };
}

export function jobJson(j: JobRecord): Record<string, unknown> {
  const out = jobOutput(j);
  const done = j.state === 'JOB_STATE_COMPLETED' || j.state === 'JOB_STATE_EARLY_STOPPED';
  return {
    ...j.spec,
    name: j.name,
    displayName: j.displayName,
    state: j.state,
    status: { code: j.state === 'JOB_STATE_FAILED' ? 'FAILED' : 'OK', message: j.statusMessage },
    createTime: j.createTime,
    updateTime: j.updateTime,
    jobProgress: { step: j.step, totalSteps: j.totalSteps, percent: j.totalSteps ? Math.round((100 * j.step) / j.totalSteps) : 0 },
    attempts: j.attempts,
    ...(j.resolved.evaluatorVersion ? { evaluatorVersion: j.resolved.evaluatorVersion } : {}),
    ...(j.resolved.warmStartJob ? { warmStartJob: j.resolved.warmStartJob } : {}),
    ...(done && out ? { output: { kind: out.kind, checkpoint: `${j.name}/checkpoints/final` } } : {}),
  };
}

const COLLECTIONS: Record<string, JobKind> = { reinforcementFineTuningJobs: 'rft', supervisedFineTuningJobs: 'sft' };

function listOptions(q: URLSearchParams): { pageSize?: number; pageToken?: string; filter?: string; orderBy?: string } {
  const ps = q.get('pageSize');
  const pageSize = ps === null ? undefined : Number(ps);
  if (ps !== null && !(Number.isInteger(pageSize) && pageSize! >= 1 && pageSize! <= 1000)) throw badRequest(`pageSize must be an integer in [1, 1000], got "${ps}"`, 'pageSize');
  return { pageSize, pageToken: q.get('pageToken') ?? undefined, filter: q.get('filter') ?? undefined, orderBy: q.get('orderBy') ?? undefined };
}

function num(q: URLSearchParams, key: string, integer = false): number | undefined {
  const v = q.get(key);
  if (v === null) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw badRequest(`${key} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`, key);
  return n;
}

/** Server-sent events on `res`; returns a writer that stops once the client is gone. */
export function sse(res: ServerResponse): { send(event: string, data: unknown): void; closed(): boolean; end(): void } {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(': rft\n\n');
  let gone = false;
  res.on('close', () => (gone = true));
  const ping = setInterval(() => !gone && res.write(': keep-alive\n\n'), 15_000);
  ping.unref();
  res.on('close', () => clearInterval(ping));
  return {
    send: (event, data) => {
      if (!gone) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    closed: () => gone,
    end: () => {
      clearInterval(ping);
      if (!gone) res.end();
    },
  };
}

/**
 * Handles `/v1/accounts/{account}/…` and `/v1/{name}…`. `account` is the authenticated
 * account (or the path's, in keyless mode). Returns false when the path is not a jobs route.
 */
export async function handleJobsApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams, account: string): Promise<boolean> {
  const m = /^\/v1\/accounts\/([^/]+)(?:\/([A-Za-z]+)(?:\/([^/:]+))?(?::([A-Za-z]+)|\/(.+))?)?$/.exec(path);
  if (!m) return false;
  const [, , collection, id, verb, sub] = m as unknown as [string, string, string | undefined, string | undefined, string | undefined, string | undefined];
  const method = req.method ?? 'GET';
  const { store, runner } = ctx;
  const send = (body: unknown, status = 200) => ctx.sendJson(res, status, body);
  const wrong = () => new ApiError(405, `${method} is not allowed on ${path}`, 'invalid_request_error', null, 'method_not_allowed');
  if (!collection) throw notFound(`no route ${method} ${path}`, null, 'unknown_url');
  const name = id ? `accounts/${account}/${collection}/${decodeURIComponent(id)}` : undefined;

  if (collection === 'datasets') {
    if (!name) {
      if (method === 'GET') {
        const p = store.listDatasets(account, listOptions(q));
        return send({ datasets: p.items.map(datasetJson), nextPageToken: p.nextPageToken, totalSize: p.totalSize }), true;
      }
      if (method !== 'POST') throw wrong();
      const b = await ctx.readJson(req);
      const ds = (b.dataset ?? {}) as Record<string, unknown>;
      const problems: { path: string; message: string }[] = [];
      if (b.datasetId !== undefined && typeof b.datasetId !== 'string') problems.push({ path: 'datasetId', message: 'expected a string' });
      if (ds.format !== undefined && ds.format !== 'RFT' && ds.format !== 'SFT') problems.push({ path: 'dataset.format', message: 'expected "RFT" (prompt rows, the default) or "SFT" (rows ending with the answer)' });
      if (ds.displayName !== undefined && typeof ds.displayName !== 'string') problems.push({ path: 'dataset.displayName', message: 'expected a string' });
      if (problems.length) throw new JobSpecError(problems, 'dataset');
      const d = store.createDataset(account, (b.datasetId as string | undefined) ?? newDatasetId(), { displayName: ds.displayName as string | undefined, format: ds.format as 'RFT' | 'SFT' | undefined });
      return send(datasetJson(d)), true;
    }
    if (verb === 'upload') {
      if (method !== 'POST') throw wrong();
      const declared = Number(req.headers['content-length']);
      if (declared > store.maxDatasetBytes) {
        req.resume();
        throw new ApiError(413, `the upload (${declared} bytes) exceeds the dataset size limit of ${store.maxDatasetBytes} bytes`, 'invalid_request_error', 'body', 'too_large');
      }
      const { dataset, report } = await store.uploadDataset(name, req);
      return send({ dataset: datasetJson(dataset), validation: { rows: report.rows, validRows: report.validRows, issues: [] } }), true;
    }
    if (sub === 'rows') {
      const d = store.getDataset(name);
      const limit = num(q, 'pageSize', true) ?? 20;
      const offset = num(q, 'offset', true) ?? 0;
      const lines = readFileSync(store.datasetPath(d), 'utf8').split('\n').filter((l) => l.trim());
      return send({ rows: lines.slice(offset, offset + Math.min(limit, 1000)).map((l) => JSON.parse(l)), totalSize: lines.length }), true;
    }
    if (verb || sub) throw notFound(`no route ${method} ${path}`, null, 'unknown_url');
    if (method === 'GET') return send(datasetJson(store.getDataset(name))), true;
    if (method === 'DELETE') return store.deleteDataset(name), send({}), true;
    throw wrong();
  }

  if (collection === 'evaluators') {
    if (!name) {
      if (method === 'GET') {
        const p = store.listEvaluators(account, listOptions(q));
        return send({ evaluators: p.items.map(evaluatorJson), nextPageToken: p.nextPageToken, totalSize: p.totalSize }), true;
      }
      if (method !== 'POST') throw wrong();
      return send(evaluatorJson(await createEvaluator(store, account, (await ctx.readJson(req)) as never))), true;
    }
    if (verb === 'addVersion') {
      if (method !== 'POST') throw wrong();
      return send(evaluatorJson(await createEvaluator(store, account, (await ctx.readJson(req)) as never, decodeURIComponent(id!)))), true;
    }
    if (verb === 'preview') {
      if (method !== 'POST') throw wrong();
      return send(await previewEvaluator(store, account, name, await ctx.readJson(req))), true;
    }
    if (sub === 'versions') return send({ versions: store.evaluatorVersions(name).map(evaluatorJson) }), true;
    if (verb || sub) throw notFound(`no route ${method} ${path}`, null, 'unknown_url');
    if (method === 'GET') return send(evaluatorJson(store.getEvaluator(name, num(q, 'version', true)))), true;
    if (method === 'DELETE') return store.deleteEvaluator(name), send({}), true;
    throw wrong();
  }

  const kind = COLLECTIONS[collection];
  if (kind) {
    if (!name) {
      if (method === 'GET') {
        const p = store.listJobs(account, kind, listOptions(q));
        return send({ [collection]: p.items.map(jobJson), nextPageToken: p.nextPageToken, totalSize: p.totalSize }), true;
      }
      if (method !== 'POST') throw wrong();
      const body = await ctx.readJson(req);
      const jobId = q.get(collection === 'reinforcementFineTuningJobs' ? 'reinforcementFineTuningJobId' : 'supervisedFineTuningJobId') ?? undefined;
      const j = await createJob(store, account, kind, body, jobId);
      runner.schedule();
      return send(jobJson(store.getJob(j.name))), true;
    }
    const job = () => store.getJob(name);
    if (verb) {
      if (method !== 'POST') throw wrong();
      if (verb === 'cancel') return send(jobJson(runner.cancel(name))), true;
      if (verb === 'pause') return send(jobJson(runner.pause(name))), true;
      if (verb === 'resume') return send(jobJson(runner.resume(name))), true;
      if (verb === 'deploy') {
        const b = await ctx.readJson(req).catch(() => ({}) as Record<string, unknown>);
        return send(ctx.deploy(account, b.deploymentId as string | undefined, job())), true;
      }
      throw notFound(`no method :${verb} on jobs (use :cancel, :pause, :resume or :deploy)`, null, 'unknown_url');
    }
    if (!sub) {
      if (method === 'GET') return send(jobJson(job())), true;
      if (method === 'DELETE') {
        for (const d of store.deployments(account)) if (d.job === name) ctx.undeploy(d.name);
        return store.deleteJob(name), send({}), true;
      }
      throw wrong();
    }
    if (method !== 'GET') throw wrong();
    job(); // 404 for an unknown job before anything else
    if (sub === 'metrics') {
      const afterStep = q.get('pageToken') ? Number(q.get('pageToken')) : (num(q, 'afterStep', true) ?? 0);
      if (!Number.isInteger(afterStep)) throw badRequest('pageToken is not one this server issued', 'pageToken');
      const size = num(q, 'pageSize', true) ?? 100;
      if (size < 1 || size > 1000) throw badRequest(`pageSize must be an integer in [1, 1000], got ${size}`, 'pageSize');
      const rows = store.metrics(name, { afterStep, limit: size + 1 });
      const page = rows.slice(0, size);
      return send({ metrics: page.map((r) => ({ step: r.step, ...r.metrics })), nextPageToken: rows.length > size ? String(page.at(-1)!.step) : '' }), true;
    }
    if (sub === 'metrics:stream') return streamMetrics(ctx, res, name, num(q, 'afterStep', true) ?? 0), true;
    if (sub === 'evaluations') return send({ evaluations: store.evals(name).map((e) => ({ step: e.step, ...e.evaluation })) }), true;
    if (sub === 'rollouts') {
      const orderBy = q.get('orderBy') ?? undefined;
      if (orderBy !== undefined && !['score', 'score asc', 'score desc', 'step'].includes(orderBy)) throw badRequest(`orderBy must be "score", "score desc" or "step", got "${orderBy}"`, 'orderBy');
      const valid = q.get('valid');
      if (valid !== null && valid !== 'true' && valid !== 'false') throw badRequest(`valid must be true or false, got "${valid}"`, 'valid');
      const size = num(q, 'pageSize', true) ?? 50;
      if (size < 1 || size > 1000) throw badRequest(`pageSize must be an integer in [1, 1000], got ${size}`, 'pageSize');
      let offset = 0;
      if (q.get('pageToken')) {
        offset = Number(Buffer.from(q.get('pageToken')!, 'base64url').toString('utf8').replace(/^\{"o":(\d+)\}$/, '$1'));
        if (!Number.isInteger(offset)) throw badRequest('pageToken is not one this server issued', 'pageToken');
      }
      const p = store.rollouts(name, {
        step: num(q, 'step', true), minScore: num(q, 'minScore'), maxScore: num(q, 'maxScore'), valid: valid === null ? undefined : valid === 'true',
        orderBy: orderBy === 'score asc' ? 'score' : (orderBy as never), limit: size, offset,
      });
      return send({ rollouts: p.items, nextPageToken: p.nextPageToken, totalSize: p.totalSize }), true;
    }
    if (sub === 'logs') {
      const afterSeq = num(q, 'afterSeq', true) ?? (q.get('pageToken') ? Number(q.get('pageToken')) : 0);
      if (q.get('follow') === 'true') return followLogs(ctx, res, name, afterSeq), true;
      const size = num(q, 'pageSize', true) ?? 1000;
      const rows = store.logs(name, { afterSeq, limit: size });
      return send({ logs: rows, nextPageToken: rows.length === size ? String(rows.at(-1)!.seq) : '' }), true;
    }
    if (sub === 'checkpoints') return send({ checkpoints: checkpoints(job()) }), true;
    const cp = /^checkpoints\/([^/:]+):download$/.exec(sub);
    if (cp) return download(res, job(), cp[1]!), true;
    throw notFound(`no route ${method} ${path}`, null, 'unknown_url');
  }

  if (collection === 'deployments') {
    if (!name) {
      if (method === 'GET') return send({ deployments: store.deployments(account).map(deploymentJson) }), true;
      if (method !== 'POST') throw wrong();
      const b = await ctx.readJson(req);
      if (typeof b.job !== 'string') throw new JobSpecError([{ path: 'job', message: 'required: the name of a completed job (accounts/A/reinforcementFineTuningJobs/ID)' }], 'deployment');
      if (b.deploymentId !== undefined && typeof b.deploymentId !== 'string') throw new JobSpecError([{ path: 'deploymentId', message: 'expected a string' }], 'deployment');
      const jobName = b.job.startsWith('accounts/') ? b.job : resourceName(account, 'reinforcementFineTuningJobs', b.job);
      if (jobName.split('/')[1] !== account) throw new ApiError(403, `job "${jobName}" belongs to another account`, 'permission_error', 'job', 'permission_denied');
      return send(ctx.deploy(account, b.deploymentId as string | undefined, store.getJob(jobName))), true;
    }
    if (verb || sub) throw notFound(`no route ${method} ${path}`, null, 'unknown_url');
    if (method === 'GET') return send(deploymentJson(store.getDeployment(name))), true;
    if (method === 'DELETE') return ctx.undeploy(name), send({}), true;
    throw wrong();
  }
  throw notFound(`no collection "${collection}" (one of datasets, evaluators, ${Object.keys(COLLECTIONS).join(', ')}, deployments)`, null, 'unknown_url');
}

export function deploymentJson(d: { name: string; job: string; model: string; createTime: string }): Record<string, unknown> {
  return { name: d.name, job: d.job, model: d.model, state: 'DEPLOYED', createTime: d.createTime };
}

function newDatasetId(): string {
  return `ds-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

function checkpoints(j: JobRecord): { name: string; step: number | null; kind: string }[] {
  const dir = join(j.runDir, 'checkpoints');
  const out: { name: string; step: number | null; kind: string }[] = [];
  if (existsSync(dir))
    for (const n of readdirSync(dir).sort()) {
      const m = /^step-(\d+)$/.exec(n);
      if (m && existsSync(join(dir, n, 'trainer_state.json'))) out.push({ name: `${j.name}/checkpoints/${n}`, step: Number(m[1]), kind: 'TRAINING_STATE' });
    }
  const o = jobOutput(j);
  if (o && (j.state === 'JOB_STATE_COMPLETED' || j.state === 'JOB_STATE_EARLY_STOPPED')) out.push({ name: `${j.name}/checkpoints/final`, step: j.step, kind: o.kind === 'adapter' ? 'PEFT_ADAPTER' : 'HF_MODEL' });
  return out;
}

function download(res: ServerResponse, j: JobRecord, id: string): void {
  let dir: string;
  if (id === 'final') {
    const o = jobOutput(j);
    if (!o || !(j.state === 'JOB_STATE_COMPLETED' || j.state === 'JOB_STATE_EARLY_STOPPED')) throw notFound(`job "${j.name}" has no final output yet (it is ${j.state})`, 'checkpoint', 'checkpoint_not_found');
    dir = o.path;
  } else {
    if (!/^step-\d+$/.test(id) || !existsSync(join(j.runDir, 'checkpoints', id, 'trainer_state.json'))) throw notFound(`job "${j.name}" has no checkpoint "${id}"`, 'checkpoint', 'checkpoint_not_found');
    dir = join(j.runDir, 'checkpoints', id);
  }
  const entries = tarEntries(dir, `${j.id}-${id}`);
  res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': tarSize(entries), 'content-disposition': `attachment; filename="${j.id}-${id}.tar"` });
  writeTar(entries, res).catch(() => res.destroy());
}

/** Every stored step after `afterStep`, then each new one as it is recorded; ends when the job stops running. */
function streamMetrics(ctx: ApiContext, res: ServerResponse, name: string, afterStep: number): void {
  const out = sse(res);
  let last = afterStep;
  const flush = () => {
    for (const r of ctx.store.metrics(name, { afterStep: last, limit: 1000 })) {
      out.send('metrics', { step: r.step, ...r.metrics });
      last = r.step;
    }
  };
  follow(ctx, res, name, out, (e) => {
    if (e.type !== 'step') return;
    flush();
    const j = ctx.store.getJob(name);
    out.send('progress', jobJson(j).jobProgress);
  }, flush);
}

function followLogs(ctx: ApiContext, res: ServerResponse, name: string, afterSeq: number): void {
  const out = sse(res);
  let last = afterSeq;
  const flush = () => {
    for (const l of ctx.store.logs(name, { afterSeq: last, limit: 1000 })) {
      out.send('log', l);
      last = l.seq;
    }
  };
  follow(ctx, res, name, out, (e) => {
    if (e.type === 'log' || e.type === 'state') flush();
  }, flush);
}

/** Shared SSE loop: initial flush, live events for this job, a `state` event on each change, `end` when it stops. */
function follow(ctx: ApiContext, res: ServerResponse, name: string, out: ReturnType<typeof sse>, onEvent: (e: JobEvent) => void, flush: () => void): void {
  const stopped = (j: JobRecord) => TERMINAL_STATES.includes(j.state) || j.state === 'JOB_STATE_PAUSED';
  flush();
  const first = ctx.store.getJob(name);
  out.send('state', jobJson(first));
  if (stopped(first)) {
    out.send('end', { state: first.state });
    return out.end();
  }
  const listener = (e: JobEvent) => {
    if (e.job !== name) return;
    try {
      onEvent(e);
      if (e.type === 'state') {
        const j = ctx.store.getJob(name);
        out.send('state', jobJson(j));
        if (stopped(j)) {
          flush();
          out.send('end', { state: j.state });
          cleanup();
          out.end();
        }
      }
    } catch {
      cleanup();
      out.end();
    }
  };
  const cleanup = () => ctx.runner.events.off('event', listener);
  ctx.runner.events.on('event', listener);
  res.on('close', cleanup);
}

export { COLLECTION };
