import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { allCommands, BooleanFlagError, isBooleanOption, normalizeBooleanArgs } from './boolean-flags.js';
import { buildProgram } from './main.js';

/** Parses `args` (after the command's path) for the command at `path` only; returns its option value. */
function parsedValue(path: string[], args: string[], attr: string): unknown {
  const program = buildProgram();
  const argv = normalizeBooleanArgs(program, [...path, ...args]);
  assert.deepEqual(argv.slice(0, path.length), path);
  let cmd: Command = program;
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  const { unknown } = cmd.parseOptions(argv.slice(path.length));
  assert.deepEqual(unknown, [], `${[...path, ...args].join(' ')} left ${unknown.join(' ')} unparsed`);
  return cmd.getOptionValue(attr);
}

// The list comes from the commands' own option definitions: a boolean flag added anywhere is covered.
const knobs: { path: string[]; flag: string; attr: string }[] = [];
for (const { path, cmd } of allCommands(buildProgram())) {
  for (const o of cmd.options) {
    if (isBooleanOption(o) && !o.negate) knobs.push({ path, flag: o.long!.slice(2), attr: o.attributeName() });
  }
}

test('the boolean flags found include the ones users reach for', () => {
  const names = new Set(knobs.map((k) => `${k.path.join(' ')} --${k.flag}`));
  for (const n of ['dataset generate --format-hint', 'dataset validate --json', 'model init --tie', 'quickstart --small', 'train --resume']) assert.ok(names.has(n), n);
});

for (const { path, flag, attr } of knobs) {
  test(`rft ${path.join(' ')} --${flag}: bare, true/false (also =, yes/no, 1/0) and --no-${flag}`, () => {
    assert.equal(parsedValue(path, [`--${flag}`], attr), true);
    assert.equal(parsedValue(path, [`--${flag}`, 'true'], attr), true);
    assert.equal(parsedValue(path, [`--${flag}=yes`], attr), true);
    assert.equal(parsedValue(path, [`--${flag}`, 'false'], attr), false);
    assert.equal(parsedValue(path, [`--${flag}=false`], attr), false);
    assert.equal(parsedValue(path, [`--${flag}`, '0'], attr), false);
    assert.equal(parsedValue(path, [`--no-${flag}`], attr), false);
    assert.equal(parsedValue(path, [`--no-${flag}`, 'false'], attr), true);
    assert.throws(() => normalizeBooleanArgs(buildProgram(), [...path, `--${flag}=maybe`]), (e: unknown) => e instanceof BooleanFlagError && e.message.includes(`--${flag} takes true or false`));
    // a bare flag never takes the operand after it
    assert.deepEqual(normalizeBooleanArgs(buildProgram(), [...path, `--${flag}`, 'data.jsonl']).slice(path.length), [`--${flag}`, 'data.jsonl']);
  });
}

test('the README line works: dataset generate countdown --style compact --format-hint false', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-bool-'));
  const cli = new URL('./main.js', import.meta.url).pathname;
  const gen = (out: string, ...flags: string[]) =>
    spawnSync(process.execPath, [cli, 'dataset', 'generate', 'countdown', '--out-dir', join(dir, out), '--n', '5', '--style', 'compact', ...flags], { encoding: 'utf8' });
  for (const r of [gen('off', '--format-hint', 'false'), gen('no', '--no-format-hint'), gen('on', '--format-hint', 'true')]) assert.equal(r.status, 0, r.stderr);
  const bad = gen('bad', '--format-hint=maybe');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--format-hint takes true or false/);
  const prompts = (d: string) => readFileSync(join(dir, d, 'countdown.rft.jsonl'), 'utf8');
  assert.doesNotMatch(prompts('off'), /Answer in <think>/);
  assert.equal(prompts('no'), prompts('off'));
  assert.match(prompts('on'), /Answer in <think>/);
});
