import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlError, parseJsonlText, readJsonl, readJsonlRecords, writeJsonl, type JsonlRecord } from './jsonl.js';

async function collect(path: string): Promise<JsonlRecord[]> {
  const out: JsonlRecord[] = [];
  for await (const r of readJsonlRecords(path)) out.push(r);
  return out;
}

test('the reader strips a BOM and CRLF, skips blank lines and keeps true line numbers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-jsonl-'));
  const file = join(dir, 'a.jsonl');
  await writeFile(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\r\n\r\n  \n{"a":"é"}\r\n{bad\n{"a":3}')]));
  const recs = await collect(file);
  assert.deepEqual(recs.map((r) => r.line), [1, 4, 5, 6]);
  assert.deepEqual(recs[0]!.value, { a: 1 });
  assert.deepEqual(recs[1]!.value, { a: 'é' });
  assert.equal(recs[1]!.bytes, Buffer.byteLength('{"a":"é"}'));
  assert.match(recs[2]!.error!, /bad JSON/);
  assert.deepEqual(recs[3]!.value, { a: 3 }); // last line without a newline
  await writeFile(file, Buffer.concat([Buffer.from('{"a":1}\n{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
  const latin = await collect(file);
  assert.deepEqual(latin[0]!.value, { a: 1 });
  assert.equal(latin[1]!.error, 'invalid UTF-8: the file must be UTF-8 encoded');
  assert.deepEqual([...parseJsonlText('\ufeff{"a":1}\r\n\r\n  \n{"a":"é"}\r\n{bad\n{"a":3}')].map((r) => r.line), [1, 4, 5, 6]);
});

test('lines that straddle read chunks (64 KiB) are reassembled exactly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-jsonl-'));
  const file = join(dir, 'big.jsonl');
  // Rows of varying size up to ~150 KB, so some lines span several chunks.
  const rows = Array.from({ length: 40 }, (_, i) => ({ i, text: 'x€'.repeat((i * 7919) % 50000) }));
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const back = await readJsonl<{ i: number; text: string }>(file);
  assert.equal(back.length, rows.length);
  back.forEach((r, i) => assert.deepEqual(r, rows[i]));
});

test('readJsonl throws JsonlError naming file and line of the first bad line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-jsonl-'));
  const file = join(dir, 'bad.jsonl');
  await writeFile(file, '{"a":1}\n\n{"a":\n');
  await assert.rejects(readJsonl(file), (e: unknown) => e instanceof JsonlError && e.line === 3 && e.message.startsWith(`${file}:3:`));
});

test('writeJsonl round-trips, replaces atomically and leaves no temp file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rft-jsonl-'));
  const file = join(dir, 'out.jsonl');
  await writeFile(file, 'old content\n');
  const rows = [{ a: 1 }, { b: 'line\nbreak' }, [1, 2], 'str'];
  async function* gen() {
    yield* rows;
  }
  assert.equal(await writeJsonl(file, gen()), 4);
  assert.equal(await readFile(file, 'utf8'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  assert.deepEqual(await readJsonl(file), rows);
  assert.deepEqual(await readdir(dir), ['out.jsonl']);
  // A failure while writing keeps the old file and removes the temp file.
  await assert.rejects(writeJsonl(file, [{ ok: 1 }, undefined]), /cannot write/);
  assert.deepEqual(await readJsonl(file), rows);
  assert.deepEqual(await readdir(dir), ['out.jsonl']);
  // Missing directories are created.
  assert.equal(await writeJsonl(join(dir, 'a', 'b', 'c.jsonl'), [{ x: 1 }]), 1);
  assert.deepEqual(await readJsonl(join(dir, 'a', 'b', 'c.jsonl')), [{ x: 1 }]);
});
