import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonTextError, lineColumn, parseJsonText } from './json-text.js';

test('a valid document parses exactly as JSON.parse does', () => {
  const text = '{\n  "a": [1, 2.5e3, "x\\u00e9"],\n  "b": {"c": null}\n}';
  assert.deepEqual(parseJsonText(text, 'f.json'), JSON.parse(text));
});

test('a syntax error is reported with the file, line and column where it is', () => {
  const cases: [string, number, number, RegExp][] = [
    ['{\n  "lr": 0.1,\n  "steps": }\n', 3, 12, /value expected/], // the "}" where a value belongs
    ['{"a": 1,}', 1, 9, /property name expected/], // trailing comma: the "}" after it
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /comma expected/],
    ['{"a": 1', 1, 8, /close brace expected/], // cut short: the end of the text
    ['{"a": 1} extra', 1, 10, /end of file expected|invalid symbol/],
    ['// comment\n{}', 1, 1, /invalid comment token|invalid symbol/],
  ];
  for (const [text, line, column, reason] of cases) {
    assert.throws(() => parseJsonText(text, 'cfg.json'), (e: unknown) => {
      assert.ok(e instanceof JsonTextError, String(e));
      assert.deepEqual([e.line, e.column], [line, column], `${JSON.stringify(text)}: ${e.message}`);
      assert.match(e.message, /^cfg\.json: invalid JSON at line \d+, column \d+: /);
      assert.match(e.reason, reason);
      return true;
    });
  }
});

test('lineColumn counts lines and columns from 1', () => {
  assert.deepEqual(lineColumn('ab\ncd\n', 0), { line: 1, column: 1 });
  assert.deepEqual(lineColumn('ab\ncd\n', 4), { line: 2, column: 2 });
  assert.deepEqual(lineColumn('ab\ncd\n', 6), { line: 3, column: 1 });
});
