import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Row } from '../../contracts/row.js';
import { readJsonl } from '../jsonl.js';
import { validateFile } from '../validate.js';
import { generateExamples, generateTask, TASKS } from './index.js';

const tmp = () => mkdtemp(join(tmpdir(), 'rft-tasks-'));

test('every task: same seed gives byte-identical files, another seed differs', async () => {
  for (const task of Object.keys(TASKS)) {
    const dir = await tmp();
    const r1 = await generateTask(task, { n: 30, seed: 11, outDir: dir });
    const files = [r1.sftPath, r1.rftPath, ...r1.files];
    const first = await Promise.all(files.map((f) => readFile(f)));
    await generateTask(task, { n: 30, seed: 11, outDir: dir });
    const again = await Promise.all(files.map((f) => readFile(f)));
    first.forEach((b, i) => assert.ok(b.equals(again[i]!), `${task}: ${files[i]} differs between runs`));
    await generateTask(task, { n: 30, seed: 12, outDir: dir });
    assert.notDeepEqual(await readFile(r1.rftPath), first[1], `${task}: seed 12 gave the same rows as seed 11`);
  }
});

test('every generated row passes validate (RFT and SFT, duplicates included)', async () => {
  for (const [task, knobs] of [
    ['countdown', {}],
    ['countdown', { count: 6, 'target-max': 1000 }],
    ['countdown', { count: 3, ops: '+-', fractions: true }],
    ['countdown', { count: 3, style: 'compact' }],
    ['word-problems', { difficulty: '1-3' }],
    ['sql', {}],
    ['extraction', { distractors: 4 }],
  ] as const) {
    const dir = await tmp();
    const r = await generateTask(task, { n: 120, seed: 5, outDir: dir, knobs });
    const rft = await validateFile(r.rftPath);
    const sft = await validateFile(r.sftPath, { kind: 'sft' });
    assert.deepEqual(rft.issues, [], `${task} RFT`);
    assert.deepEqual(sft.issues, [], `${task} SFT`);
    assert.equal(rft.rows, 120);
    assert.equal(sft.rows, 120);
  }
});

// ---- countdown: an independent exact evaluator of the teacher's equation ----

type Q = [bigint, bigint]; // numerator, denominator (den > 0)
const norm = ([n, d]: Q): Q => {
  if (d === 0n) throw new Error('division by zero');
  if (d < 0n) [n, d] = [-n, -d];
  let [a, b] = [n < 0n ? -n : n, d];
  while (b) [a, b] = [b, a % b];
  return [n / a, d / a];
};

/** Recursive descent over + - * / ( ) and integers; returns the value and the numbers used. */
function evaluate(src: string): { value: Q; used: number[] } {
  const toks = src.match(/\d+|[-+*/()]/g)!;
  assert.equal(toks.join(''), src.replace(/\s+/g, ''), `unexpected characters in ${src}`);
  let i = 0;
  const used: number[] = [];
  const atom = (): Q => {
    const t = toks[i++]!;
    if (t === '(') {
      const v = sum();
      assert.equal(toks[i++], ')');
      return v;
    }
    assert.match(t, /^\d+$/);
    used.push(Number(t));
    return [BigInt(t), 1n];
  };
  const product = (): Q => {
    let v = atom();
    while (toks[i] === '*' || toks[i] === '/') {
      const op = toks[i++];
      const w = atom();
      v = op === '*' ? norm([v[0] * w[0], v[1] * w[1]]) : norm([v[0] * w[1], v[1] * w[0]]);
    }
    return v;
  };
  const sum = (): Q => {
    let v = product();
    while (toks[i] === '+' || toks[i] === '-') {
      const op = toks[i++];
      const w = product();
      v = norm([op === '+' ? v[0] * w[1] + w[0] * v[1] : v[0] * w[1] - w[0] * v[1], v[1] * w[1]]);
    }
    return v;
  };
  const value = sum();
  assert.equal(i, toks.length);
  return { value, used };
}

test('countdown: every teacher equation uses each number once and equals the target exactly', async () => {
  const dir = await tmp();
  for (const knobs of [{}, { count: 3 }, { count: 6, 'num-max': 20, 'target-min': 100, 'target-max': 500 }, { ops: '+-*', count: 5 }, { fractions: true, count: 4 }, { count: 3, style: 'compact' }, { count: 3, style: 'compact', 'format-hint': false }]) {
    const { examples } = await generateExamples('countdown', { n: 150, seed: 9, outDir: dir, knobs });
    for (const ex of examples) {
      const gt = ex.rft.ground_truth as { numbers: number[]; target: number };
      const answer = /<answer>(.*)<\/answer>$/.exec(ex.sft.messages.at(-1)!.content!)![1]!;
      const { value, used } = evaluate(answer);
      assert.deepEqual(value, [BigInt(gt.target), 1n], `${answer} != ${gt.target}`);
      assert.deepEqual([...used].sort((a, b) => a - b), [...gt.numbers].sort((a, b) => a - b));
      const k = knobs as Record<string, number | string | boolean>;
      assert.equal(gt.numbers.length, (k['count'] as number) ?? 4);
      assert.ok(gt.target >= ((k['target-min'] as number) ?? 1) && gt.target <= ((k['target-max'] as number) ?? 100));
      if (k['ops'] === '+-*') assert.doesNotMatch(answer, /\//);
      if (k['style'] === 'compact') {
        const hint = k['format-hint'] === false ? '' : ' Answer in <think></think><answer></answer>.';
        assert.equal(ex.rft.messages[0]!.content!, `Make ${gt.target} from ${gt.numbers.join(' ')}.${hint}`);
        assert.doesNotMatch(answer, / /, 'compact equations have no spaces');
      } else assert.match(ex.rft.messages[0]!.content!, new RegExp(`\\[${gt.numbers.join(', ')}\\].*equals ${gt.target}\\.`));
    }
  }
});

// ---- word problems: answers recomputed from the stated numbers with plain formulas ----

const RECOMPUTE: Record<string, (p: Record<string, number>) => number> = {
  'discount-price': (p) => p.price! * (1 - p.discount! / 100),
  'discount-original': (p) => p.final! / (1 - p.discount! / 100),
  'discount-rate': (p) => ((p.price! - p.final!) / p.price!) * 100,
  'percent-of': (p) => (p.percent! / 100) * p.whole!,
  'percent-whole': (p) => p.part! / (p.percent! / 100),
  'percent-ratio': (p) => (p.part! / p.whole!) * 100,
  'markup-price': (p) => p.price! * (1 + p.tax! / 100),
  'markup-base': (p) => p.total! / (1 + p.tax! / 100),
  'discount-then-tax': (p) => p.price! * (1 - p.discount! / 100) * (1 + p.tax! / 100),
  'two-discounts-original': (p) => p.final! / (1 - p.discount1! / 100) / (1 - p.discount2! / 100),
  speed: (p) => p.distance! / p.hours!,
  'travel-time': (p) => p.distance! / p.speed!,
  'average-speed-two-legs': (p) => (p.d1! + p.d2!) / (p.d1! / p.s1! + p.d2! / p.s2!),
  'unit-price': (p) => p.total! / p.count!,
  'unit-total': (p) => p.unit! * p.count!,
  'unit-compare': (p) => p.p1! / p.n1! - p.p2! / p.n2!,
  'bulk-discount-tax': (p) => p.count! * p.unit! * (1 - p.discount! / 100) * (1 + p.tax! / 100),
  'work-output': (p) => p.rate! * p.hours!,
  'work-hours': (p) => p.total! / p.rate!,
  'work-two-machines': (p) => p.total! / (p.r1! + p.r2!),
};

test('word problems: answers match an independent recomputation and the stated numbers appear in the question', async () => {
  const dir = await tmp();
  const { examples } = await generateExamples('word-problems', { n: 400, seed: 2, outDir: dir, knobs: { difficulty: '1-3' } });
  const seen = new Set<string>();
  for (const ex of examples) {
    const row = ex.rft as Row & { template: string; params: Record<string, number> };
    seen.add(row.template);
    const expected = RECOMPUTE[row.template]!(row.params);
    const got = Number(row.ground_truth);
    assert.ok(Math.abs(got - expected) < 1e-9 * Math.max(1, Math.abs(expected)), `${row.template}: ${got} vs ${expected}`);
    assert.match(row.ground_truth as string, /^\d+(\.\d{1,2})?$/);
    const question = row.messages[1]!.content!;
    for (const v of Object.values(row.params)) assert.ok(question.includes(String(v)), `${question} lacks ${v}`);
    const teacher = ex.sft.messages.at(-1)!.content!;
    assert.match(teacher, /^\[WORK\][\s\S]+\[\/WORK\]\[RESULT\](.+)\[\/RESULT\]$/);
    assert.equal(/\[RESULT\](.+)\[\/RESULT\]/.exec(teacher)![1], row.ground_truth);
  }
  assert.deepEqual([...seen].sort(), Object.keys(RECOMPUTE).sort(), 'every template is exercised');
  const hard = await generateExamples('word-problems', { n: 50, seed: 2, outDir: dir, knobs: { difficulty: '3', templates: 'unit-price,rate' } });
  for (const ex of hard.examples) assert.ok(['unit-compare', 'bulk-discount-tax', 'average-speed-two-legs'].includes(ex.rft.template as string));
});

test('sql: the database has the four tables and every gold query runs and returns rows', async () => {
  const dir = await tmp();
  const r = await generateTask('sql', { n: 150, seed: 4, outDir: dir });
  assert.deepEqual(r.files, [join(dir, 'shop.sqlite')]);
  const db = new Database(r.files[0]!, { readonly: true });
  try {
    const count = (t: string) => db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number;
    assert.equal(count('customers'), 60);
    assert.equal(count('products'), 40);
    assert.equal(count('orders'), 180);
    assert.ok(count('order_items') >= 180);
    assert.equal(db.prepare('SELECT COUNT(*) FROM order_items oi LEFT JOIN orders o ON o.id = oi.order_id WHERE o.id IS NULL').pluck().get(), 0);
    const rows = await readJsonl<Row & { database: string; level: string }>(r.rftPath);
    const sft = await readJsonl<Row>(r.sftPath);
    const levels = new Set<string>();
    rows.forEach((row, i) => {
      assert.equal(row.database, 'shop.sqlite', 'written relative to the dataset file beside it');
      levels.add(row.level);
      const gold = (row.ground_truth as { sql: string }).sql;
      const result = db.prepare(gold).raw().all() as unknown[][];
      assert.ok(result.length > 0 && result.some((x) => x.some((v) => v !== null)), `empty result for ${gold}`);
      assert.equal(sft[i]!.messages.at(-1)!.content, '```sql\n' + gold + '\n```');
    });
    assert.deepEqual([...levels].sort(), ['easy', 'hard', 'medium']);
  } finally {
    db.close();
  }
  const easy = await generateExamples('sql', { n: 20, seed: 4, outDir: dir, knobs: { levels: 'easy' } });
  assert.ok(easy.examples.every((e) => e.rft.level === 'easy'));
});

test('extraction: every gold fact is stated in the description; the teacher answer is the gold JSON', async () => {
  const dir = await tmp();
  const plain = await generateExamples('extraction', { n: 100, seed: 8, outDir: dir, knobs: { distractors: 0 } });
  const noisy = await generateExamples('extraction', { n: 100, seed: 8, outDir: dir, knobs: { distractors: 3 } });
  for (const ex of [...plain.examples, ...noisy.examples]) {
    const gt = ex.rft.ground_truth as Record<string, unknown>;
    assert.deepEqual(Object.keys(gt), ['company_name', 'founding_year', 'address', 'business_areas', 'revenue', 'ceo', 'phone', 'email']);
    assert.ok(Number.isInteger(gt.founding_year));
    const text = ex.rft.messages[0]!.content!;
    for (const v of Object.values(gt)) for (const s of Array.isArray(v) ? v : [v]) assert.ok(text.includes(String(s)), `missing ${s}`);
    assert.deepEqual(JSON.parse(ex.sft.messages.at(-1)!.content!), gt);
  }
  const len = (xs: typeof plain.examples) => xs.reduce((a, e) => a + e.rft.messages[0]!.content!.length, 0);
  assert.ok(len(noisy.examples) > len(plain.examples));
});

test('bad knobs and impossible requests are RangeErrors that name the knob', async () => {
  const dir = await tmp();
  const gen = (task: string, knobs: Record<string, unknown>, n = 5) => generateExamples(task, { n, seed: 1, outDir: dir, knobs });
  await assert.rejects(gen('countdown', { levels: 'easy' }), /countdown" has no knob --levels/);
  await assert.rejects(gen('countdown', { count: 'x' }), /--count must be a whole number/);
  await assert.rejects(gen('countdown', { ops: '+^' }), /--ops/);
  await assert.rejects(gen('countdown', { 'target-min': 50, 'target-max': 10 }), /--target-min/);
  await assert.rejects(gen('countdown', { 'format-hint': false }), /--format-hint false applies to --style compact/);
  await assert.rejects(gen('word-problems', { templates: 'astrology' }), /unknown --templates astrology/);
  await assert.rejects(gen('word-problems', { difficulty: '3', templates: 'percent' }), /no word-problem template has 3 steps/);
  await assert.rejects(gen('sql', { levels: 'expert' }), /--levels/);
  await assert.rejects(gen('extraction', { distractors: 9 }), /--distractors/);
  await assert.rejects(gen('nope', {}), /unknown task "nope"/);
  await assert.rejects(gen('countdown', { count: 2, 'num-max': 3, 'target-max': 6, ops: '+' }, 50), /found only \d+ distinct countdown prompts/);
});
