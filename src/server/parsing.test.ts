import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonPrefix } from './json-prefix.js';
import { TextStream } from './text-stream.js';
import type { ModelTokenizer } from '../model/tokenizer.js';

const VALID = ['{}', ' { "a" : [1, -2.5e+3, true, null, {"b": "x\\u00e9\\n"}] } ', '{"k":0.5,"l":[]}', '{"s":"\\"q\\""}'];
const INVALID = ['[1]', '{a}', '{"a" 1}', '{"a":01}', '{"a":tru}', '{"a":1,}', '{"a":"\u0001"}', '{}}', '{"a":-}', '{"a":1.}'];

test('JsonPrefix accepts every prefix of valid JSON objects and knows when they are complete', () => {
  for (const text of VALID) {
    const j = new JsonPrefix();
    for (let i = 0; i < text.length; i++) {
      assert.ok(j.push(text[i]!), `${JSON.stringify(text)} at ${i}`);
      // Independent oracle: the prefix plus the closing suffix is valid JSON.
      assert.doesNotThrow(() => JSON.parse(text.slice(0, i + 1) + j.closingSuffix()), `${text.slice(0, i + 1)} + ${j.closingSuffix()}`);
    }
    assert.ok(j.complete, text);
    assert.equal(j.closingSuffix(), '');
  }
});

test('JsonPrefix rejects text that cannot become a JSON object', () => {
  for (const text of INVALID) {
    const j = new JsonPrefix();
    const accepted = j.push(text);
    // Either some character is refused, or the text is accepted but incomplete ('{"a":1.' style) — never complete and invalid.
    assert.ok(!accepted || !j.complete || (() => { try { JSON.parse(text); return true; } catch { return false; } })(), text);
    if (accepted && j.complete) assert.fail(`${text} accepted as complete`);
  }
});

test('closing suffixes complete every kind of open state', () => {
  for (const prefix of ['{', '{"', '{"ke', '{"key"', '{"key":', '{"key": "va', '{"k":"\\', '{"k":"\\u00', '{"k":-', '{"k":1.', '{"k":1e', '{"k":tr', '{"k":[1,', '{"k":[{"a":', '{"k":1,']) {
    const j = new JsonPrefix();
    assert.ok(j.push(prefix), prefix);
    const v = JSON.parse(prefix + j.closingSuffix());
    assert.equal(typeof v, 'object', prefix);
  }
});

test('TextStream holds back possible stop-string starts and never sends text past a stop', () => {
  // A tokenizer where token i is the i-th character of the alphabet.
  const alpha = 'abcdefghijklmnopqrstuvwxyz ';
  const tok = { size: alpha.length, decode: (ids: readonly number[]) => ids.map((i) => alpha[i]).join('') } as unknown as ModelTokenizer;
  const ids = (s: string) => [...s].map((c) => alpha.indexOf(c));
  const ts = new TextStream(tok, ['cat']);
  const out: string[] = [];
  const text = 'the ca dog cat sat';
  for (let i = 1; i <= text.length && ts.stopped === null; i++) out.push(ts.update(ids(text.slice(0, i))));
  assert.equal(ts.stopped, 'the ca dog ');
  assert.equal(out.join(''), 'the ca dog ');
  assert.deepEqual(out.slice(0, 6), ['t', 'h', 'e', ' ', '', '']); // "c", "ca" held back
  const ts2 = new TextStream(tok, ['xyz']);
  assert.equal(ts2.update(ids('abx')), 'ab');
  assert.equal(ts2.finish(ids('abx')), 'x');
});
