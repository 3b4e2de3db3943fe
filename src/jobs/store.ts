/**
 * The jobs store: SQLite (better-sqlite3, WAL) for metadata, metrics, rollouts and logs; files
 * under the data directory for what is large.
 *
 *   DATA/rft.db                         the database
 *   DATA/datasets/<sha256>.jsonl        dataset contents, content-addressed (shared by equal uploads)
 *   DATA/evaluators/<account>/<id>/vN.* uploaded evaluator modules
 *   DATA/jobs/<account>/<id>/           a job's run directory (the trainer's own layout)
 *
 * Every change that touches several rows is one transaction, and files are written under a
 * temporary name and renamed into place before the row that names them is committed, so a
 * crash or a full disk never leaves a row pointing at half a file.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { validateFile, type RowIssue, type ValidationReport } from '../data/index.js';
import type { WireRollout } from './protocol.js';
import { JobsError, notFound } from './errors.js';

export const JOB_STATES = [
  'JOB_STATE_PENDING', 'JOB_STATE_VALIDATING', 'JOB_STATE_RUNNING', 'JOB_STATE_PAUSED',
  'JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EARLY_STOPPED',
] as const;
export type JobState = (typeof JOB_STATES)[number];
export const TERMINAL_STATES: readonly JobState[] = ['JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EARLY_STOPPED'];

/** Allowed state changes (PENDING → VALIDATING → RUNNING ⇄ PAUSED → terminal; FAILED can be resumed). */
const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  JOB_STATE_PENDING: ['JOB_STATE_VALIDATING', 'JOB_STATE_CANCELLED', 'JOB_STATE_FAILED', 'JOB_STATE_PAUSED'],
  JOB_STATE_VALIDATING: ['JOB_STATE_RUNNING', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_PENDING'],
  JOB_STATE_RUNNING: ['JOB_STATE_PAUSED', 'JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EARLY_STOPPED', 'JOB_STATE_PENDING'],
  JOB_STATE_PAUSED: ['JOB_STATE_PENDING', 'JOB_STATE_CANCELLED'],
  JOB_STATE_FAILED: ['JOB_STATE_PENDING'],
  JOB_STATE_COMPLETED: [],
  JOB_STATE_CANCELLED: [],
  JOB_STATE_EARLY_STOPPED: [],
};

export type JobKind = 'rft' | 'sft';
export const COLLECTION: Record<JobKind, string> = { rft: 'reinforcementFineTuningJobs', sft: 'supervisedFineTuningJobs' };

export interface DatasetRecord {
  name: string;
  account: string;
  id: string;
  displayName: string;
  format: 'RFT' | 'SFT';
  state: 'UPLOADING' | 'READY';
  sha256: string | null;
  exampleCount: number;
  sizeBytes: number;
  createTime: string;
  updateTime: string;
}

export interface EvaluatorRecord {
  name: string;
  account: string;
  id: string;
  version: number;
  displayName: string;
  /** the SPEC string given to loadEvaluator (a built-in name, inline JSON, or a module spec over the stored file) */
  spec: string;
  source: 'builtin' | 'spec' | 'module';
  createTime: string;
}

export interface JobRecord {
  name: string;
  account: string;
  id: string;
  kind: JobKind;
  state: JobState;
  /** the body as the client sent it (validated) */
  spec: Record<string, unknown>;
  /** the trainer options the spec maps to */
  options: Record<string, unknown>;
  /** the evaluator version pinned at creation, and other resolved inputs */
  resolved: Record<string, unknown>;
  displayName: string;
  statusMessage: string;
  runDir: string;
  step: number;
  totalSteps: number;
  /** set while a pause or cancel has been asked for and the child has not stopped yet */
  requested: 'pause' | 'cancel' | null;
  pid: number | null;
  attempts: number;
  createTime: string;
  updateTime: string;
}

/** A stored rollout: what the child sent for it (protocol.ts), with its step. */
export interface RolloutRecord extends WireRollout {
  step: number;
}

export interface ListOptions {
  pageSize?: number;
  pageToken?: string;
  filter?: string;
  orderBy?: string;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
  totalSize: number;
}

const now = () => new Date().toISOString();
const ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const ACCOUNT_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function checkId(id: string, param: string): void {
  if (!ID_RE.test(id)) throw new JobsError('invalid_argument', `${param} "${id}" must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit`, param);
}

/** A fresh id for a resource the client did not name. */
export function newId(): string {
  return randomBytes(6).toString('hex');
}

export interface StoreOptions {
  /** Largest dataset upload in bytes (default 256 MiB). */
  maxDatasetBytes?: number;
}

export class JobStore {
  readonly db: Database.Database;
  readonly maxDatasetBytes: number;

  constructor(readonly dataDir: string, opts: StoreOptions = {}) {
    this.maxDatasetBytes = opts.maxDatasetBytes ?? 256 * 1024 * 1024;
    try {
      for (const d of ['datasets', 'evaluators', 'jobs', 'tmp']) mkdirSync(join(dataDir, d), { recursive: true });
      this.db = new Database(join(dataDir, 'rft.db'));
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
    } catch (e) {
      throw new Error(`cannot open the data directory ${dataDir}: ${(e as Error).message}`);
    }
    this.migrate();
  }

  close(): void {
    this.db.close();
  }

  private migrate(): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, account TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, create_time TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS datasets (
        name TEXT PRIMARY KEY, account TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL, format TEXT NOT NULL,
        state TEXT NOT NULL, sha256 TEXT, example_count INTEGER NOT NULL DEFAULT 0, size_bytes INTEGER NOT NULL DEFAULT 0,
        create_time TEXT NOT NULL, update_time TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS evaluators (
        name TEXT NOT NULL, account TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, display_name TEXT NOT NULL,
        spec TEXT NOT NULL, source TEXT NOT NULL, create_time TEXT NOT NULL, PRIMARY KEY (name, version));
      CREATE TABLE IF NOT EXISTS jobs (
        name TEXT PRIMARY KEY, account TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL, display_name TEXT NOT NULL,
        spec TEXT NOT NULL, options TEXT NOT NULL, resolved TEXT NOT NULL, status_message TEXT NOT NULL DEFAULT '',
        run_dir TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 0, total_steps INTEGER NOT NULL DEFAULT 0, requested TEXT,
        pid INTEGER, attempts INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, create_time TEXT NOT NULL, update_time TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
      CREATE TABLE IF NOT EXISTS metrics (job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE, step INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (job, step));
      CREATE TABLE IF NOT EXISTS evals (job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE, step INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (job, step));
      CREATE TABLE IF NOT EXISTS rollouts (
        job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE, step INTEGER NOT NULL, idx INTEGER NOT NULL, grp INTEGER NOT NULL,
        score REAL, valid INTEGER NOT NULL, reason TEXT, prompt TEXT, messages TEXT, metrics TEXT, finish_reason TEXT, PRIMARY KEY (job, step, idx));
      CREATE INDEX IF NOT EXISTS rollouts_by_score ON rollouts (job, score);
      CREATE TABLE IF NOT EXISTS logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE, time TEXT NOT NULL, stream TEXT NOT NULL, line TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS logs_by_job ON logs (job, seq);
      CREATE TABLE IF NOT EXISTS deployments (
        name TEXT PRIMARY KEY, account TEXT NOT NULL, id TEXT NOT NULL, job TEXT NOT NULL, model TEXT NOT NULL, adapter_path TEXT NOT NULL, create_time TEXT NOT NULL);
    `);
  }

  // ---------- API keys ----------

  /** A new API key for an account; only its hash is stored, so the key is shown once. */
  createApiKey(account: string): { id: string; key: string; account: string } {
    if (!ACCOUNT_RE.test(account)) throw new JobsError('invalid_argument', `account "${account}" must be 1-63 lower-case letters, digits or hyphens`, 'account');
    const id = newId();
    const key = `rft_${randomBytes(24).toString('base64url')}`;
    this.db.prepare('INSERT INTO api_keys VALUES (?, ?, ?, ?, ?)').run(id, account, hashKey(key), key.slice(0, 8), now());
    return { id, key, account };
  }

  /** The account a key belongs to, or undefined. */
  accountOfKey(key: string): string | undefined {
    const r = this.db.prepare('SELECT account FROM api_keys WHERE hash = ?').get(hashKey(key)) as { account: string } | undefined;
    return r?.account;
  }

  hasApiKeys(): boolean {
    return this.db.prepare('SELECT 1 FROM api_keys LIMIT 1').get() !== undefined;
  }

  // ---------- datasets ----------

  createDataset(account: string, id: string, o: { displayName?: string; format?: 'RFT' | 'SFT' } = {}): DatasetRecord {
    checkId(id, 'datasetId');
    const name = `accounts/${account}/datasets/${id}`;
    const t = now();
    try {
      this.db.prepare('INSERT INTO datasets (name, account, id, display_name, format, state, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(name, account, id, o.displayName ?? id, o.format ?? 'RFT', 'UPLOADING', t, t);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new JobsError('already_exists', `dataset "${name}" already exists`, 'datasetId');
      throw e;
    }
    return this.getDataset(name);
  }

  getDataset(name: string): DatasetRecord {
    const r = this.db.prepare('SELECT * FROM datasets WHERE name = ?').get(name) as Record<string, any> | undefined;
    if (!r) throw notFound('dataset', name);
    return datasetOf(r);
  }

  datasetPath(d: DatasetRecord): string {
    if (d.state !== 'READY' || !d.sha256) throw new JobsError('failed_precondition', `dataset "${d.name}" has no uploaded contents yet (POST …/${d.id}:upload)`, 'dataset');
    return join(this.dataDir, 'datasets', `${d.sha256}.jsonl`);
  }

  /**
   * Streams an upload into the dataset: hashed and size-limited while written to a temporary
   * file, then validated row by row. A dataset with any problem is refused with all of them
   * (JobsError with `issues`, one per problem with its line) and nothing is kept.
   */
  async uploadDataset(name: string, body: Readable): Promise<{ dataset: DatasetRecord; report: ValidationReport }> {
    const d = this.getDataset(name);
    const tmp = join(this.dataDir, 'tmp', `upload-${newId()}.jsonl`);
    const hash = createHash('sha256');
    let size = 0;
    const limit = this.maxDatasetBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > limit) return cb(new JobsError('too_large', `the upload exceeds the dataset size limit of ${limit} bytes`, 'body'));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(tmp));
    } catch (e) {
      removeQuietly(tmp);
      body.resume();
      if (e instanceof JobsError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EACCES' || code === 'EROFS' || code === 'EDQUOT' || code === 'ENOTDIR' || code === 'ENOENT' || code === 'EISDIR')
        throw new JobsError('storage_error', `cannot store the upload in ${this.dataDir}: ${(e as Error).message}`);
      throw new JobsError('invalid_argument', `the upload was interrupted: ${(e as Error).message}`, 'body');
    }
    let report: ValidationReport;
    try {
      report = await validateFile(tmp, { kind: d.format === 'SFT' ? 'sft' : 'rft', duplicates: false });
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    if (!report.ok) {
      rmSync(tmp, { force: true });
      throw new JobsError('invalid_argument', `the dataset has ${report.issues.length} problem(s); nothing was stored`, 'body',
        report.issues.map((i: RowIssue) => ({ path: `line ${i.line}${i.path && !i.path.startsWith('(') ? ` ${i.path}` : ''}`, message: i.message })));
    }
    const sha = hash.digest('hex');
    const final = join(this.dataDir, 'datasets', `${sha}.jsonl`);
    if (existsSync(final)) rmSync(tmp, { force: true });
    else renameSync(tmp, final);
    const old = d.sha256;
    this.db.prepare("UPDATE datasets SET state = 'READY', sha256 = ?, example_count = ?, size_bytes = ?, update_time = ? WHERE name = ?").run(sha, report.rows, size, now(), name);
    if (old && old !== sha) this.dropUnreferencedFile(old);
    return { dataset: this.getDataset(name), report };
  }

  listDatasets(account: string, o: ListOptions = {}): Page<DatasetRecord> {
    return this.page('datasets', account, o, datasetOf, ['displayName', 'state', 'format']);
  }

  deleteDataset(name: string): void {
    const d = this.getDataset(name);
    const users = this.db.prepare("SELECT name FROM jobs WHERE (json_extract(resolved, '$.dataset') = ? OR json_extract(resolved, '$.evaluationDataset') = ?) AND state NOT IN ('JOB_STATE_COMPLETED','JOB_STATE_FAILED','JOB_STATE_CANCELLED','JOB_STATE_EARLY_STOPPED')").all(name, name) as { name: string }[];
    if (users.length) throw new JobsError('failed_precondition', `dataset "${name}" is used by unfinished job(s) ${users.map((u) => u.name).join(', ')}`, 'name');
    this.db.prepare('DELETE FROM datasets WHERE name = ?').run(name);
    if (d.sha256) this.dropUnreferencedFile(d.sha256);
  }

  private dropUnreferencedFile(sha: string): void {
    const n = (this.db.prepare('SELECT COUNT(*) AS n FROM datasets WHERE sha256 = ?').get(sha) as { n: number }).n;
    if (n === 0) rmSync(join(this.dataDir, 'datasets', `${sha}.jsonl`), { force: true });
  }

  // ---------- evaluators ----------

  /**
   * Adds a version of an evaluator (version 1 creates it). `spec` is a SPEC string; a module's
   * source is written to DATA/evaluators/ACCOUNT/ID/vN.EXT and the spec points at it.
   */
  addEvaluatorVersion(account: string, id: string, o: { displayName?: string; spec?: string; source?: 'builtin' | 'spec'; module?: { code: string; extension: '.js' | '.mjs' | '.ts' | '.mts' } }, create: boolean): EvaluatorRecord {
    checkId(id, 'evaluatorId');
    const name = `accounts/${account}/evaluators/${id}`;
    return this.db.transaction(() => {
      const last = this.db.prepare('SELECT MAX(version) AS v FROM evaluators WHERE name = ?').get(name) as { v: number | null };
      if (create && last.v !== null) throw new JobsError('already_exists', `evaluator "${name}" already exists (add a version with POST …/evaluators/${id}:addVersion)`, 'evaluatorId');
      if (!create && last.v === null) throw notFound('evaluator', name);
      const version = (last.v ?? 0) + 1;
      let spec = o.spec;
      let source = o.source ?? 'spec';
      if (o.module) {
        const dir = join(this.dataDir, 'evaluators', account, id);
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `v${version}${o.module.extension}`);
        writeFileSync(`${file}.tmp`, o.module.code);
        renameSync(`${file}.tmp`, file);
        spec = JSON.stringify({ type: 'module', path: file });
        source = 'module' as never;
      }
      if (!spec) throw new JobsError('invalid_argument', 'an evaluator needs a spec or a module', 'evaluator');
      this.db.prepare('INSERT INTO evaluators VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(name, account, id, version, o.displayName ?? id, spec, o.module ? 'module' : source, now());
      return this.getEvaluator(name, version);
    })();
  }

  /** The latest version, or the one asked for (`name@N` or `version`). */
  getEvaluator(name: string, version?: number): EvaluatorRecord {
    const m = /^(.*)@(\d+)$/.exec(name);
    if (m) [name, version] = [m[1]!, Number(m[2])];
    const r = (version === undefined
      ? this.db.prepare('SELECT * FROM evaluators WHERE name = ? ORDER BY version DESC LIMIT 1').get(name)
      : this.db.prepare('SELECT * FROM evaluators WHERE name = ? AND version = ?').get(name, version)) as Record<string, any> | undefined;
    if (!r) throw notFound('evaluator', version === undefined ? name : `${name}@${version}`);
    return evaluatorOf(r);
  }

  listEvaluators(account: string, o: ListOptions = {}): Page<EvaluatorRecord> {
    // the latest version of each
    return this.page('evaluators', account, o, evaluatorOf, ['displayName', 'source'], 'version = (SELECT MAX(version) FROM evaluators e2 WHERE e2.name = evaluators.name)');
  }

  evaluatorVersions(name: string): EvaluatorRecord[] {
    const rows = this.db.prepare('SELECT * FROM evaluators WHERE name = ? ORDER BY version').all(name) as Record<string, any>[];
    if (!rows.length) throw notFound('evaluator', name);
    return rows.map(evaluatorOf);
  }

  /** Removes one version (an upload whose module failed to load). */
  dropEvaluatorVersion(name: string, version: number): void {
    this.db.prepare('DELETE FROM evaluators WHERE name = ? AND version = ?').run(name, version);
  }

  deleteEvaluator(name: string): void {
    const r = this.db.prepare('DELETE FROM evaluators WHERE name = ?').run(name);
    if (r.changes === 0) throw notFound('evaluator', name);
  }

  // ---------- jobs ----------

  createJob(j: { account: string; id: string; kind: JobKind; spec: Record<string, unknown>; options: Record<string, unknown>; resolved: Record<string, unknown> }): JobRecord {
    checkId(j.id, j.kind === 'rft' ? 'reinforcementFineTuningJobId' : 'supervisedFineTuningJobId');
    const name = `accounts/${j.account}/${COLLECTION[j.kind]}/${j.id}`;
    const runDir = join(this.dataDir, 'jobs', j.account, j.id);
    const t = now();
    this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM jobs WHERE name = ?').get(name)) throw new JobsError('already_exists', `job "${name}" already exists`, 'id');
      const seq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM jobs').get() as { s: number }).s;
      this.db.prepare('INSERT INTO jobs (name, account, id, kind, state, display_name, spec, options, resolved, run_dir, seq, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(name, j.account, j.id, j.kind, 'JOB_STATE_PENDING', String(j.spec.displayName ?? j.id), JSON.stringify(j.spec), JSON.stringify(j.options), JSON.stringify(j.resolved), runDir, seq, t, t);
    })();
    return this.getJob(name);
  }

  getJob(name: string): JobRecord {
    const r = this.db.prepare('SELECT * FROM jobs WHERE name = ?').get(name) as Record<string, any> | undefined;
    if (!r) throw notFound('job', name);
    return jobOf(r);
  }

  listJobs(account: string, kind: JobKind, o: ListOptions = {}): Page<JobRecord> {
    return this.page('jobs', account, o, jobOf, ['state', 'displayName'], `kind = '${kind}'`);
  }

  /** Jobs in a state, oldest first (the runner's queue). */
  jobsInState(...states: JobState[]): JobRecord[] {
    const rows = this.db.prepare(`SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY seq`).all(...states) as Record<string, any>[];
    return rows.map(jobOf);
  }

  /**
   * Moves a job to `to` if the state machine allows it from its current state (and, if given,
   * only from one of `from`); applies `patch` in the same transaction. Returns the new record.
   */
  transition(name: string, to: JobState, patch: Partial<Pick<JobRecord, 'statusMessage' | 'step' | 'totalSteps' | 'requested' | 'pid' | 'attempts'>> = {}, from?: readonly JobState[]): JobRecord {
    return this.db.transaction(() => {
      const j = this.getJob(name);
      if ((from && !from.includes(j.state)) || (j.state !== to && !TRANSITIONS[j.state].includes(to)))
        throw new JobsError('failed_precondition', `job "${name}" is ${j.state}; it cannot become ${to}`, 'name');
      this.updateJob(name, { ...patch, state: to });
      return this.getJob(name);
    })();
  }

  updateJob(name: string, patch: Partial<Pick<JobRecord, 'state' | 'statusMessage' | 'step' | 'totalSteps' | 'requested' | 'pid' | 'attempts'>>): void {
    const cols: Record<string, string> = { state: 'state', statusMessage: 'status_message', step: 'step', totalSteps: 'total_steps', requested: 'requested', pid: 'pid', attempts: 'attempts' };
    const sets: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      sets.push(`${cols[k]} = ?`);
      vals.push(v);
    }
    if (!sets.length) return;
    this.db.prepare(`UPDATE jobs SET ${sets.join(', ')}, update_time = ? WHERE name = ?`).run(...vals, now(), name);
  }

  /** Deletes a finished (or never started) job with its metrics, rollouts, logs and run directory. */
  deleteJob(name: string): void {
    const j = this.getJob(name);
    if (!TERMINAL_STATES.includes(j.state) && j.state !== 'JOB_STATE_PENDING' && j.state !== 'JOB_STATE_PAUSED')
      throw new JobsError('failed_precondition', `job "${name}" is ${j.state}; cancel it before deleting it`, 'name');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM deployments WHERE job = ?').run(name);
      this.db.prepare('DELETE FROM jobs WHERE name = ?').run(name);
    })();
    rmSync(j.runDir, { recursive: true, force: true });
  }

  // ---------- metrics, evaluations, rollouts, logs ----------

  /** Records one step: its metrics and rollouts together (one transaction), replacing a previous attempt's. */
  recordStep(job: string, step: number, metrics: Record<string, unknown>, rollouts: Omit<RolloutRecord, 'step'>[] = []): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO metrics VALUES (?, ?, ?)').run(job, step, JSON.stringify(metrics));
      this.db.prepare('DELETE FROM rollouts WHERE job = ? AND step = ?').run(job, step);
      const ins = this.db.prepare('INSERT INTO rollouts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      for (const r of rollouts)
        ins.run(job, step, r.index, r.group, r.score, r.valid ? 1 : 0, r.reason, JSON.stringify(r.prompt), JSON.stringify(r.messages), JSON.stringify(r.metrics ?? null), r.finishReason);
      this.db.prepare('UPDATE jobs SET step = MAX(step, ?), update_time = ? WHERE name = ?').run(step, now(), job);
    })();
  }

  recordEval(job: string, step: number, data: Record<string, unknown>): void {
    this.db.prepare('INSERT OR REPLACE INTO evals VALUES (?, ?, ?)').run(job, step, JSON.stringify(data));
  }

  /** Forgets steps after `step` (a job resuming from the checkpoint at `step` will log them again). */
  truncateAfter(job: string, step: number): void {
    this.db.transaction(() => {
      for (const t of ['metrics', 'evals', 'rollouts']) this.db.prepare(`DELETE FROM ${t} WHERE job = ? AND step > ?`).run(job, step);
      this.db.prepare('UPDATE jobs SET step = ? WHERE name = ?').run(step, job);
    })();
  }

  metrics(job: string, o: { afterStep?: number; limit?: number } = {}): { step: number; metrics: Record<string, unknown> }[] {
    const rows = this.db.prepare('SELECT step, data FROM metrics WHERE job = ? AND step > ? ORDER BY step LIMIT ?').all(job, o.afterStep ?? 0, o.limit ?? 1000) as { step: number; data: string }[];
    return rows.map((r) => ({ step: r.step, metrics: JSON.parse(r.data) }));
  }

  evals(job: string): { step: number; evaluation: Record<string, unknown> }[] {
    const rows = this.db.prepare('SELECT step, data FROM evals WHERE job = ? ORDER BY step').all(job) as { step: number; data: string }[];
    return rows.map((r) => ({ step: r.step, evaluation: JSON.parse(r.data) }));
  }

  rollouts(job: string, o: { step?: number; minScore?: number; maxScore?: number; valid?: boolean; orderBy?: 'score' | 'score desc' | 'step'; limit?: number; offset?: number } = {}): Page<RolloutRecord> {
    const where = ['job = ?'];
    const args: unknown[] = [job];
    if (o.step !== undefined) (where.push('step = ?'), args.push(o.step));
    if (o.minScore !== undefined) (where.push('score >= ?'), args.push(o.minScore));
    if (o.maxScore !== undefined) (where.push('score <= ?'), args.push(o.maxScore));
    if (o.valid !== undefined) (where.push('valid = ?'), args.push(o.valid ? 1 : 0));
    const order = o.orderBy === 'score' ? 'score ASC, step, idx' : o.orderBy === 'score desc' ? 'score DESC, step, idx' : 'step, idx';
    const limit = Math.min(o.limit ?? 50, 1000);
    const offset = o.offset ?? 0;
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM rollouts WHERE ${where.join(' AND ')}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM rollouts WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...args, limit, offset) as Record<string, any>[];
    return {
      items: rows.map((r) => ({
        step: r.step, index: r.idx, group: r.grp, score: r.score, valid: r.valid === 1, reason: r.reason, prompt: JSON.parse(r.prompt), messages: JSON.parse(r.messages),
        metrics: JSON.parse(r.metrics), finishReason: r.finish_reason,
      })),
      nextPageToken: offset + rows.length < total ? encodeToken(offset + rows.length) : '',
      totalSize: total,
    };
  }

  appendLog(job: string, stream: 'stdout' | 'stderr' | 'system', text: string): void {
    const lines = text.split('\n').filter((l) => l.length > 0);
    if (!lines.length) return;
    const ins = this.db.prepare('INSERT INTO logs (job, time, stream, line) VALUES (?, ?, ?, ?)');
    const t = now();
    this.db.transaction(() => {
      for (const l of lines) ins.run(job, t, stream, l.slice(0, 10_000));
    })();
  }

  logs(job: string, o: { afterSeq?: number; limit?: number } = {}): { seq: number; time: string; stream: string; line: string }[] {
    return this.db.prepare('SELECT seq, time, stream, line FROM logs WHERE job = ? AND seq > ? ORDER BY seq LIMIT ?').all(job, o.afterSeq ?? 0, o.limit ?? 1000) as never;
  }

  // ---------- deployments ----------

  addDeployment(account: string, id: string, job: string, model: string, adapterPath: string): { name: string; job: string; model: string; adapterPath: string; createTime: string } {
    checkId(id, 'deploymentId');
    const name = `accounts/${account}/deployments/${id}`;
    try {
      this.db.prepare('INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?, ?)').run(name, account, id, job, model, adapterPath, now());
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new JobsError('already_exists', `deployment "${name}" already exists`, 'deploymentId');
      throw e;
    }
    return this.getDeployment(name);
  }

  getDeployment(name: string): { name: string; job: string; model: string; adapterPath: string; createTime: string } {
    const r = this.db.prepare('SELECT * FROM deployments WHERE name = ?').get(name) as Record<string, any> | undefined;
    if (!r) throw notFound('deployment', name);
    return { name: r.name, job: r.job, model: r.model, adapterPath: r.adapter_path, createTime: r.create_time };
  }

  deployments(account?: string): { name: string; job: string; model: string; adapterPath: string; createTime: string }[] {
    const rows = (account ? this.db.prepare('SELECT * FROM deployments WHERE account = ? ORDER BY create_time').all(account) : this.db.prepare('SELECT * FROM deployments ORDER BY create_time').all()) as Record<string, any>[];
    return rows.map((r) => ({ name: r.name, job: r.job, model: r.model, adapterPath: r.adapter_path, createTime: r.create_time }));
  }

  deleteDeployment(name: string): void {
    if (this.db.prepare('DELETE FROM deployments WHERE name = ?').run(name).changes === 0) throw notFound('deployment', name);
  }

  // ---------- paging ----------

  private page<T>(table: string, account: string, o: ListOptions, map: (r: Record<string, any>) => T, filterable: string[], extraWhere?: string): Page<T> {
    const size = o.pageSize ?? 50;
    if (!Number.isInteger(size) || size < 1 || size > 1000) throw new JobsError('invalid_argument', `pageSize must be an integer in [1, 1000], got ${o.pageSize}`, 'pageSize');
    const offset = o.pageToken ? decodeToken(o.pageToken) : 0;
    const where = ['account = ?'];
    const args: unknown[] = [account];
    if (extraWhere) where.push(extraWhere);
    const cols: Record<string, string> = { state: 'state', displayName: 'display_name', format: 'format', source: 'source', name: 'name', createTime: 'create_time', updateTime: 'update_time' };
    if (o.filter) {
      // AIP-160 subset: `field = "value"` terms joined by AND
      for (const term of o.filter.split(/\s+AND\s+/i)) {
        const m = /^\s*([A-Za-z]+)\s*(=|!=)\s*"?([^"]*)"?\s*$/.exec(term);
        if (!m || !filterable.includes(m[1]!)) throw new JobsError('invalid_argument', `filter: cannot parse "${term}"; use FIELD = "VALUE" with FIELD one of ${filterable.join(', ')}, joined by AND`, 'filter');
        where.push(`${cols[m[1]!]} ${m[2]} ?`);
        args.push(m[3]);
      }
    }
    let order = table === 'jobs' ? 'seq DESC' : 'create_time DESC, name';
    if (o.orderBy) {
      const m = /^\s*(name|createTime|updateTime|displayName|state)(\s+(asc|desc))?\s*$/i.exec(o.orderBy);
      if (!m) throw new JobsError('invalid_argument', `orderBy: cannot parse "${o.orderBy}"; use FIELD [asc|desc] with FIELD one of name, createTime, updateTime, displayName, state`, 'orderBy');
      if (!cols[m[1]!] || (m[1] === 'state' && table !== 'jobs')) throw new JobsError('invalid_argument', `orderBy: ${m[1]} is not a field of ${table}`, 'orderBy');
      order = `${cols[m[1]!]} ${(m[3] ?? 'asc').toUpperCase()}, name`;
    }
    const w = where.join(' AND ');
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${w}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM ${table} WHERE ${w} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...args, size, offset) as Record<string, any>[];
    return { items: rows.map(map), nextPageToken: offset + rows.length < total ? encodeToken(offset + rows.length) : '', totalSize: total };
  }
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeToken(token: string): number {
  try {
    const o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).o;
    if (Number.isInteger(o) && o >= 0) return o;
  } catch {
    // fall through
  }
  throw new JobsError('invalid_argument', 'pageToken is not one this server issued', 'pageToken');
}

function datasetOf(r: Record<string, any>): DatasetRecord {
  return {
    name: r.name, account: r.account, id: r.id, displayName: r.display_name, format: r.format, state: r.state, sha256: r.sha256,
    exampleCount: r.example_count, sizeBytes: r.size_bytes, createTime: r.create_time, updateTime: r.update_time,
  };
}

function evaluatorOf(r: Record<string, any>): EvaluatorRecord {
  return { name: r.name, account: r.account, id: r.id, version: r.version, displayName: r.display_name, spec: r.spec, source: r.source, createTime: r.create_time };
}

function jobOf(r: Record<string, any>): JobRecord {
  return {
    name: r.name, account: r.account, id: r.id, kind: r.kind, state: r.state, displayName: r.display_name, spec: JSON.parse(r.spec), options: JSON.parse(r.options), resolved: JSON.parse(r.resolved),
    statusMessage: r.status_message, runDir: r.run_dir, step: r.step, totalSteps: r.total_steps, requested: r.requested, pid: r.pid, attempts: r.attempts,
    createTime: r.create_time, updateTime: r.update_time,
  };
}

/** Removes a temporary file; a data directory broken enough to refuse even that is reported by the caller's error. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing more to do
  }
}

/** Size in bytes of a file, or 0. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
