import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

test('the README option tables are the ones generated from the config fields (run `npm run docs` after changing options)', async () => {
  const { renderReadme } = await import(new URL('scripts/docs.mjs', `file://${root}`).href);
  const readme = readFileSync(`${root}README.md`, 'utf8');
  assert.equal(renderReadme(readme), readme);
});
