import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractAnswer, lastBoxed } from './extract.js';
import { locateJson } from './json-locate.js';
import { findNumbers, lastNumber, parseNumber, sameQuantity } from './numbers.js';
import { bleu, gleu, levenshtein, levenshteinRatio, rougeL, rougeN, tokenSetRatio } from './similarity.js';

test('parseNumber reads the forms people write', () => {
  const cases: [string, number, boolean?][] = [
    ['1,234.5', 1234.5], ['$150', 150], ['25%', 25, true], ['3/4', 0.75], ['1 1/2', 1.5], ['1.5e3', 1500],
    ['\u22122', -2], ['-7', -7], ['12 km/h', 12], ['$1.2M', 1.2e6], ['3 billion', 3e9], ['5k', 5000], ['.5', 0.5],
    ['150 dollars', 150], ['€ 99.90', 99.9], ['１２', 12],
  ];
  for (const [text, value, percent] of cases) {
    const p = parseNumber(text);
    assert.ok(p, text);
    assert.ok(Math.abs(p.value - value) < 1e-9, `${text} → ${p.value}`);
    assert.equal(p.percent, percent ?? false, text);
  }
});

test('parseNumber refuses text that is not one number', () => {
  for (const t of ['about 12', 'twelve', '3 4', '', '1/0', 'x5']) assert.equal(parseNumber(t), undefined, t);
});

test('lastNumber and findNumbers scan prose', () => {
  assert.deepEqual(findNumbers('from 3 to 4.5, i.e. 50%').map((n) => n.value), [3, 4.5, 50]);
  assert.equal(lastNumber('so the price was $200.')?.value, 200);
  assert.equal(lastNumber('no digits'), undefined);
  // "5 m" is five metres, not five million
  assert.equal(parseNumber('5 m')?.value, 5);
});

test('percent and fraction forms of the same quantity are equal', () => {
  assert.ok(sameQuantity(parseNumber('25%')!, parseNumber('0.25')!));
  assert.ok(sameQuantity(parseNumber('25%')!, parseNumber('25')!));
  assert.ok(!sameQuantity(parseNumber('26%')!, parseNumber('0.25')!));
  assert.ok(sameQuantity(parseNumber('0.1')!, { value: 0.1 + 1e-9, percent: false, text: '' }));
});

test('extractAnswer modes', () => {
  const t = '<think>a</think><answer> 42 </answer> [RESULT]7[/RESULT] \\boxed{\\frac{1}{2}}';
  assert.equal(extractAnswer(t, 'answer'), '42');
  assert.equal(extractAnswer(t, 'result'), '7');
  assert.equal(extractAnswer(t, 'boxed'), '\\frac{1}{2}');
  assert.equal(extractAnswer(t, 'auto'), '42');
  assert.equal(extractAnswer('x [RESULT]7[/RESULT]', 'auto'), '7');
  assert.equal(extractAnswer('plain', 'auto'), 'plain');
  assert.equal(extractAnswer('a <b>1</b> <b>2</b>', { tag: 'b' }), '2');
  assert.equal(extractAnswer('Answer: 12\nAnswer: 13', { regex: 'Answer: (\\d+)' }), '13');
  assert.equal(lastBoxed('\\boxed{unclosed'), undefined);
});

test('levenshtein against hand-computed distances', () => {
  assert.equal(levenshtein('kitten', 'sitting'), 3);
  assert.equal(levenshtein('', 'abc'), 3);
  assert.equal(levenshtein('flaw', 'lawn'), 2);
  assert.equal(levenshteinRatio('abcd', 'abcd'), 1);
  assert.equal(levenshteinRatio('kitten', 'sitting'), 1 - 3 / 7);
});

test('tokenSetRatio ignores word order and duplicates', () => {
  assert.equal(tokenSetRatio('Acme Widgets Inc', 'inc acme widgets'), 1);
  assert.equal(tokenSetRatio('new york new york', 'new york'), 1);
  assert.ok(tokenSetRatio('apple pie', 'quantum physics') < 0.5);
});

test('rouge and bleu against hand computations', () => {
  // candidate "the cat sat", reference "the cat sat down": unigram overlap 3, P = 1, R = 3/4 → F = 6/7
  assert.ok(Math.abs(rougeN('the cat sat', 'the cat sat down', 1) - 6 / 7) < 1e-12);
  // bigrams: c {the cat, cat sat}, r {the cat, cat sat, sat down}: P = 1, R = 2/3 → F = 0.8
  assert.ok(Math.abs(rougeN('the cat sat', 'the cat sat down', 2) - 0.8) < 1e-12);
  // LCS of "a b c d" and "a c d e" is 3 → P = R = 3/4
  assert.ok(Math.abs(rougeL('a b c d', 'a c d e') - 0.75) < 1e-12);
  assert.equal(bleu('the quick brown fox jumps', 'the quick brown fox jumps'), 1);
  assert.equal(bleu('zebra', 'the quick brown fox'), 0);
  // gleu: c = r minus last word, 4 words vs 5: matches 4+3+2+1 = 10, c n-grams 10, r n-grams 14
  assert.ok(Math.abs(gleu('a b c d', 'a b c d e') - 10 / 14) < 1e-12);
});

test('locateJson finds JSON in fences, whole text and prose', () => {
  assert.deepEqual(locateJson('Here:\n```json\n{"a": 1}\n```\nDone.'), { value: { a: 1 }, source: 'fence', extraText: true });
  assert.deepEqual(locateJson(' {"a": [1, 2]} '), { value: { a: [1, 2] }, source: 'whole', extraText: false });
  const emb = locateJson('The result is {"s": "a } b", "n": {"x": 2}} as requested {not json}');
  assert.deepEqual(emb?.value, { s: 'a } b', n: { x: 2 } });
  assert.equal(locateJson('no json {here'), undefined);
});
