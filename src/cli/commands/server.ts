/** `rft server`: the jobs service (REST API, job runner, deployments over the OpenAI API); `rft server keys create`. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CliError } from '../errors.js';
import { RftServer } from '../../server/rft-server.js';
import { JobStore } from '../../jobs/store.js';

const int = (name: string, lo: number, hi: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < lo || n > hi) throw new CliError(`${name} must be an integer in [${lo}, ${hi}], got "${v}"`);
  return n;
};

export function register(program: Command): void {
  const server = program
    .command('server')
    .description('the RFT service: datasets, evaluators and fine-tuning jobs over REST, jobs in child processes, deployments over the OpenAI API')
    .option('--host <host>', 'address to listen on (anything but loopback needs API keys)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', int('--port', 0, 65535), 8000)
    .option('--data <dir>', 'data directory (SQLite database, datasets, run directories)', 'rft-data')
    .option('--concurrency <n>', 'jobs running at once', int('--concurrency', 1, 64), 1)
    .option('--max-dataset-bytes <n>', 'largest dataset upload', int('--max-dataset-bytes', 1, Number.MAX_SAFE_INTEGER), 256 * 1024 * 1024)
    .action(async (o: { host: string; port: number; data: string; concurrency: number; maxDatasetBytes: number }) => {
      let s: RftServer;
      try {
        s = new RftServer({ dataDir: resolve(o.data), concurrency: o.concurrency, maxDatasetBytes: o.maxDatasetBytes });
      } catch (e) {
        throw new CliError((e as Error).message, 1);
      }
      let addr: { port: number; host: string };
      try {
        addr = await s.listen(o.port, o.host);
      } catch (e) {
        throw new CliError(`cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`, 1);
      }
      process.stderr.write(`rft server: listening on http://${addr.host}:${addr.port} (data ${resolve(o.data)}, ${s.store.hasApiKeys() ? 'API keys required' : 'keyless, loopback only'})\n`);
      const stop = (sig: string) => {
        process.stderr.write(`rft server: ${sig}, stopping (running jobs resume on the next start)\n`);
        s.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  const keys = server.command('keys').description('API keys of the service (rft server keys create --account NAME [--data DIR])');
  keys.configureHelp({ showGlobalOptions: true });
  keys
    .command('create')
    .description('create an API key for an account (printed once; only its hash is stored)')
    .requiredOption('--account <name>', 'the account the key acts for')
    .option('--json', 'print {id, key, account} as JSON')
    // --data is the server command's own option (rft server keys create --data DIR)
    .action((_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { account: string; data: string; json?: boolean };
      const store = new JobStore(resolve(o.data));
      try {
        const k = store.createApiKey(o.account);
        if (o.json) console.log(JSON.stringify(k));
        else {
          console.log(k.key);
          process.stderr.write(`API key for account "${k.account}" (shown once; export RFT_API_KEY=...). A running server requires keys from now on.\n`);
        }
      } catch (e) {
        throw new CliError((e as Error).message);
      } finally {
        store.close();
      }
    });
}
