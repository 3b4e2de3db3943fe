import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEvaluator } from '../spec/load.js';
import { SpecError } from '../spec/issues.js';
import { rollout } from '../test-helpers.js';
import { FormulaError, parseFormula } from './formula.js';
import { checkTemplate, renderTemplate, TemplateError } from './template.js';

test('formula: precedence, right-associative power, unary minus, functions', () => {
  const f = (s: string, v: Record<string, number> = {}) => parseFormula(s).evaluate(v);
  assert.equal(f('1 + 2 * 3'), 7);
  assert.equal(f('(1 + 2) * 3'), 9);
  assert.equal(f('2 ^ 3 ^ 2'), 512);
  assert.equal(f('-2 ^ 2'), -4);
  assert.equal(f('min(a, b, 0.5) + max(1, 2) - abs(-1)', { a: 0.25, b: 0.75 }), 1.25);
  assert.equal(f('sqrt(16) + floor(2.7) + ceil(0.2) + round(0.5) + exp(0) + log(1)'), 4 + 2 + 1 + 1 + 1 + 0);
  assert.equal(f('0.2 * fmt + 0.8 * acc', { fmt: 1, acc: 0.5 }), 0.6000000000000001);
  assert.deepEqual([...parseFormula('a*b+a').variables].sort(), ['a', 'b']);
});

test('formula: errors name the problem, no code runs', () => {
  for (const [src, msg] of [
    ['1 +', /ends too early/],
    ['constructor.constructor("x")()', /unexpected/],
    ['eval(1)', /unknown function eval/],
    ['sqrt(1, 2)', /takes 1 argument/],
    ['(1 + 2', /expected "\)"/],
    ['1 2', /after the end/],
    ['a; b', /unexpected ";"/],
  ] as const) {
    assert.throws(() => parseFormula(src), (e: Error) => e instanceof FormulaError && msg.test(e.message), src);
  }
  assert.throws(() => parseFormula('x + 1').evaluate({}), /unknown variable x/);
});

test('templates: item fields, output text and output JSON', () => {
  const r = rollout('The answer: {"city": "Paris", "n": [1, 2]}', { answer: 'Paris' }, { meta: { lang: 'fr' } });
  assert.equal(renderTemplate('{{item.ground_truth.answer}} / {{ item.meta.lang }}', r), 'Paris / fr');
  assert.equal(renderTemplate('{{sample.output_json.city}} {{sample.output_json.n}}', r), 'Paris [1,2]');
  assert.equal(renderTemplate('{{sample.output_text}}', r), r.output);
  assert.throws(() => renderTemplate('{{item.nope}}', r), TemplateError);
  assert.throws(() => renderTemplate('{{sample.output_json.city}}', rollout('no json')), /no JSON/);
  assert.deepEqual(checkTemplate('{{foo.bar}} {{sample.output_tools}}').length, 2);
});

test("templates read own fields only: names every object inherits are not the output's fields", () => {
  const r = rollout('{"city": "Paris"}', { answer: 'Paris' });
  for (const ref of ['sample.output_json.constructor', 'sample.output_json.__proto__', 'sample.output_json.toString', 'item.constructor', 'sample.output_json.city.length']) {
    assert.throws(() => renderTemplate(`{{${ref}}}`, r), TemplateError, ref);
  }
  // the model's own "constructor" field is a field
  assert.equal(renderTemplate('{{sample.output_json.constructor}}', rollout('{"constructor": "x"}')), 'x');
});

test('string_check: eq, ne, like, ilike', async () => {
  const r = rollout('The capital is PARIS', 'paris');
  const check = async (operation: string, reference = '{{item.ground_truth}}') =>
    (await (await loadEvaluator({ type: 'string_check', name: 's', input: '{{sample.output_text}}', reference, operation })).evaluate(r)).score;
  assert.equal(await check('eq'), 0);
  assert.equal(await check('ne'), 1);
  assert.equal(await check('like'), 0);
  assert.equal(await check('ilike'), 1);
  assert.equal(await check('eq', 'The capital is PARIS'), 1);
});

test('text_similarity: metrics and pass_threshold', async () => {
  const r = rollout('the cat sat', 'the cat sat down');
  const sim = async (evaluation_metric: string, extra = {}) =>
    loadEvaluator({ type: 'text_similarity', name: 't', input: '{{sample.output_text}}', reference: '{{item.ground_truth}}', evaluation_metric, ...extra }).then((e) => e.evaluate(r));
  assert.ok(Math.abs((await sim('rouge_1')).score - 6 / 7) < 1e-6);
  assert.ok(Math.abs((await sim('rouge_2')).score - 0.8) < 1e-6);
  const fuzzy = await sim('fuzzy_match', { pass_threshold: 0.9 });
  assert.ok(fuzzy.score > 0.5 && fuzzy.score < 0.9);
  assert.equal(fuzzy.metrics!.passed!.score, 0);
  assert.ok((await sim('bleu')).score > 0 && (await sim('bleu')).score < 1);
  await assert.rejects(sim('meteor'), (e: SpecError) => /meteor.*not supported/.test(e.message));
});

test('multi: calculate_output over named graders, each kept as a metric', async () => {
  const spec = {
    type: 'multi',
    name: 'combo',
    graders: {
      exact: { type: 'string_check', input: '{{sample.output_json.city}}', reference: '{{item.ground_truth.city}}', operation: 'eq' },
      close: { type: 'text_similarity', input: '{{sample.output_json.note}}', reference: '{{item.ground_truth.note}}', evaluation_metric: 'rouge_l' },
    },
    calculate_output: '0.5 * exact + 0.5 * close',
  };
  const ev = await loadEvaluator(spec);
  const r = await ev.evaluate(rollout('{"city": "Paris", "note": "a b c d"}', { city: 'Paris', note: 'a c d e' }));
  assert.equal(r.score, 0.875); // 0.5 × 1 + 0.5 × 0.75
  assert.equal(r.metrics!.exact!.score, 1);
  assert.equal(r.metrics!.close!.score, 0.75);
  // a formula that leaves [0, 1] is reported, not clamped
  const over = await loadEvaluator({ ...spec, calculate_output: 'exact + close' });
  const o = await over.evaluate(rollout('{"city": "Paris", "note": "a b c d"}', { city: 'Paris', note: 'a c d e' }));
  assert.equal(o.valid, false);
  assert.match(o.reason!, /outside \[0, 1\]/);
  // a template that finds nothing makes the result invalid, naming the reference
  const missing = await ev.evaluate(rollout('no json here', { city: 'Paris', note: 'x' }));
  assert.equal(missing.valid, false);
  assert.match(missing.reason!, /grader exact: .*no JSON/);
});

test('grader spec errors are collected with their paths', async () => {
  await assert.rejects(
    loadEvaluator({
      type: 'multi',
      graders: { a: { type: 'string_check', input: '{{sample.output_text}}', operation: 'equals' }, b: { type: 'python', source: 'x' } },
      calculate_output: 'a + c',
    }),
    (e: SpecError) => {
      const paths = e.issues.map((i) => i.path);
      assert.ok(paths.includes('$.graders.a.reference'), paths.join());
      assert.ok(paths.includes('$.graders.a.operation'), paths.join());
      assert.ok(paths.includes('$.graders.b.type'), paths.join());
      assert.ok(paths.includes('$.calculate_output'), paths.join());
      return true;
    },
  );
});
