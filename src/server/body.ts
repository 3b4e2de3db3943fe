/**
 * Reading a request's JSON body with a size limit, for every HTTP surface (inference, the rollout
 * gateway, the jobs API): a body over the limit is a 413 (checked against Content-Length first,
 * then while streaming, so a lying client cannot make the server buffer more), malformed JSON
 * or anything but an object a 400 — all in the OpenAI error shape.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest } from './errors.js';

export async function readJsonBody(req: IncomingMessage, maxBody: number, opts: { emptyIsObject?: boolean } = {}): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBody) {
    req.resume();
    throw new ApiError(413, `the request body (${declared} bytes) exceeds the limit of ${maxBody} bytes`, 'invalid_request_error', null, 'request_too_large');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBody) {
      req.resume();
      throw new ApiError(413, `the request body exceeds the limit of ${maxBody} bytes`, 'invalid_request_error', null, 'request_too_large');
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (opts.emptyIsObject && !text.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`, null, 'invalid_json');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest('the request body must be a JSON object', null, 'invalid_json');
  return v as Record<string, unknown>;
}
