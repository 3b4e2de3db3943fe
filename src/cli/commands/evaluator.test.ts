import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../main.js', import.meta.url));
let dir: string;
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const rft = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: dir });

let dataset: string;
let responses: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rft-cli-eval-'));
  const rows = [
    { messages: [{ role: 'user', content: 'Make 22 from 3 5 7' }], ground_truth: { numbers: [3, 5, 7], target: 22 } },
    { messages: [{ role: 'user', content: 'Make 14 from 2 4 6' }], ground_truth: { numbers: [2, 4, 6], target: 14 } },
  ];
  dataset = file('data.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  responses = file('responses.jsonl', [JSON.stringify('<think>x</think><answer>3*5+7</answer>'), JSON.stringify(['<answer>2*4+6</answer>', '<answer>2+4+6</answer>', 'no idea'])].join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('preview prints a table with every response and a summary', () => {
  const r = rft('evaluator', 'preview', '--evaluator', 'countdown', '--dataset', dataset, '--responses', responses);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^row\s+#\s+score\s+valid\s+reason\s+metrics$/);
  assert.match(r.stdout, /1\s+0\s+1\.000\s+yes\s+3\*5\+7 = 22/);
  assert.match(r.stdout, /2\s+1\s+0\.300\s+yes/);
  assert.match(r.stdout, /4 responses for 2 rows: 4 valid, 0 invalid; 2 scored 1/);
  assert.match(r.stdout, /score: mean 0\.575/); // (1 + 1 + 0.3 + 0) / 4
});

test('preview --json prints one object with results and summary', () => {
  const r = rft('evaluator', 'preview', '--evaluator', '{"type": "weighted", "components": [{"evaluator": "format", "weight": 1}, {"evaluator": "countdown", "weight": 3}]}', '--dataset', dataset, '--responses', responses, '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.results.length, 4);
  assert.deepEqual(Object.keys(out.results[0]).sort(), ['metrics', 'reason', 'response', 'row', 'sample', 'score', 'valid']);
  assert.equal(out.results[0].row, 1);
  assert.equal(out.results[0].score, 1);
  assert.equal(out.results[3].row, 2);
  assert.equal(out.results[3].sample, 2);
  assert.equal(out.results[3].response, 'no idea');
  assert.equal(out.results[1].metrics['countdown.equals_target'].score, 1);
  assert.equal(out.summary.responses, 4);
  assert.equal(out.summary.valid, 4);
});

test('a .ts module evaluator runs in workers and its console output stays off stdout', () => {
  const mod = file('mine.ts', `
    const threshold: number = 10;
    export default { name: 'short', evaluate(r: { output: string }) { console.log('debug from the evaluator'); return { score: r.output.length < threshold ? 1 : 0, valid: true }; } };
  `);
  const r = rft('evaluator', 'preview', '--evaluator', mod, '--dataset', dataset, '--responses', responses, '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.results.map((x: { score: number }) => x.score), [0, 0, 0, 1]);
  assert.match(r.stderr, /debug from the evaluator/);
});

test('user errors exit 2 with a message and no stack trace', () => {
  const mismatch = rft('evaluator', 'preview', '--evaluator', 'countdown', '--dataset', dataset, '--responses', file('one.jsonl', '"x"\n'));
  assert.equal(mismatch.status, 2);
  assert.match(mismatch.stderr, /2 rows but the responses file has 1 line;/);
  const badSpec = rft('evaluator', 'preview', '--evaluator', '{"type": "numeric", "abs_tol": "small"}', '--dataset', dataset, '--responses', responses);
  assert.equal(badSpec.status, 2);
  assert.match(badSpec.stderr, /\$\.abs_tol: must be a number/);
  assert.doesNotMatch(badSpec.stderr, /\n\s+at /);
  const badLine = rft('evaluator', 'preview', '--evaluator', 'countdown', '--dataset', dataset, '--responses', file('bad.jsonl', '"ok"\n{oops\n'));
  assert.equal(badLine.status, 2);
  assert.match(badLine.stderr, /bad\.jsonl:2: bad JSON/);
  const notString = rft('evaluator', 'preview', '--evaluator', 'countdown', '--dataset', dataset, '--responses', file('num.jsonl', '"ok"\n42\n'));
  assert.match(notString.stderr, /num\.jsonl:2: expected a JSON string or a non-empty array of strings/);
  const noFile = rft('evaluator', 'preview', '--evaluator', 'countdown', '--dataset', join(dir, 'nope.jsonl'), '--responses', responses);
  assert.equal(noFile.status, 2);
  assert.match(noFile.stderr, /cannot read the dataset file .*nope\.jsonl: ENOENT/);
  const unknown = rft('evaluator', 'preview', '--evaluator', 'countdwn', '--dataset', dataset, '--responses', responses);
  assert.match(unknown.stderr, /unknown evaluator "countdwn": give a built-in \(countdown, /);
});
