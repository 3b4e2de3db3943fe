import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../main.js', import.meta.url));
const rft = (args: string[], cwd?: string) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd });
const lines = async (f: string) => (await readFile(f, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

test('dataset validate prints each problem as FILE:LINE and exits 1; a clean file exits 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-cli-ds-'));
  const file = join(dir, 'd.jsonl');
  await writeFile(file, '{"messages":[{"role":"user","content":"a"}]}\n{nope\n{"messages":[{"role":"assistant","content":"b"}]}\n');
  const r = rft(['dataset', 'validate', file]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, new RegExp(`${file}:2: \\(row\\): bad JSON`));
  assert.match(r.stdout, new RegExp(`${file}:3: messages\\[0\\]\\.role: last message is "assistant"`));
  assert.match(r.stdout, /3 rows, 1 valid; 2 problems on 2 lines/);
  const j = rft(['dataset', 'validate', file, '--json']);
  assert.equal(j.status, 1);
  const report = JSON.parse(j.stdout);
  assert.deepEqual(report.issues.map((i: { line: number; code: string }) => [i.line, i.code]), [[2, 'bad_json'], [3, 'last_message']]);
  await writeFile(file, '{"messages":[{"role":"user","content":"a"}]}\n');
  const ok = rft(['dataset', 'validate', file]);
  assert.equal(ok.status, 0);
  assert.match(ok.stdout, /: 1 row, all valid/);
  // one problem on one line: the nouns agree with the counts
  await writeFile(file, '{"messages":[{"role":"user","content":"a"}]}\n{nope\n');
  assert.match(rft(['dataset', 'validate', file]).stdout, /: 2 rows, 1 valid; 1 problem on 1 line$/m);
  const big = rft(['dataset', 'validate', file, '--max-bytes', '10']);
  assert.equal(big.status, 1);
  assert.match(big.stdout, /over the limit of 10/);
});

test('user errors are one line on stderr with exit code 2, never a stack trace', async () => {
  const missing = rft(['dataset', 'validate', '/no/such/file.jsonl']);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, 'rft: cannot read /no/such/file.jsonl: no such file\n');
  const dir = await mkdtemp(join(tmpdir(), 'rft-cli-ds-'));
  const knob = rft(['dataset', 'generate', 'countdown', '--out-dir', dir, '--n', '3', '--levels', 'easy']);
  assert.equal(knob.status, 2);
  assert.match(knob.stderr, /--levels is not a knob of countdown; it belongs to sql/);
  const n = rft(['dataset', 'generate', 'countdown', '--out-dir', dir, '--n', 'many']);
  assert.equal(n.status, 2);
  assert.match(n.stderr, /--n must be a whole number/);
  const file = join(dir, 'bad.jsonl');
  await writeFile(file, '{"prompt":"a"}\n{x\n');
  const split = rft(['dataset', 'split', file, '--eval', '0.5']);
  assert.equal(split.status, 2);
  assert.match(split.stderr, /bad\.jsonl:2: bad JSON.*rft dataset validate/);
  const blocked = rft(['dataset', 'generate', 'countdown', '--out-dir', join(file, 'sub'), '--n', '2']);
  assert.equal(blocked.status, 2);
  assert.match(blocked.stderr, /cannot create directory .*bad\.jsonl\/sub: a file is in the way/);
  await writeFile(join(dir, 'ok.jsonl'), '{"prompt":"a"}\n');
  const intoDir = rft(['dataset', 'convert', join(dir, 'ok.jsonl'), '--out', dir]);
  assert.equal(intoDir.status, 2);
  assert.match(intoDir.stderr, /it is a directory/);
  for (const r of [missing, knob, n, split, blocked, intoDir]) assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('generate -> from-sft -> split -> stats pipeline on word problems', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-cli-ds-'));
  const g = rft(['dataset', 'generate', 'word-problems', '--out-dir', 'out', '--n', '40', '--seed', '3', '--difficulty', '2', '--json'], dir);
  assert.equal(g.status, 0, g.stderr);
  const report = JSON.parse(g.stdout);
  assert.equal(report.rows, 40);
  assert.equal(report.sftPath, join('out', 'word-problems.sft.jsonl'));
  // from-sft recovers exactly the generator's RFT file: same prompts, same ground truth.
  const f = rft(['dataset', 'from-sft', 'out/word-problems.sft.jsonl', '--out', 'rft.jsonl', '--answer-tag', 'RESULT', '--json'], dir);
  assert.equal(f.status, 0, f.stderr);
  assert.deepEqual(JSON.parse(f.stdout), { read: 40, written: 40, skipped: {} });
  assert.deepEqual(await lines(join(dir, 'rft.jsonl')), await lines(join(dir, 'out/word-problems.rft.jsonl')));
  const m = rft(['dataset', 'from-sft', 'out/word-problems.sft.jsonl', '--out', 'few.jsonl', '--max', '5', '--answer-regex', 'no-such-thing|\\[RESULT\\](.*?)\\['], dir);
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stdout, /wrote 5/);
  const s = rft(['dataset', 'split', 'rft.jsonl', '--eval', '0.25', '--seed', '1', '--stratify', 'template', '--out-train', 'tr.jsonl', '--out-eval', 'ev.jsonl'], dir);
  assert.equal(s.status, 0, s.stderr);
  assert.equal((await lines(join(dir, 'tr.jsonl'))).length, 30);
  assert.equal((await lines(join(dir, 'ev.jsonl'))).length, 10);
  const again = rft(['dataset', 'split', 'rft.jsonl', '--eval', '0.25', '--seed', '1', '--stratify', 'template', '--out-train', 'tr2.jsonl', '--out-eval', 'ev2.jsonl'], dir);
  assert.equal(again.status, 0);
  assert.equal(await readFile(join(dir, 'ev2.jsonl'), 'utf8'), await readFile(join(dir, 'ev.jsonl'), 'utf8'));
  const st = rft(['dataset', 'stats', 'rft.jsonl', '--json'], dir);
  assert.equal(st.status, 0, st.stderr);
  const stats = JSON.parse(st.stdout);
  assert.equal(stats.rows, 40);
  assert.deepEqual(stats.roles, { system: 40, user: 40 });
  assert.deepEqual(stats.groundTruthTypes, { string: 40 });
});

test('convert turns prompt rows into chat rows and back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-cli-ds-'));
  const rows = [{ prompt: 'q1', completion: 'a1', id: 1 }, { prompt: [{ role: 'user', content: 'q2' }], ground_truth: 2 }];
  await writeFile(join(dir, 'p.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
  const c = rft(['dataset', 'convert', 'p.jsonl', '--out', 'chat.jsonl', '--completion', 'ground-truth'], dir);
  assert.equal(c.status, 0, c.stderr);
  assert.deepEqual(await lines(join(dir, 'chat.jsonl')), [
    { messages: [{ role: 'user', content: 'q1' }], id: 1, ground_truth: 'a1' },
    { messages: [{ role: 'user', content: 'q2' }], ground_truth: 2 },
  ]);
  assert.equal(rft(['dataset', 'validate', 'chat.jsonl'], dir).status, 0);
  const back = rft(['dataset', 'convert', 'chat.jsonl', '--out', 'back.jsonl', '--to', 'prompt'], dir);
  assert.equal(back.status, 0, back.stderr);
  assert.deepEqual(await lines(join(dir, 'back.jsonl')), [{ prompt: 'q1', id: 1, ground_truth: 'a1' }, { prompt: 'q2', ground_truth: 2 }]);
  await writeFile(join(dir, 'x.jsonl'), '{"text":"no prompt"}\n');
  const bad = rft(['dataset', 'convert', 'x.jsonl', '--out', 'y.jsonl'], dir);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /x\.jsonl:1: row has neither "messages" nor "prompt": give --prompt-template/);
});

test('a file in the public Countdown-Tasks layout ({target, nums}) converts with --prompt-template and is scored by countdown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-cli-ds-'));
  await writeFile(join(dir, 'cd.jsonl'), '{"target": 98, "nums": [44, 19, 35]}\n{"target": 10, "nums": [2, 5]}\n');
  const tpl = 'Using the numbers {{nums}}, create an equation that equals {{target}}. Answer in <answer></answer>.';
  const c = rft(['dataset', 'convert', 'cd.jsonl', '--out', 'cd.rft.jsonl', '--prompt-template', tpl], dir);
  assert.equal(c.status, 0, c.stderr);
  const rows = await lines(join(dir, 'cd.rft.jsonl'));
  assert.deepEqual(rows[0], {
    messages: [{ role: 'user', content: 'Using the numbers [44,19,35], create an equation that equals 98. Answer in <answer></answer>.' }],
    target: 98,
    nums: [44, 19, 35],
  });
  assert.equal(rft(['dataset', 'validate', 'cd.rft.jsonl'], dir).status, 0);
  await writeFile(join(dir, 'responses.jsonl'), '"<answer>44+19+35</answer>"\n["<answer>2*5</answer>", "<answer>2+5</answer>"]\n');
  const p = rft(['evaluator', 'preview', '--evaluator', 'countdown', '--dataset', 'cd.rft.jsonl', '--responses', 'responses.jsonl', '--json'], dir);
  assert.equal(p.status, 0, p.stderr);
  assert.deepEqual(JSON.parse(p.stdout).results.map((r: { score: number; valid: boolean }) => [r.score, r.valid]), [[1, true], [1, true], [0.3, true]]);
  // a template field the row lacks is an error with the line
  const bad = rft(['dataset', 'convert', 'cd.jsonl', '--out', 'x.jsonl', '--prompt-template', 'Make {{goal}}'], dir);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /cd\.jsonl:1: --prompt-template refers to \{\{goal\}\}, but the row has no field "goal" \(it has "target", "nums"\)/);
});

test('generate sql stores the database path relative to the dataset file, so scoring works from any directory and after a split elsewhere', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-cli-ds-'));
  const g = rft(['dataset', 'generate', 'sql', '--out-dir', 'data/sql', '--n', '5', '--seed', '1', '--levels', 'easy,hard'], dir);
  assert.equal(g.status, 0, g.stderr);
  const rows = await lines(join(dir, 'data/sql/sql.rft.jsonl'));
  for (const row of rows) assert.equal(row.database, 'shop.sqlite');
  assert.equal(rft(['dataset', 'validate', 'data/sql/sql.sft.jsonl', '--sft'], dir).status, 0);
  // the gold queries as responses: every one valid with full score, run from a directory that is not the data's
  await mkdir(join(dir, 'elsewhere/deeper'), { recursive: true });
  await writeFile(join(dir, 'gold.jsonl'), rows.map((r) => JSON.stringify('```sql\n' + r.ground_truth.sql + '\n```')).join('\n') + '\n');
  const scores = (dataset: string, responses: string, cwd: string) => {
    const p = rft(['evaluator', 'preview', '--evaluator', 'sql', '--dataset', dataset, '--responses', responses, '--json'], cwd);
    assert.equal(p.status, 0, p.stderr);
    return JSON.parse(p.stdout).results.map((r: { valid: boolean; score: number; reason: string }) => [r.valid, r.score, r.valid ? '' : r.reason]);
  };
  assert.deepEqual(scores('../data/sql/sql.rft.jsonl', '../gold.jsonl', join(dir, 'elsewhere')), rows.map(() => [true, 1, '']));
  // split into another directory: the rows there name the same database
  const s = rft(['dataset', 'split', 'data/sql/sql.rft.jsonl', '--eval', '2', '--out-train', 'elsewhere/t.jsonl', '--out-eval', 'elsewhere/deeper/e.jsonl'], dir);
  assert.equal(s.status, 0, s.stderr);
  assert.equal((await lines(join(dir, 'elsewhere/t.jsonl')))[0].database, '../data/sql/shop.sqlite');
  assert.equal((await lines(join(dir, 'elsewhere/deeper/e.jsonl')))[0].database, '../../data/sql/shop.sqlite');
  const evalRows = await lines(join(dir, 'elsewhere/deeper/e.jsonl'));
  await writeFile(join(dir, 'gold-eval.jsonl'), evalRows.map((r) => JSON.stringify('```sql\n' + r.ground_truth.sql + '\n```')).join('\n') + '\n');
  assert.deepEqual(scores('elsewhere/deeper/e.jsonl', 'gold-eval.jsonl', dir), [[true, 1, ''], [true, 1, '']]);
});

test('from-sft with an answer tag no row has: an error naming what was tried, and no file written (an earlier one stays)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-cli-ds-'));
  assert.equal(rft(['dataset', 'generate', 'word-problems', '--out-dir', 'd', '--n', '4', '--seed', '1'], dir).status, 0);
  const r = rft(['dataset', 'from-sft', 'd/word-problems.sft.jsonl', '--out', 'rft.jsonl', '--answer-tag', 'NOPE'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no RFT row from 4 rows of d\/word-problems\.sft\.jsonl \(no_answer 4\); no final answer matched \[NOPE\]…\[\/NOPE\] or <NOPE>…<\/NOPE>/);
  assert.deepEqual(await readdir(dir), ['d']);
  await writeFile(join(dir, 'rft.jsonl'), 'earlier\n');
  assert.equal(rft(['dataset', 'from-sft', 'd/word-problems.sft.jsonl', '--out', 'rft.jsonl', '--answer-regex', 'zzz(\\d+)'], dir).status, 1);
  assert.equal(await readFile(join(dir, 'rft.jsonl'), 'utf8'), 'earlier\n');
  const ok = rft(['dataset', 'from-sft', 'd/word-problems.sft.jsonl', '--out', 'rft.jsonl'], dir);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((await lines(join(dir, 'rft.jsonl'))).length, 4);
});

test('rft sft given RFT rows: says they look like RFT rows and suggests validate --sft, which then lists the same problems', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-cli-ds-'));
  assert.equal(rft(['model', 'init', '--out', 'm', '--hidden', '16', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--intermediate', '16'], dir).status, 0);
  assert.equal(rft(['dataset', 'generate', 'word-problems', '--out-dir', 'd', '--n', '25', '--seed', '1'], dir).status, 0);
  const r = rft(['sft', '--model', 'm', '--dataset', 'd/word-problems.rft.jsonl', '--out', 'run'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /has 25 problems:/);
  assert.match(r.stderr, /this looks like an RFT row/);
  const suggested = /\((rft dataset validate [^)]*) lists them all\)/.exec(r.stderr);
  assert.ok(suggested, r.stderr);
  assert.equal(suggested[1], 'rft dataset validate d/word-problems.rft.jsonl --sft');
  const v = rft(suggested[1].split(' ').slice(1), dir);
  assert.equal(v.status, 1, 'the suggested command finds the problems');
  assert.match(v.stdout, /25 rows, 0 valid; 25 problems on 25 lines/);
  assert.ok(!existsSync(join(dir, 'run')), 'no run directory was started');
});
