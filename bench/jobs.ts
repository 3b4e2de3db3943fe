/**
 * `npm run bench -- jobs [--clients 50] [--sse 10] [--interval-ms 200] [--steps 12] [--preset tiny] [--json]`
 *
 * `rft server` (a child process, on loopback) trains the same job twice: once with nobody
 * asking, once under `--clients` concurrent API clients — `--sse` of them follow the metrics
 * stream, the others loop over list / get / metrics page / rollouts with `--interval-ms` between
 * requests. Reports the job's training throughput (steps/s and sampled tokens/s from the
 * trainer's own step timings) idle vs loaded, the clients' requests/s, latency p50/p99 and
 * errors. Figures only; it stops when the loaded job ends.
 */
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, initModel, PRESETS, type InitSpec } from '../src/model/init.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export interface LoadReport {
  clients: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  sseEvents: number;
  /** the fewest distinct steps any one SSE client saw */
  sseMinSteps: number;
  requests_per_s: number;
  latency_ms_p50: number;
  latency_ms_p99: number;
}

async function get(url: string, path: string): Promise<void> {
  const res = await fetch(url + path);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  JSON.parse(text);
}

/** Follows the job's metrics stream until `end`; returns the events seen and the steps among them. */
async function follow(url: string, job: string): Promise<{ events: number; steps: number }> {
  const res = await fetch(`${url}/v1/${job}/metrics:stream`);
  if (res.status !== 200) throw new Error(`SSE: HTTP ${res.status}`);
  const dec = new TextDecoder();
  let buf = '';
  let n = 0;
  const steps = new Set<number>();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!block.startsWith('event: ')) continue;
      n++;
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
      if (block.startsWith('event: metrics')) steps.add(data.step);
      if (block.startsWith('event: end')) return { events: n, steps: steps.size };
    }
  }
  throw new Error('SSE: the stream ended without an end event');
}

/**
 * `clients` concurrent clients against a running job until `done()` is true: `sse` of them follow
 * its metrics stream, the rest poll list / get / metrics / rollouts every `intervalMs`.
 */
export async function loadClients(url: string, account: string, job: string, o: { clients: number; sse: number; intervalMs: number; done: () => boolean }): Promise<LoadReport> {
  const latencies: number[] = [];
  const errors: string[] = [];
  let requests = 0;
  let sseEvents = 0;
  let sseMinSteps = Infinity;
  const t0 = performance.now();
  const paths = [`/v1/accounts/${account}/reinforcementFineTuningJobs?pageSize=10`, `/v1/${job}`, `/v1/${job}/metrics?pageSize=100`, `/v1/${job}/rollouts?pageSize=20&orderBy=score%20desc`];
  const poller = async (k: number) => {
    let i = k;
    while (!o.done()) {
      const t = performance.now();
      try {
        await get(url, paths[i++ % paths.length]!);
        latencies.push(performance.now() - t);
      } catch (e) {
        errors.push((e as Error).message);
      }
      requests++;
      await new Promise((r) => setTimeout(r, o.intervalMs));
    }
  };
  const watcher = async () => {
    try {
      const f = await follow(url, job);
      sseEvents += f.events;
      sseMinSteps = Math.min(sseMinSteps, f.steps);
    } catch (e) {
      errors.push((e as Error).message);
    }
    requests++;
  };
  await Promise.all(Array.from({ length: o.clients }, (_, k) => (k < o.sse ? watcher() : poller(k))));
  const seconds = (performance.now() - t0) / 1000;
  return {
    clients: o.clients, requests, errors: errors.length, errorSamples: errors.slice(0, 5), sseEvents, sseMinSteps: o.sse ? sseMinSteps : 0, requests_per_s: requests / seconds,
    latency_ms_p50: pct(latencies, 50), latency_ms_p99: pct(latencies, 99),
  };
}

export async function startServer(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'server', '--port', '0', '--data', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`rft server exited with ${code}: ${err}`)));
  });
  return { url, child };
}

async function post(url: string, path: string, body: unknown, raw = false): Promise<any> {
  const res = await fetch(url + path, { method: 'POST', body: raw ? (body as string) : JSON.stringify(body) });
  const j = await res.json();
  if (res.status !== 200) throw new Error(`POST ${path}: ${JSON.stringify(j)}`);
  return j;
}

/** Training throughput of a finished job from its own step timings. */
async function throughput(url: string, job: string): Promise<{ steps_per_s: number; sample_tokens_per_s: number }> {
  const r = await (await fetch(`${url}/v1/${job}/metrics?pageSize=1000`)).json() as { metrics: Record<string, number>[] };
  let secs = 0;
  let tokens = 0;
  for (const m of r.metrics) {
    const s = m.time_sample_s! + m.time_eval_s! + m.time_train_s!;
    secs += s;
    tokens += m.sample_tokens_per_s! * m.time_sample_s!;
  }
  return { steps_per_s: r.metrics.length / secs, sample_tokens_per_s: tokens / secs };
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      clients: { type: 'string', default: '50' }, sse: { type: 'string', default: '10' }, 'interval-ms': { type: 'string', default: '200' },
      steps: { type: 'string', default: '12' }, preset: { type: 'string', default: 'tiny' }, json: { type: 'boolean', default: false },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'rft-bench-jobs-'));
  const modelDir = join(dir, 'model');
  const preset = PRESETS[values.preset!];
  if (!preset) throw new Error(`--preset: one of ${Object.keys(PRESETS).join(', ')}`);
  initModel(modelDir, { ...DEFAULTS, ...preset, seed: 1 } as InitSpec);
  const { url, child } = await startServer(join(dir, 'data'));
  try {
    const A = '/v1/accounts/bench';
    await post(url, `${A}/datasets`, { datasetId: 'd' });
    const rows = Array.from({ length: 32 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `What is ${i} plus ${i + 1}?` }], ground_truth: String(2 * i + 1) })).join('\n');
    await post(url, `${A}/datasets/d:upload`, rows, true);
    const spec = {
      dataset: 'd', evaluator: { type: 'numeric' }, earlyStopZeroVarianceSteps: 0,
      trainingConfig: { baseModel: modelDir, steps: Number(values.steps), batchSize: 2, loraRank: 8 },
      inferenceParameters: { maxOutputTokens: 32, responseCandidatesCount: 4 },
    };
    const wait = async (job: string) => {
      for (;;) {
        const j = await (await fetch(`${url}/v1/${job}`)).json() as { state: string };
        if (!['JOB_STATE_PENDING', 'JOB_STATE_VALIDATING', 'JOB_STATE_RUNNING'].includes(j.state)) return j.state;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const idleJob = (await post(url, `${A}/reinforcementFineTuningJobs?reinforcementFineTuningJobId=idle`, spec)).name;
    await wait(idleJob);
    const idle = await throughput(url, idleJob);
    const loadedJob = (await post(url, `${A}/reinforcementFineTuningJobs?reinforcementFineTuningJobId=loaded`, spec)).name;
    let finished = false;
    const load = loadClients(url, 'bench', loadedJob, { clients: Number(values.clients), sse: Number(values.sse), intervalMs: Number(values['interval-ms']), done: () => finished });
    await wait(loadedJob);
    finished = true;
    const report = await load;
    const loaded = await throughput(url, loadedJob);
    const out = { idle, loaded, ratio: loaded.steps_per_s / idle.steps_per_s, clients: report };
    if (values.json) console.log(JSON.stringify(out));
    else {
      console.log(`job throughput idle   ${idle.steps_per_s.toFixed(2)} steps/s  ${idle.sample_tokens_per_s.toFixed(0)} sampled tok/s`);
      console.log(`job throughput loaded ${loaded.steps_per_s.toFixed(2)} steps/s  ${loaded.sample_tokens_per_s.toFixed(0)} sampled tok/s  (${(100 * out.ratio).toFixed(1)}% of idle)`);
      console.log(`${report.clients} clients (${values.sse} on SSE): ${report.requests} requests, ${report.requests_per_s.toFixed(0)} req/s, p50 ${report.latency_ms_p50.toFixed(1)} ms, p99 ${report.latency_ms_p99.toFixed(1)} ms, ${report.sseEvents} SSE events, ${report.errors} errors`);
      for (const e of report.errorSamples) console.log(`  error: ${e}`);
    }
    return report.errors ? 1 : 0;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
