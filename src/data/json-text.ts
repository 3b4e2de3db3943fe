/**
 * JSON documents (config files, evaluator specs, quickstart plans) parsed with the place of a
 * syntax error: `FILE: invalid JSON at line L, column C: value expected`. Values come from
 * `JSON.parse`; jsonc-parser (strict: no comments, no trailing commas) only locates the error,
 * since V8's messages name a position on some errors and Node versions, and nothing on others.
 */
import { parse as locate, printParseErrorCode, type ParseError } from 'jsonc-parser';

export class JsonTextError extends Error {
  constructor(readonly where: string, readonly line: number, readonly column: number, readonly reason: string) {
    super(`${where}: invalid JSON at line ${line}, column ${column}: ${reason}`);
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/** `JSON.parse(text)`, or a JsonTextError naming `where` and the line and column of the first error. */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const errors: ParseError[] = [];
    locate(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    const offset = first ? first.offset : text.length;
    const reason = first ? printParseErrorCode(first.error).replace(/[A-Z]/g, (c, i: number) => (i ? ' ' : '') + c.toLowerCase()) : (e as Error).message;
    const { line, column } = lineColumn(text, offset);
    throw new JsonTextError(where, line, column, reason);
  }
}
