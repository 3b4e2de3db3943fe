/** OpenAI error objects: `{ error: { message, type, param, code } }` with the HTTP status that goes with them. */

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'conflict_error' | 'not_found_error' | 'rate_limit_error' | 'server_error' | 'service_unavailable';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    /** The offending request parameter (e.g. "messages[2].role"), or null. */
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds, sent as Retry-After (429 / 503). */
    readonly retryAfter?: number,
    /** Every problem of a refused body, each with its JSON path (or a dataset line). */
    readonly details?: { path: string; message: string }[],
  ) {
    super(message);
  }

  toJSON(): { error: { message: string; type: string; param: string | null; code: string | null; details?: { path: string; message: string }[] } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = 'invalid_value') => new ApiError(400, message, 'invalid_request_error', param, code);
export const notFound = (message: string, param: string | null = null, code: string | null = 'not_found') => new ApiError(404, message, 'not_found_error', param, code);
