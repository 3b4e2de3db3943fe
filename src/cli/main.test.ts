import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('./main.js', import.meta.url));

test('rft --help lists the commands and exits 0', () => {
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: rft/);
  assert.match(r.stdout, /bench/);
});

test('an unknown subcommand is an error with a non-zero exit code', () => {
  const r = spawnSync(process.execPath, [bin, 'no-such-command'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown command/);
});

test('an unknown benchmark names the available ones and exits 2', () => {
  const r = spawnSync(process.execPath, [bin, 'bench', 'no-such-bench'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown benchmark "no-such-bench"/);
});

test('rft report on a missing run directory says so and exits 2', () => {
  const r = spawnSync(process.execPath, [bin, 'report', '/nonexistent/run'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /rft: run directory \/nonexistent\/run does not exist/);
});
