/**
 * Clients of `rft server`: `rft jobs create -f job.json | list | get | logs [-f] | watch | cancel | pause |
 * resume | deploy`, `rft datasets upload FILE | list | get | delete`, `rft evaluators create | list | get`.
 * Every command takes `--server URL` (or $RFT_SERVER) and `--account NAME` (or $RFT_ACCOUNT,
 * default "default"), sends $RFT_API_KEY when set, and with `--json` prints the resource exactly as
 * the API returns it.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { ApiClient } from '../client.js';
import { CliError } from '../errors.js';
import { Progress } from '../progress.js';

type Opts = { server?: string; account?: string; json?: boolean };

function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'the rft server (default: $RFT_SERVER or http://127.0.0.1:8000)')
    .option('--account <name>', 'account (default: $RFT_ACCOUNT or "default")')
    .option('--json', 'print the API response as JSON');
}

const client = (o: Opts) => new ApiClient(o);

function collectionOf(ref: string, sft?: boolean): string {
  if (ref.startsWith('accounts/')) return ref.split('/')[2]!;
  return sft ? 'supervisedFineTuningJobs' : 'reinforcementFineTuningJobs';
}

function jobName(c: ApiClient, ref: string, sft?: boolean): string {
  return c.name(collectionOf(ref, sft), ref);
}

function print(o: Opts, value: unknown, human: () => void): void {
  if (o.json) console.log(JSON.stringify(value, null, 2));
  else human();
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function describeJob(j: Record<string, any>): void {
  const p = j.jobProgress ?? {};
  console.log(`${j.name}  ${j.state}  step ${p.step ?? 0}/${p.totalSteps || '?'}`);
  if (j.status?.message) console.log(`  ${j.status.message}`);
  if (j.output) console.log(`  output: ${j.output.checkpoint} (${j.output.kind})`);
}

export function register(program: Command): void {
  const jobs = program.command('jobs').description('fine-tuning jobs on an rft server');

  withClientOptions(jobs.command('create').description('create a job from a JSON spec (Fireworks field names)'))
    .requiredOption('-f, --file <job.json>', 'the job spec')
    .option('--id <id>', 'job id (default: generated)')
    .option('--sft', 'a supervised fine-tuning job (default: reinforcement fine-tuning)')
    .option('--watch', 'follow the job until it stops')
    .action(async (o: Opts & { file: string; id?: string; sft?: boolean; watch?: boolean }) => {
      let body: unknown;
      try {
        body = JSON.parse(readFileSync(o.file, 'utf8'));
      } catch (e) {
        throw new CliError(`${o.file}: ${(e as Error).message}`);
      }
      const c = client(o);
      const coll = o.sft ? 'supervisedFineTuningJobs' : 'reinforcementFineTuningJobs';
      const idParam = o.id ? `?${o.sft ? 'supervisedFineTuningJobId' : 'reinforcementFineTuningJobId'}=${encodeURIComponent(o.id)}` : '';
      const j = await c.json('POST', `/v1/accounts/${c.account}/${coll}${idParam}`, body);
      print(o, j, () => describeJob(j));
      if (o.watch) await watch(c, j.name, o.json === true);
    });

  withClientOptions(jobs.command('list').description('list jobs'))
    .option('--sft', 'supervised fine-tuning jobs')
    .option('--state <state>', 'only jobs in this state (e.g. JOB_STATE_RUNNING)')
    .option('--page-size <n>', 'jobs per page', '50')
    .option('--page-token <token>', 'the page after a previous listing')
    .action(async (o: Opts & { sft?: boolean; state?: string; pageSize: string; pageToken?: string }) => {
      const c = client(o);
      const coll = o.sft ? 'supervisedFineTuningJobs' : 'reinforcementFineTuningJobs';
      const q = new URLSearchParams({ pageSize: o.pageSize });
      if (o.state) q.set('filter', `state = "${o.state}"`);
      if (o.pageToken) q.set('pageToken', o.pageToken);
      const r = await c.json('GET', `/v1/accounts/${c.account}/${coll}?${q}`);
      print(o, r, () => {
        const list = r[coll] as Record<string, any>[];
        if (!list.length) return console.log('(no jobs)');
        console.log(table([['NAME', 'STATE', 'PROGRESS', 'CREATED'], ...list.map((j) => [j.name, j.state, `${j.jobProgress.step}/${j.jobProgress.totalSteps || '?'}`, j.createTime])]));
        if (r.nextPageToken) console.log(`(more: --page-token ${r.nextPageToken})`);
      });
    });

  withClientOptions(jobs.command('get').description('show a job').argument('<id>', 'job id or name'))
    .option('--sft', 'a supervised fine-tuning job')
    .action(async (id: string, o: Opts & { sft?: boolean }) => {
      const c = client(o);
      const j = await c.json('GET', `/v1/${jobName(c, id, o.sft)}`);
      print(o, j, () => describeJob(j));
    });

  for (const verb of ['cancel', 'pause', 'resume'] as const) {
    withClientOptions(jobs.command(verb).description(`${verb} a job`).argument('<id>', 'job id or name'))
      .option('--sft', 'a supervised fine-tuning job')
      .action(async (id: string, o: Opts & { sft?: boolean }) => {
        const c = client(o);
        const j = await c.json('POST', `/v1/${jobName(c, id, o.sft)}:${verb}`, {});
        print(o, j, () => describeJob(j));
      });
  }

  withClientOptions(jobs.command('logs').description("print a job's logs").argument('<id>', 'job id or name'))
    .option('--sft', 'a supervised fine-tuning job')
    .option('-f, --follow', 'keep printing new lines until the job stops')
    .action(async (id: string, o: Opts & { sft?: boolean; follow?: boolean }) => {
      const c = client(o);
      const name = jobName(c, id, o.sft);
      const line = (l: { time: string; stream: string; line: string }) => (o.json ? JSON.stringify(l) : `${l.time} ${l.stream === 'system' ? '[rft] ' : ''}${l.line}`);
      if (!o.follow) {
        let token = '';
        do {
          const r = await c.json('GET', `/v1/${name}/logs?pageSize=1000${token ? `&pageToken=${token}` : ''}`);
          for (const l of r.logs) console.log(line(l));
          token = r.nextPageToken;
        } while (token);
        return;
      }
      await c.events(`/v1/${name}/logs?follow=true`, (event, data) => {
        if (event === 'log') console.log(line(data));
        if (event === 'end') return 'stop';
      });
    });

  withClientOptions(jobs.command('watch').description("follow a job's training steps with a progress bar until it stops").argument('<id>', 'job id or name'))
    .option('--sft', 'a supervised fine-tuning job')
    .action(async (id: string, o: Opts & { sft?: boolean }) => {
      const c = client(o);
      await watch(c, jobName(c, id, o.sft), o.json === true);
    });

  withClientOptions(jobs.command('deploy').description("serve a completed job's output through the OpenAI API (/v1/chat/completions)").argument('<id>', 'job id or name'))
    .option('--sft', 'a supervised fine-tuning job')
    .option('--deployment-id <id>', 'deployment id (default: the job id)')
    .action(async (id: string, o: Opts & { sft?: boolean; deploymentId?: string }) => {
      const c = client(o);
      const d = await c.json('POST', `/v1/accounts/${c.account}/deployments`, { job: jobName(c, id, o.sft), ...(o.deploymentId ? { deploymentId: o.deploymentId } : {}) });
      print(o, d, () => console.log(`${d.name}: model "${d.model}" at ${c.base}/v1 (chat/completions)`));
    });

  withClientOptions(jobs.command('undeploy').description('stop serving a deployment').argument('<id>', 'deployment id or name'))
    .action(async (id: string, o: Opts) => {
      const c = client(o);
      const r = await c.json('DELETE', `/v1/${c.name('deployments', id)}`);
      print(o, r, () => console.log(`undeployed ${c.name('deployments', id)}`));
    });

  const datasets = program.command('datasets').description('datasets on an rft server');
  withClientOptions(datasets.command('upload').description('create a dataset and upload a JSONL file (validated by the server)').argument('<file>', 'JSONL file'))
    .option('--id <id>', 'dataset id (default: generated)')
    .option('--format <format>', 'RFT (prompt rows) or SFT (rows ending with the answer)', 'RFT')
    .option('--display-name <name>', 'display name')
    .action(async (file: string, o: Opts & { id?: string; format: string; displayName?: string }) => {
      if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`${file}: no such file`);
      if (o.format !== 'RFT' && o.format !== 'SFT') throw new CliError(`--format must be RFT or SFT, got "${o.format}"`);
      const c = client(o);
      const d = await c.json('POST', `/v1/accounts/${c.account}/datasets`, { ...(o.id ? { datasetId: o.id } : {}), dataset: { format: o.format, displayName: o.displayName } });
      let r: Record<string, any>;
      try {
        const res = await c.request('POST', `/v1/${d.name}:upload`, undefined, { body: Readable.toWeb(createReadStream(file)) as never, type: 'application/jsonl', duplex: true });
        r = (await res.json()) as Record<string, any>;
      } catch (e) {
        // nothing was stored but the empty dataset: remove it so the id can be reused
        await c.request('DELETE', `/v1/${d.name}`).catch(() => undefined);
        throw e;
      }
      print(o, r.dataset, () => console.log(`${r.dataset.name}: ${r.dataset.exampleCount} rows, ${r.dataset.sizeBytes} bytes, ${r.dataset.state}`));
    });
  withClientOptions(datasets.command('list').description('list datasets')).action(async (o: Opts) => {
    const c = client(o);
    const r = await c.json('GET', `/v1/accounts/${c.account}/datasets?pageSize=1000`);
    print(o, r, () => console.log(r.datasets.length ? table([['NAME', 'FORMAT', 'ROWS', 'STATE', 'CREATED'], ...r.datasets.map((d: any) => [d.name, d.format, String(d.exampleCount), d.state, d.createTime])]) : '(no datasets)'));
  });
  withClientOptions(datasets.command('get').description('show a dataset').argument('<id>', 'dataset id or name')).action(async (id: string, o: Opts) => {
    const c = client(o);
    const d = await c.json('GET', `/v1/${c.name('datasets', id)}`);
    print(o, d, () => console.log(`${d.name}: ${d.exampleCount} rows, ${d.sizeBytes} bytes, ${d.format}, ${d.state}`));
  });
  withClientOptions(datasets.command('delete').description('delete a dataset').argument('<id>', 'dataset id or name')).action(async (id: string, o: Opts) => {
    const c = client(o);
    const r = await c.json('DELETE', `/v1/${c.name('datasets', id)}`);
    print(o, r, () => console.log(`deleted ${c.name('datasets', id)}`));
  });

  const evaluators = program.command('evaluators').description('evaluators on an rft server');
  withClientOptions(evaluators.command('create').description('create an evaluator (or a new version with --add-version)').argument('<id>', 'evaluator id'))
    .option('--spec <spec>', 'a built-in name, or a JSON spec (inline or a .json file)')
    .option('--module <file>', 'a .js or .ts evaluator module (uploaded)')
    .option('--display-name <name>', 'display name')
    .option('--add-version', 'add a version to an existing evaluator')
    .action(async (id: string, o: Opts & { spec?: string; module?: string; displayName?: string; addVersion?: boolean }) => {
      if (!o.spec === !o.module) throw new CliError('give exactly one of --spec or --module');
      let evaluator: Record<string, unknown> = { displayName: o.displayName };
      if (o.module) {
        const ext = extname(o.module).toLowerCase();
        if (!['.js', '.mjs', '.ts', '.mts'].includes(ext)) throw new CliError(`--module ${o.module}: expected a .js or .ts file`);
        evaluator.module = { code: readFileSync(o.module, 'utf8'), language: ext.includes('t') && ext !== '.mjs' ? 'ts' : 'js' };
      } else {
        let spec: unknown = o.spec!;
        const s = o.spec!.trim();
        try {
          if (s.startsWith('{')) spec = JSON.parse(s);
          else if (s.endsWith('.json')) spec = JSON.parse(readFileSync(s, 'utf8'));
        } catch (e) {
          throw new CliError(`--spec: ${(e as Error).message}`);
        }
        evaluator = { ...evaluator, spec };
      }
      const c = client(o);
      const r = o.addVersion
        ? await c.json('POST', `/v1/${c.name('evaluators', id)}:addVersion`, { evaluator })
        : await c.json('POST', `/v1/accounts/${c.account}/evaluators`, { evaluatorId: id, evaluator });
      print(o, r, () => console.log(`${r.name} version ${r.version} (${r.source})`));
    });
  withClientOptions(evaluators.command('list').description('list evaluators')).action(async (o: Opts) => {
    const c = client(o);
    const r = await c.json('GET', `/v1/accounts/${c.account}/evaluators?pageSize=1000`);
    print(o, r, () => console.log(r.evaluators.length ? table([['NAME', 'VERSION', 'SOURCE', 'CREATED'], ...r.evaluators.map((e: any) => [e.name, String(e.version), e.source, e.createTime])]) : '(no evaluators)'));
  });
  withClientOptions(evaluators.command('get').description('show an evaluator').argument('<id>', 'evaluator id or name')).action(async (id: string, o: Opts) => {
    const c = client(o);
    const r = await c.json('GET', `/v1/${c.name('evaluators', id)}`);
    print(o, r, () => console.log(`${r.name} version ${r.version} (${r.source}): ${JSON.stringify(r.spec)}`));
  });
}

/** Follows the metrics stream with a progress bar (stderr) until the job stops; prints the final state. */
async function watch(c: ApiClient, name: string, json: boolean): Promise<void> {
  const progress = new Progress(name.split('/').pop()!);
  let total = 0;
  let last: Record<string, any> | undefined;
  await c.events(`/v1/${name}/metrics:stream`, (event, data) => {
    if (event === 'state') {
      last = data;
      total = data.jobProgress?.totalSteps || total;
    } else if (event === 'progress') {
      total = data.totalSteps || total;
    } else if (event === 'metrics') {
      if (json) console.log(JSON.stringify(data));
      progress.update(data.step, total || data.step, { reward: data.reward_mean, loss: data.loss, kl: data.kl });
    } else if (event === 'end') return 'stop';
  });
  progress.done();
  if (!json && last) describeJob(await c.json('GET', `/v1/${name}`));
}
