// Regenerates the README's option tables from the config field tables (src/train/config), so the
// docs cannot drift from the flags: `npm run docs` after `npm run build`. A test checks they are current.
import { readFileSync, writeFileSync } from 'node:fs';
import { markdownTable } from '../dist/src/train/config/fields.js';
import { rftFields } from '../dist/src/train/config/rft.js';
import { sftFields } from '../dist/src/train/config/sft.js';
import { agentFields } from '../dist/src/train/config/agent.js';

export const BLOCKS = { 'options:train': rftFields, 'options:sft': sftFields, 'options:agent': agentFields };

export function renderReadme(text) {
  for (const [name, fields] of Object.entries(BLOCKS)) {
    const re = new RegExp(`(<!-- rft:${name} -->\\n)[\\s\\S]*?(<!-- /rft:${name} -->)`);
    if (!re.test(text)) throw new Error(`README.md lacks the <!-- rft:${name} --> … <!-- /rft:${name} --> block`);
    text = text.replace(re, `$1${markdownTable(fields)}\n$2`);
  }
  return text;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync('README.md', 'utf8');
  writeFileSync('README.md', renderReadme(text));
  console.log('README.md option tables regenerated');
}
