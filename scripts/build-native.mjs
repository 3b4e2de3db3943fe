// Builds the native engine during `npm install`. A failed build does not fail the install:
// rft then runs on its pure-TypeScript reference kernels and says so once at start-up.
// An installed package (a tarball from `npm pack`, no .git next to it) ships its addon prebuilt
// in build/Release; when that addon loads on this machine it is kept and nothing is compiled.
// RFT_REBUILD_NATIVE=1 forces the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'rft_native.node');

/** Loads the addon in a child process, so that a crash on this CPU or Node cannot take the install down. */
function prebuiltLoads() {
  const probe = `const a = require(${JSON.stringify(addon)}); if (a.abiVersion !== 1) process.exit(3);`;
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0;
}

if (!process.env.RFT_REBUILD_NATIVE && !existsSync(join(root, '.git')) && existsSync(addon) && prebuiltLoads()) {
  console.log('[rft] using the prebuilt native engine in build/Release (RFT_REBUILD_NATIVE=1 npm rebuild rft compiles it)');
  process.exit(0);
}

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
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `-j`, jobs], { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.warn('\n[rft] warning: the native engine did not build; rft will run on its (much slower) TypeScript reference kernels.');
  console.warn('[rft] to retry: npm run rebuild:native   (needs g++ and Node headers)\n');
}
