import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareValues, jsonFieldsEvaluator } from './json-fields.js';
import { rollout } from '../test-helpers.js';

const truth = {
  company_name: 'Acme Widgets GmbH',
  founding_year: 1987,
  address: '12 Hauptstrasse, 10115 Berlin, Germany',
  business_areas: ['industrial widgets', 'logistics software'],
  revenue: '$12.5M',
  ceo: 'Maria Schmidt',
  phone: '+49 30 1234567',
  email: 'info@acme-widgets.de',
};
const schema = {
  type: 'object',
  required: ['company_name', 'founding_year'],
  properties: { company_name: { type: 'string' }, founding_year: { type: 'integer' }, business_areas: { type: 'array', items: { type: 'string' } } },
};

test('the exact JSON scores 1, fenced and with prose around it', async () => {
  const ev = jsonFieldsEvaluator({ schema });
  const text = JSON.stringify(truth);
  assert.equal((await ev.evaluate(rollout(text, truth))).score, 1);
  const fenced = await ev.evaluate(rollout(`Here you go:\n\`\`\`json\n${text}\n\`\`\`\nAnything else?`, truth));
  assert.equal(fenced.score, 1);
  assert.match(fenced.metrics!.json_found!.reason!, /text around it/);
  assert.equal((await ev.evaluate(rollout(`The data is ${text} — hope that helps {`, truth))).score, 1);
});

test('near-miss strings get fuzzy credit, numbers exact, arrays by set F1', async () => {
  const ev = jsonFieldsEvaluator();
  const got = { ...truth, company_name: 'ACME Widgets', founding_year: 1988, business_areas: ['Logistics software'], revenue: 12500000, ceo: 'Schmidt, Maria' };
  const r = await ev.evaluate(rollout(JSON.stringify(got), truth));
  const m = r.metrics!;
  assert.ok(m['field.company_name']!.score > 0.6 && m['field.company_name']!.score < 1);
  assert.equal(m['field.founding_year']!.score, 0);
  assert.equal(m['field.business_areas']!.score, 0.6667); // P = 1, R = 1/2 → F1 2/3
  assert.equal(m['field.revenue']!.score, 1); // "$12.5M" = 12,500,000
  assert.equal(m['field.ceo']!.score, 1); // word order ignored
  assert.ok(r.score > 0.6 && r.score < 0.95, String(r.score));
  assert.equal(m.completeness!.score, 1);
});

test('missing fields lower completeness and score; no JSON scores 0', async () => {
  const ev = jsonFieldsEvaluator();
  const r = await ev.evaluate(rollout(JSON.stringify({ company_name: truth.company_name, founding_year: 1987 }), truth));
  assert.equal(r.metrics!.completeness!.score, 0.25);
  assert.equal(r.score, 0.25);
  const none = await ev.evaluate(rollout('I could not find anything.', truth));
  assert.equal(none.score, 0);
  assert.equal(none.metrics!.json_found!.score, 0);
  assert.equal(none.valid, true);
});

test('a schema violation costs the schema tenth and is named', async () => {
  const ev = jsonFieldsEvaluator({ schema });
  const r = await ev.evaluate(rollout(JSON.stringify({ ...truth, founding_year: '1987' }), truth));
  assert.equal(r.metrics!.schema_valid!.score, 0);
  assert.match(r.metrics!.schema_valid!.reason!, /founding_year/);
  // founding_year "1987" still reads as the number 1987 → fields all match: 0.9 × 1
  assert.equal(r.score, 0.9);
});

test('compareValues rules', () => {
  assert.equal(compareValues(3, '3', 0.5), 1);
  assert.equal(compareValues(true, true, 0.5), 1);
  assert.equal(compareValues(null, 0, 0.5), 0);
  assert.equal(compareValues('abc', 'zzz', 0.5), 0); // below min_similarity
  assert.equal(compareValues({ a: 1, b: 'x' }, { a: 1, b: 'x', c: 3 }, 0.5), 1); // extra keys ignored
  assert.equal(compareValues([], [], 0.5), 1);
  assert.equal(compareValues(['a'], 'a', 0.5), 0);
});

test('only own fields of the JSON count: inherited names (__proto__, constructor, toString) give no credit', async () => {
  const expected = JSON.parse('{"__proto__": {}, "constructor": {}, "toString": {}, "name": "Acme"}') as Record<string, unknown>;
  const ev = jsonFieldsEvaluator();
  // an empty object inherits all three names; none of them is a field it gave
  const empty = await ev.evaluate(rollout('{}', expected));
  assert.equal(empty.score, 0, empty.reason);
  assert.equal(empty.metrics!.completeness!.score, 0);
  // nested objects too
  const nested = await ev.evaluate(rollout('{"a": {}}', { a: JSON.parse('{"__proto__": {}}') }));
  assert.equal(nested.score, 0, nested.reason);
  // the same keys given as the model's own fields do count
  const own = await ev.evaluate(rollout('{"__proto__": {}, "constructor": {}, "toString": {}, "name": "Acme"}', expected));
  assert.equal(own.score, 1, own.reason);
});
