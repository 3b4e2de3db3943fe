/**
 * A minimal ustar writer for downloading a folder of a few regular files (a PEFT adapter:
 * adapter_config.json + adapter_model.safetensors), streamed file by file. Readable by `tar -x`
 * and every tar library; no directories, links or long names (names ≤ 100 bytes).
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

function header(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s, off, len, 'utf8');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
  put(name, 0, 100);
  put(oct(0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(Math.floor(mtime / 1000), 12), 136, 12);
  put('        ', 148, 8); // checksum placeholder: spaces
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** The regular files of a folder (sorted), with their sizes: what `writeTar` will send. */
export function tarEntries(dir: string, prefix: string): { path: string; name: string; size: number; mtime: number }[] {
  return readdirSync(dir)
    .sort()
    .map((f) => ({ f, st: statSync(join(dir, f)) }))
    .filter(({ st }) => st.isFile())
    .map(({ f, st }) => ({ path: join(dir, f), name: `${prefix}/${f}`, size: st.size, mtime: st.mtimeMs }));
}

export function tarSize(entries: { size: number }[]): number {
  return entries.reduce((a, e) => a + 512 + Math.ceil(e.size / 512) * 512, 0) + 1024;
}

/** Writes the entries as a tar stream to `out` (then ends it). */
export async function writeTar(entries: { path: string; name: string; size: number; mtime: number }[], out: Writable): Promise<void> {
  const write = (b: Buffer) => new Promise<void>((resolve, reject) => (out.write(b, (e) => (e ? reject(e) : resolve()))));
  for (const e of entries) {
    await write(header(e.name, e.size, e.mtime));
    for await (const chunk of createReadStream(e.path)) await write(chunk as Buffer);
    const pad = (512 - (e.size % 512)) % 512;
    if (pad) await write(Buffer.alloc(pad));
  }
  await write(Buffer.alloc(1024));
  out.end();
}
