/**
 * Row fields that name a file (the SQL task's `database`). In a dataset file a relative path is
 * relative to that file's directory, so a dataset works from any working directory and moves with
 * its files; readers make such paths absolute, writers make them relative to the file they write.
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';

export const ROW_PATH_FIELDS = ['database'] as const;

function mapPaths<T>(row: T, f: (p: string) => string): T {
  if (!row || typeof row !== 'object' || Array.isArray(row)) return row;
  const r = row as Record<string, unknown>;
  if (!ROW_PATH_FIELDS.some((k) => typeof r[k] === 'string')) return row;
  const out = { ...r };
  for (const k of ROW_PATH_FIELDS) if (typeof out[k] === 'string' && out[k] !== '') out[k] = f(out[k] as string);
  return out as T;
}

/** The rows of `datasetFile` with their relative path fields resolved against its directory. */
export function resolveRowPaths<T>(rows: T[], datasetFile: string): T[] {
  const dir = dirname(resolve(datasetFile));
  return rows.map((row) => mapPaths(row, (p) => resolve(dir, p)));
}

/** A row about to be written to `file`: path fields relative to its directory (after resolving them against `fromDir`). */
export function rowPathsFor<T>(row: T, file: string, fromDir = process.cwd()): T {
  const dir = dirname(resolve(file));
  return mapPaths(row, (p) => relative(dir, resolve(fromDir, p)) || '.');
}

/** A row read from `fromFile` and written to `toFile`: its relative path fields still name the same files. */
export function rebaseRowPaths<T>(row: T, fromFile: string, toFile: string): T {
  return mapPaths(row, (p) => (isAbsolute(p) ? p : relative(dirname(resolve(toFile)), resolve(dirname(resolve(fromFile)), p)) || '.'));
}
