import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { weightedEvaluator } from '../compose.js';
import { defineEvaluator } from '../define.js';
import { BUILTINS } from '../registry.js';
import { rollout } from '../test-helpers.js';
import { SpecError } from './issues.js';
import { builtinsNeedingOptions, loadEvaluator } from './load.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rft-spec-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const issuesOf = async (spec: unknown): Promise<string[]> => {
  try {
    const ev = await loadEvaluator(spec, { baseDir: dir });
    await ev.close?.();
  } catch (e) {
    if (e instanceof SpecError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
};

test('every built-in loads by name alone, except llm-judge which needs a rubric', async () => {
  for (const name of Object.keys(BUILTINS)) {
    const issues = await issuesOf(name);
    if (name === 'llm-judge') assert.match(issues.join(), /needs options \(rubric\)/);
    else assert.deepEqual(issues, [], name);
  }
});

test('a built-in with options, inline JSON and a .json file behave alike', async () => {
  const spec = { type: 'numeric', rel_tol: 0.01 };
  writeFileSync(join(dir, 'numeric.json'), JSON.stringify(spec));
  for (const s of [spec, JSON.stringify(spec), 'numeric.json', join(dir, 'numeric.json')]) {
    const ev = await loadEvaluator(s, { baseDir: dir });
    assert.equal((await ev.evaluate(rollout('[RESULT]3.14[/RESULT]', '3.1416'))).score, 1, String(s));
  }
});

test('weighted composition: weights normalised, components and their metrics kept', async () => {
  const ev = await loadEvaluator({
    type: 'weighted',
    components: [
      { evaluator: { type: 'format', preset: 'work-result' }, weight: 1 },
      { evaluator: 'numeric', weight: 4, name: 'correct' },
    ],
  });
  const good = await ev.evaluate(rollout('[WORK]150/0.75[/WORK][RESULT]200[/RESULT]', '200'));
  assert.equal(good.score, 1);
  const wrong = await ev.evaluate(rollout('[WORK]x[/WORK][RESULT]201[/RESULT]', '200'));
  assert.equal(wrong.score, 0.2); // format 1 × 1/5 + correct 0 × 4/5
  assert.equal(wrong.metrics!.format!.score, 1);
  assert.equal(wrong.metrics!.correct!.score, 0);
  assert.equal(wrong.metrics!['correct.found']!.score, 1);
  assert.equal(wrong.metrics!['format.strict']!.score, 1);
});

test('an invalid component makes the combination invalid, naming it', async () => {
  const broken = defineEvaluator({ name: 'broken', evaluate: () => { throw new Error('db down'); } });
  const ok = defineEvaluator({ name: 'ok', evaluate: () => ({ score: 1, valid: true }) });
  const r = await weightedEvaluator([{ evaluator: ok, weight: 1 }, { evaluator: broken, weight: 1 }, { evaluator: ok, weight: 1 }]).evaluate(rollout('x'));
  assert.equal(r.valid, false);
  assert.match(r.reason!, /invalid component broken: .*db down/);
  assert.deepEqual(Object.keys(r.metrics!), ['ok', 'broken', 'ok_2']);
});

test('modules load by path or {type: module}, relative to the spec file', async () => {
  mkdirSync(join(dir, 'evals'), { recursive: true });
  writeFileSync(join(dir, 'evals', 'yes.mjs'), `export default { name: 'yes', evaluate: () => ({ score: 1, valid: true }) };`);
  writeFileSync(join(dir, 'evals', 'spec.json'), JSON.stringify({ type: 'weighted', components: [{ evaluator: { type: 'module', path: './yes.mjs' }, weight: 1 }, { evaluator: 'yes.mjs', weight: 1 }] }));
  const ev = await loadEvaluator('evals/spec.json', { baseDir: dir });
  try {
    const r = await ev.evaluate(rollout('x'));
    assert.equal(r.score, 1);
    assert.deepEqual(Object.keys(r.metrics!), ['yes', 'yes_2']);
  } finally {
    await ev.close?.();
  }
});

test('spec errors list every problem with the path of the bad field', async () => {
  const issues = await issuesOf({
    type: 'weighted',
    components: [
      { evaluator: { type: 'numeric', rel_tol: -1, extrct: 'answer' }, weight: 1 },
      { evaluator: { type: 'json-fields', schema: { type: 'nonsense' } }, weight: 'heavy' },
      { evaluator: 'no-such-evaluator', weight: 1 },
      { weight: 1 },
      { evaluator: { type: 'format', regex: '(' }, weight: 1 },
      { evaluator: { type: 'code', tests: [{ args: 1 }] }, weight: 1 },
    ],
  });
  const expectPath = (p: string, re: RegExp) => assert.ok(issues.some((i) => i.startsWith(p + ':') && re.test(i)), `${p} ${re} in:\n${issues.join('\n')}`);
  expectPath('$.components[0].evaluator.rel_tol', /≥ 0/);
  expectPath('$.components[0].evaluator.extrct', /unknown option/);
  expectPath('$.components[1].evaluator.schema', /not a valid JSON Schema/);
  expectPath('$.components[1].weight', /must be a number/);
  expectPath('$.components[2].evaluator', /unknown evaluator "no-such-evaluator"/);
  expectPath('$.components[3].evaluator', /is required/);
  expectPath('$.components[4].evaluator.regex', /not a valid regular expression/);
  expectPath('$.components[5].evaluator.tests', /args/);
});

test('a built-in that needs options, named without them, says which options and how to give them', async () => {
  assert.deepEqual(builtinsNeedingOptions(), { 'llm-judge': ['rubric'] });
  assert.deepEqual(await issuesOf('llm-judge'), [`$: the built-in "llm-judge" needs options (rubric): give it as a JSON object, e.g. '{"type":"llm-judge","rubric":"…"}' (see README "Built-in evaluators")`]);
  // inside a weighted spec too, at its path
  assert.match((await issuesOf({ type: 'weighted', components: [{ evaluator: 'llm-judge', weight: 1 }] })).join(), /\$\.components\[0\]\.evaluator: the built-in "llm-judge" needs options \(rubric\)/);
});

test('top-level spec errors: bad JSON, missing files, unknown types, non-objects', async () => {
  assert.match((await issuesOf('{"type": ')).join(), /\$: inline JSON spec: invalid JSON at line 1, column 9: value expected/);
  const bad = join(mkdtempSync(join(tmpdir(), 'rft-spec-json-')), 'bad.json');
  writeFileSync(bad, '{\n  "type": "numeric",\n  "rel_tol": 0.01,\n}\n');
  assert.match((await issuesOf(bad)).join(), /spec file .*bad\.json: invalid JSON at line 4, column 1: property name expected/);
  assert.match((await issuesOf('missing.json')).join(), /does not exist/);
  assert.match((await issuesOf('missing.ts')).join(), /module .*missing\.ts does not exist/);
  assert.match((await issuesOf({ type: 'python', source: '' })).join(), /python graders are not supported/);
  assert.match((await issuesOf({ kind: 'numeric' })).join(), /\$\.type: is required/);
  assert.match((await issuesOf(42)).join(), /\$: expected an object, got 42/);
  assert.match((await issuesOf({ type: 'weighted', components: [] })).join(), /\$\.components: must be a non-empty array/);
  assert.match((await issuesOf({ type: 'weighted', components: [{ evaluator: 'exact', weight: 0 }] })).join(), /sum to more than 0/);
});
