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

test('output piped into a reader that closes early (rft ... | head) ends quietly', () => {
  // model forward --json prints a few hundred KB of logits: far more than the pipe holds
  const script = `set -e; d=$(mktemp -d); "${process.execPath}" "${bin}" model init --out "$d/m" --hidden 16 --layers 1 --heads 2 --kv-heads 1 --intermediate 16 >/dev/null; ` +
    `"${process.execPath}" "${bin}" model forward --model "$d/m" --ids ${Array.from({ length: 300 }, (_, i) => i % 90).join(',')} --json | head -c 10 >/dev/null; echo "exit=\${PIPESTATUS:-done}"`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
});
