import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../../', import.meta.url)); // dist/

test('without the native addon rft says so once on stderr and computes on the reference kernels', () => {
  // A copy of the compiled engine with no build/ folder next to it: the addon cannot load.
  const root = mkdtempSync(join(tmpdir(), 'rft-no-addon-'));
  cpSync(join(dist, 'src', 'engine'), join(root, 'dist', 'src', 'engine'), { recursive: true });
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  const script = join(root, 'run.mjs');
  writeFileSync(script, `
    import { tensor, matmul, kernels } from './dist/src/engine/index.js';
    const a = tensor(Float32Array.of(1, 2, 3, 4), [2, 2]);
    const b = tensor(Float32Array.of(5, 6, 7, 8), [2, 2]);
    const c1 = matmul(a, b); const c2 = matmul(b, a);
    console.log(JSON.stringify({ name: kernels().name, c1: Array.from(c1.data), c2: Array.from(c2.data) }));
  `);
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, RFT_ENGINE: '' } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.name, 'reference');
  assert.deepEqual(out.c1, [19, 22, 43, 50]);
  assert.deepEqual(out.c2, [23, 34, 31, 46]);
  assert.equal(r.stderr.match(/native engine unavailable/g)?.length, 1, `said once: ${r.stderr}`);
  assert.match(r.stderr, /npm run rebuild:native/);
});
