/**
 * JSONL I/O. The reader streams (a file of any size is read in 64 KiB chunks, one line held at
 * a time), accepts LF and CRLF line ends and a UTF-8 BOM, skips blank lines, and reports each
 * bad line as data rather than throwing, so validation can list every problem at once.
 * The writer is atomic: it writes a temp file beside the target and renames it into place, so a
 * crash never leaves a half-written dataset under the real name.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** One non-blank line of a JSONL file: its 1-based line number, size, and parsed value or error. */
export type JsonlRecord =
  | { line: number; bytes: number; value: unknown; error?: undefined }
  | { line: number; bytes: number; value?: undefined; error: string };

/** Thrown by `readJsonl` (the strict reader) for the first unparsable line. */
export class JsonlError extends Error {
  constructor(readonly file: string, readonly line: number, readonly detail: string) {
    super(`${file}:${line}: ${detail}`);
  }
}

function parseLine(text: string, line: number, bytes: number): JsonlRecord {
  try {
    return { line, bytes, value: JSON.parse(text) };
  } catch (e) {
    return { line, bytes, error: `bad JSON: ${(e as Error).message}` };
  }
}

/** Splits raw byte lines (without the newline) into records: BOM on line 1, CR before LF, blanks skipped. */
function* lineToRecord(buf: Buffer, line: number): Generator<JsonlRecord> {
  let start = 0;
  let end = buf.length;
  if (line === 1 && end >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
  if (end > start && buf[end - 1] === 0x0d) end--;
  const body = buf.subarray(start, end);
  // Decoding would silently turn bad bytes into U+FFFD: report them instead.
  if (!isUtf8(body)) {
    yield { line, bytes: body.length, error: 'invalid UTF-8: the file must be UTF-8 encoded' };
    return;
  }
  const text = body.toString('utf8');
  if (text.trim() === '') return;
  yield parseLine(text, line, body.length);
}

/** Streams the records of a JSONL file (async), one line in memory at a time. */
export async function* readJsonlRecords(path: string): AsyncGenerator<JsonlRecord> {
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  let pending: Buffer[] = [];
  let line = 1;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a, from); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, nl);
      const buf = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      yield* lineToRecord(buf, line++);
      from = nl + 1;
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
  }
  if (pending.length > 0) yield* lineToRecord(Buffer.concat(pending), line);
}

/** The same records from text already in memory (tests, stdin). */
export function* parseJsonlText(text: string): Generator<JsonlRecord> {
  const buf = Buffer.from(text, 'utf8');
  let line = 1;
  let from = 0;
  for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, from)) {
    yield* lineToRecord(buf.subarray(from, nl), line++);
    from = nl + 1;
  }
  if (from < buf.length) yield* lineToRecord(buf.subarray(from), line);
}

/**
 * Reads every value of a JSONL file, throwing `JsonlError` (file:line: reason) at the first bad
 * line. Use `readJsonlRecords` to collect all problems instead.
 */
export async function readJsonl<T = unknown>(path: string): Promise<T[]> {
  const out: T[] = [];
  for await (const r of readJsonlRecords(path)) {
    if (r.error !== undefined) throw new JsonlError(path, r.line, r.error);
    out.push(r.value as T);
  }
  return out;
}

/** One JSON value per line, LF ends, no trailing spaces: the canonical form rft writes. */
export function toJsonlLine(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) throw new TypeError(`cannot write ${typeof value} as a JSONL line`);
  return s + '\n';
}

/**
 * Writes values as JSONL atomically (temp file in the same directory, fsync, rename), creating
 * the directory if needed. Returns the number of lines written.
 */
export async function writeJsonl(path: string, values: Iterable<unknown> | AsyncIterable<unknown>): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w');
  let n = 0;
  try {
    // Batch lines into ~1 MiB writes: one syscall per row is slow for large datasets.
    let batch: string[] = [];
    let size = 0;
    for await (const v of values as AsyncIterable<unknown>) {
      const s = toJsonlLine(v);
      batch.push(s);
      size += s.length;
      n++;
      if (size >= 1 << 20) {
        await fh.write(batch.join(''));
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) await fh.write(batch.join(''));
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return n;
}
