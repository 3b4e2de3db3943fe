/**
 * The README's command examples, run: every fenced block marked `<!-- rft:example NAME -->` runs
 * in a fresh directory with bash (`rft` and `npx rft` are this build's CLI; optional `[...]` parts
 * are left out), after the setup below makes the small files it refers to. In a transcript block
 * (`$ command` lines followed by their output) the output shown must be what the commands print.
 * A documented command that stops working, or prints something else, fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../engine/native.js';

const bin = fileURLToPath(new URL('./main.js', import.meta.url));

interface Example {
  name: string;
  /** README line of the opening fence. */
  line: number;
  commands: string;
  /** For a transcript block: the output it shows. */
  output?: string;
}

/** The marked blocks of a README text. */
function readmeExamples(text: string): Example[] {
  const lines = text.split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^<!-- rft:example ([\w-]+) -->$/.exec(lines[i]);
    if (!m) continue;
    if (!/^```(sh|bash)\b/.test(lines[i + 1] ?? '')) throw new Error(`README.md:${i + 1}: <!-- rft:example ${m[1]} --> is not followed by a \`\`\`sh block`);
    const body: string[] = [];
    let j = i + 2;
    for (; j < lines.length && !/^```\s*$/.test(lines[j]); j++) body.push(lines[j]);
    if (j === lines.length) throw new Error(`README.md:${i + 2}: the ${m[1]} block is never closed`);
    const transcript = body.some((l) => l.startsWith('$ '));
    out.push({
      name: m[1],
      line: i + 2,
      commands: (transcript ? body.filter((l) => l.startsWith('$ ')).map((l) => l.slice(2)) : body).join('\n'),
      output: transcript ? body.filter((l) => !l.startsWith('$ ')).join('\n') : undefined,
    });
    i = j;
  }
  return out;
}

/** Optional parts (`[--json]`, `[--adapter DIR]`) are left out: the examples run in their shortest form. */
function withoutOptional(commands: string): string {
  return commands.replace(/\s\[[^\]\n]*\]/g, '');
}

const tinyModel = (dir: string) => `rft model init --out ${dir} --hidden 16 --layers 1 --heads 2 --kv-heads 1 --intermediate 16 --seed 1 >/dev/null`;
const trainingData = [
  tinyModel('m'),
  'rft dataset generate word-problems --out-dir . --n 12 --seed 1 >/dev/null',
  'rft dataset split word-problems.sft.jsonl --eval 4 --seed 1 --out-train task.sft.jsonl --out-eval heldout.sft.jsonl >/dev/null',
  'rft dataset split word-problems.rft.jsonl --eval 4 --seed 1 --out-train task.rft.jsonl --out-eval heldout.rft.jsonl >/dev/null',
].join('\n');

/** What each example needs beforehand (small data, so that all of them run in well under a minute), and its exit code when not 0. */
const SETUP: Record<string, { setup?: string; exit?: number; ignoreLines?: RegExp }> = {
  validate: {
    setup: `printf '%s\\n' '{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]}' '{"messages":[{"role":"user","content":"hi"}] "x": 1}' '{"messages":[{"role":"user","content":"3+3?"}]}' > bad.jsonl`,
    exit: 1,
    // the bad-JSON reason is V8's own message, which differs between Node versions
    ignoreLines: /\[bad_json\]$/,
  },
  stats: { setup: 'rft dataset generate countdown --out-dir data --n 1000 --seed 1 --count 3 >/dev/null' },
  split: { setup: 'rft dataset generate countdown --out-dir data --n 1000 --seed 1 --count 3 >/dev/null' },
  convert: {},
  'from-sft': { setup: 'rft dataset generate word-problems --out-dir data --n 3 --seed 1 >/dev/null' },
  generate: {},
  training: { setup: trainingData },
  config: { setup: trainingData },
  models: { setup: `echo '[{"role":"user","content":"2+3="}]' > chat.json` },
  export: { setup: [tinyModel('models/base'), 'rft dataset generate word-problems --out-dir . --n 8 --seed 1 >/dev/null', 'rft sft --model models/base --dataset word-problems.sft.jsonl --out runs/grpo1 --max-length 64 >/dev/null 2>&1'].join('\n') },
};

const PRELUDE = `rft() { "${process.execPath}" "${bin}" "$@"; }\nnpx() { if [ "$1" = rft ]; then shift; rft "$@"; else command npx "$@"; fi; }\n`;

function runBash(script: string, cwd: string) {
  return spawnSync('bash', ['-c', script], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

const examples = readmeExamples(readFileSync(join(packageRoot, 'README.md'), 'utf8'));

test('the README marks its runnable examples, and this file knows how to set up each one', () => {
  assert.deepEqual(examples.map((e) => e.name).sort(), Object.keys(SETUP).sort());
  assert.deepEqual(withoutOptional('rft x --a [--json] [--adapter DIR] \'{"k":[1]}\''), 'rft x --a \'{"k":[1]}\'');
});

for (const ex of examples) {
  test(`README example "${ex.name}" (README.md:${ex.line}) runs${ex.output !== undefined ? ' and prints what it shows' : ''}`, () => {
    const s = SETUP[ex.name];
    assert.ok(s, `no setup for the README example "${ex.name}": add it to SETUP`);
    const dir = mkdtempSync(join(tmpdir(), `rft-readme-${ex.name}-`));
    if (s.setup) {
      const r = runBash(`set -e\n${PRELUDE}${s.setup}`, dir);
      assert.equal(r.status, 0, `setup of ${ex.name}: ${r.stderr}`);
    }
    writeFileSync(join(dir, 'example.sh'), withoutOptional(ex.commands) + '\n');
    const r = runBash(`${s.exit ? '' : 'set -e -o pipefail\n'}${PRELUDE}. ./example.sh`, dir);
    assert.equal(r.status, s.exit ?? 0, `README.md:${ex.line} (${ex.name}) exited ${r.status}:\n${r.stderr}`);
    if (ex.output !== undefined) {
      const shown = (t: string) => t.trimEnd().split('\n').filter((l) => !s.ignoreLines?.test(l)).join('\n');
      assert.equal(shown(r.stdout), shown(ex.output), `README.md:${ex.line} (${ex.name}) shows other output than the commands print`);
    }
  });
}
