/**
 * `rft server`: one process and one node:http stack for the jobs API (src/server/jobs-api.ts),
 * the OpenAI-compatible inference routes for deployed job outputs (each base model gets an
 * InferenceServer whose routes are mounted here; adapters are hot-loaded on deploy), `/health`
 * and `/openapi.json`. Jobs run in child processes under the runner.
 *
 * Auth: with no API key in the store the server runs keyless and refuses to listen anywhere but
 * loopback; once a key exists (`rft server keys create`), every /v1 request needs
 * `Authorization: Bearer KEY` and sees only that key's account.
 *
 * The dashboard (src/server/dashboard.ts) is served at `/` and `/dashboard/`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { ApiError, badRequest, notFound } from './errors.js';
import { readJsonBody } from './body.js';
import { InferenceServer } from './http.js';
import { apiErrorOf, deploymentJson, handleJobsApi, type ApiContext } from './jobs-api.js';
import { openApiDocument } from './openapi.js';
import { handleDashboard } from './dashboard.js';
import { loadModel, loadTokenizer } from '../model/load.js';
import { JobStore, type JobRecord } from '../jobs/store.js';
import { JobRunner } from '../jobs/runner.js';
import { JobsError } from '../jobs/errors.js';
import { jobOutput } from '../jobs/service.js';
import { BUILTINS } from '../evaluators/index.js';

export interface RftServerOptions {
  dataDir: string;
  /** Jobs running at once (default 1). */
  concurrency?: number;
  /** Largest JSON body (default 4 MiB). */
  maxBodyBytes?: number;
  /** Largest dataset upload (default 256 MiB). */
  maxDatasetBytes?: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export class RftServer {
  readonly store: JobStore;
  readonly runner: JobRunner;
  readonly http: Server;
  /** one inference engine per model folder, created on first deployment */
  private readonly engines = new Map<string, InferenceServer>();
  private readonly maxBody: number;
  private host = '127.0.0.1';

  constructor(readonly opts: RftServerOptions) {
    this.store = new JobStore(opts.dataDir, { maxDatasetBytes: opts.maxDatasetBytes });
    this.runner = new JobRunner(this.store, { concurrency: opts.concurrency });
    this.maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((e) => this.sendError(res, e));
    });
    this.http.keepAliveTimeout = 65_000;
  }

  async listen(port = 8000, host = '127.0.0.1'): Promise<{ port: number; host: string }> {
    if (!LOOPBACK.has(host) && !this.store.hasApiKeys())
      throw new Error(`refusing to listen on ${host} without API keys: create one with \`rft server keys create --account NAME --data ${this.opts.dataDir}\`, or listen on 127.0.0.1`);
    this.host = host;
    // deployments survive restarts
    for (const d of this.store.deployments()) {
      try {
        this.loadDeployment(this.store.getJob(d.job), d.model);
      } catch (e) {
        process.stderr.write(`rft server: could not restore deployment ${d.name}: ${(e as Error).message}\n`);
      }
    }
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.runner.start();
    return { port: (this.http.address() as AddressInfo).port, host };
  }

  /** Stops accepting requests and stops job children without changing their state (they resume on the next start). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await this.runner.close();
    for (const e of this.engines.values()) await e.close(1000);
    setTimeout(() => this.http.closeAllConnections(), 500).unref();
    await closed;
    this.store.close();
  }

  private get keyless(): boolean {
    return !this.store.hasApiKeys();
  }

  /** The account a request acts for: the key's, or (keyless) the one in its path. */
  private authenticate(req: IncomingMessage, pathAccount: string | undefined): string | undefined {
    if (this.keyless) return pathAccount;
    const auth = req.headers.authorization ?? '';
    const key = /^Bearer\s+(.+)$/.exec(auth)?.[1]?.trim();
    const account = key ? this.store.accountOfKey(key) : undefined;
    if (!account) throw new ApiError(401, auth ? 'incorrect API key provided' : 'missing API key: send "Authorization: Bearer <key>" (create one with `rft server keys create`)', 'authentication_error', null, 'invalid_api_key');
    if (pathAccount !== undefined && pathAccount !== account) throw new ApiError(403, `this API key belongs to account "${account}", not "${pathAccount}"`, 'permission_error', null, 'permission_denied');
    return account;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/health') return this.sendJson(res, 200, { status: 'ok', jobsRunning: this.store.jobsInState('JOB_STATE_RUNNING').length, deployments: this.store.deployments().length, auth: this.keyless ? 'none (loopback only)' : 'api-key' });
    if (path === '/openapi.json' && req.method === 'GET') return this.sendJson(res, 200, openApiDocument());
    if (handleDashboard(req, res, path)) return;
    if (!path.startsWith('/v1/')) throw notFound(`no route ${req.method} ${path}`, null, 'unknown_url');
    const pathAccount = /^\/v1\/accounts\/([^/]+)/.exec(path)?.[1];
    const account = this.authenticate(req, pathAccount);
    // which account a key acts for (the dashboard asks after a key is entered); keyless: none in particular
    if (path === '/v1/accounts' && req.method === 'GET') return this.sendJson(res, 200, { accounts: account ? [{ name: `accounts/${account}` }] : [] });
    if (pathAccount !== undefined) {
      const ctx: ApiContext = {
        store: this.store,
        runner: this.runner,
        deploy: (acc, id, job) => this.deploy(acc, id, job),
        undeploy: (name) => this.undeploy(name),
        readJson: (r) => this.readJson(r),
        sendJson: (r, s, b) => this.sendJson(r, s, b),
      };
      if (await handleJobsApi(ctx, req, res, path, url.searchParams, account!)) return;
    }
    // OpenAI-compatible inference for deployments
    if (path === '/v1/builtinEvaluators' && req.method === 'GET')
      return this.sendJson(res, 200, { evaluators: Object.entries(BUILTINS).map(([name, b]) => ({ name, description: b.description })) });
    if (path === '/v1/models' && req.method === 'GET') return this.sendJson(res, 200, { object: 'list', data: this.models(account) });
    if ((path === '/v1/chat/completions' || path === '/v1/completions') && req.method === 'POST') {
      const body = await this.readJson(req);
      const model = body.model;
      if (typeof model !== 'string') throw badRequest('model: required string (a deployment\'s model id; GET /v1/models lists them)', 'model');
      const engine = this.engineFor(model, account);
      if (!engine) throw notFound(`the model "${model}" does not exist; deployed: ${this.models(account).map((m) => m.id).join(', ') || '(none: deploy a job first)'}`, 'model', 'model_not_found');
      return engine.handleRequest(req, res, body);
    }
    throw notFound(`no route ${req.method} ${path}`, null, 'unknown_url');
  }

  private models(account: string | undefined): { id: string; object: 'model'; created: number; owned_by: string; root: string; parent: string | null }[] {
    const mine = new Set(this.store.deployments(this.keyless ? undefined : account).map((d) => d.model));
    return [...this.engines.values()].flatMap((e) => e.modelList()).filter((m) => mine.has(m.id)).map((m) => ({ ...m, root: m.parent ?? m.id }));
  }

  private engineFor(model: string, account: string | undefined): InferenceServer | undefined {
    if (!this.store.deployments(this.keyless ? undefined : account).some((d) => d.model === model)) return undefined;
    return [...this.engines.values()].find((e) => e.modelList().some((m) => m.id === model));
  }

  private engine(modelDir: string, modelName?: string): InferenceServer {
    const key = modelName ? `${modelDir}#${modelName}` : modelDir;
    let e = this.engines.get(key);
    if (!e) {
      const model = loadModel(modelDir);
      const tokenizer = loadTokenizer(modelDir, model);
      const taken = new Set([...this.engines.values()].flatMap((x) => x.modelList().map((m) => m.id)));
      let name = modelName ?? `base/${basename(modelDir)}`;
      for (let i = 2; !modelName && taken.has(name); i++) name = `base/${basename(modelDir)}-${i}`;
      e = new InferenceServer({ model, tokenizer, modelName: name });
      this.engines.set(key, e);
    }
    return e;
  }

  /** Loads a job's output into an engine under `model` (adapters hot-load; a full model gets its own engine). */
  private loadDeployment(job: JobRecord, model: string): void {
    const out = jobOutput(job);
    if (!out) throw new JobsError('failed_precondition', `job "${job.name}" has no output to deploy`, 'job');
    if (out.kind === 'model') this.engine(out.path, model);
    else this.engine(job.resolved.model as string).loadAdapter(model, out.path);
  }

  private deploy(account: string, deploymentId: string | undefined, job: JobRecord): Record<string, unknown> {
    if (job.state !== 'JOB_STATE_COMPLETED' && job.state !== 'JOB_STATE_EARLY_STOPPED')
      throw new JobsError('failed_precondition', `job "${job.name}" is ${job.state}; only a completed job can be deployed`, 'job');
    const id = deploymentId ?? job.id;
    const spec = job.spec as { trainingConfig?: { outputModel?: string }; outputModel?: string };
    const model = spec.trainingConfig?.outputModel ?? spec.outputModel ?? `accounts/${account}/models/${job.id}`;
    const taken = this.store.deployments().find((d) => d.model === model);
    if (taken) throw new JobsError('already_exists', `the model id "${model}" is already served by ${taken.name}`, 'job');
    const name = `accounts/${account}/deployments/${id}`;
    try {
      this.store.getDeployment(name);
      throw new JobsError('already_exists', `deployment "${name}" already exists`, 'deploymentId');
    } catch (e) {
      if (!(e instanceof JobsError) || e.code !== 'not_found') throw e;
    }
    this.loadDeployment(job, model);
    try {
      return deploymentJson(this.store.addDeployment(account, id, job.name, model, jobOutput(job)!.path));
    } catch (e) {
      this.unload(model);
      throw e;
    }
  }

  private unload(model: string): void {
    for (const [key, e] of this.engines) {
      if (e.adapterNames.includes(model)) e.unloadAdapter(model);
      else if (key.endsWith(`#${model}`)) {
        void e.close(1000);
        this.engines.delete(key);
      }
    }
  }

  private undeploy(name: string): void {
    const d = this.store.getDeployment(name);
    this.store.deleteDeployment(name);
    this.unload(d.model);
  }

  private readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    return readJsonBody(req, this.maxBody, { emptyIsObject: true });
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private sendError(res: ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : (apiErrorOf(e) ?? new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`, 'server_error', null, 'internal_error'));
    const headers: Record<string, string> = {};
    if (err.status === 413) headers.connection = 'close';
    this.sendJson(res, err.status, err.toJSON(), headers);
  }
}
