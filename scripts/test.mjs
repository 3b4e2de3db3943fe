// Runs every compiled test file (dist/**/*.test.js) with Node's built-in test runner.
// Kept as a script because `node --test DIR` differs between Node 20 and Node 22+.
// Usage: node scripts/test.mjs [substring ...]  — only files whose path contains one of them.
// Tests make their scratch directories under os.tmpdir(); the run points TMPDIR at one fresh
// directory and removes it afterwards, so no test leaves files behind (RFT_KEEP_TEST_TMP=1 keeps it).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk('dist', []).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files found under dist/ (did tsc run?)');
  process.exit(1);
}
const scratch = mkdtempSync(join(tmpdir(), 'rft-test-'));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env: { ...process.env, TMPDIR: scratch } });
if (process.env.RFT_KEEP_TEST_TMP) console.error(`test scratch files kept in ${scratch}`);
else rmSync(scratch, { recursive: true, force: true });
process.exit(r.status ?? 1);
