// Builds the native engine during `npm install`. A failed build does not fail the install:
// rft then runs on its pure-TypeScript reference kernels and says so once at start-up.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  // npm ships node-gyp; find it next to the npm that runs us.
  const npmDir = process.env.npm_execpath ? new URL('..', 'file://' + process.env.npm_execpath).pathname : '';
  gyp = npmDir + 'node_modules/node-gyp/bin/node-gyp.js';
}
const jobs = process.env.RFT_BUILD_JOBS ?? 'max';
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `-j`, jobs], { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('\n[rft] warning: the native engine did not build; rft will run on its (much slower) TypeScript reference kernels.');
  console.warn('[rft] to retry: npm run rebuild:native   (needs g++ and Node headers)\n');
}
