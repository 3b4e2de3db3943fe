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

test('a typo in a required flag is reported as an unknown option with the close names, before any missing required option', () => {
  const cases: [string[], RegExp][] = [
    [['evaluator', 'preview', '--evl', 'numeric', '--dataset', 'a.jsonl', '--responses', 'b.jsonl'], /unknown option '--evl'\n\(Did you mean --evaluator\?\)/],
    [['evaluator', 'preview', '--evaluater', 'numeric', '--dataset', 'a.jsonl', '--responses', 'b.jsonl'], /unknown option '--evaluater'\n\(Did you mean --evaluator\?\)/],
    [['dataset', 'split', 'a.jsonl', '--evl', '3'], /unknown option '--evl'\n\(Did you mean --eval\?\)/],
    [['model', 'init', '--outt', 'x'], /unknown option '--outt'\n\(Did you mean --out\?\)/],
    [['train', '--model', 'm', '--dataset', 'd.jsonl', '--evaluator', 'numeric', '--outt', 'o'], /unknown option '--outt'\n\(Did you mean --out\?\)/],
    [['train', '--evl', 'x'], /unknown option '--evl'\n\(Did you mean one of --eval-dataset, --evaluator, /],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /required option/, args.join(' '));
  }
  // a required option that is really missing is still named
  const r = spawnSync(process.execPath, [bin, 'dataset', 'split', 'a.jsonl'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /required option '--eval <size>' not specified/);
});

test('every command and subcommand answers --help with its usage and exit code 0 (rft bench too)', async () => {
  const { buildProgram } = await import('./main.js');
  const paths: string[][] = [];
  const walk = (cmd: import('commander').Command, path: string[]) => {
    for (const c of cmd.commands) {
      paths.push([...path, c.name()]);
      walk(c, [...path, c.name()]);
    }
  };
  walk(buildProgram(), []);
  assert.ok(paths.length > 10 && paths.some((p) => p[0] === 'bench'));
  const { main } = await import('./main.js');
  for (const p of paths) {
    // in process (a child each would take seconds): capture what the help writes
    let out = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof write;
    let code: number;
    try {
      code = await main([...p, '--help']);
    } finally {
      process.stdout.write = write;
    }
    assert.equal(code, 0, `rft ${p.join(' ')} --help`);
    assert.match(out, new RegExp(`Usage: rft ${p.join(' ')}`), `rft ${p.join(' ')} --help`);
  }
});
