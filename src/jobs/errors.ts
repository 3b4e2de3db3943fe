/**
 * Errors of the jobs layer, with the HTTP status the server answers them with, so the store and
 * the runner can refuse things (unknown id, wrong state, bad upload) without knowing HTTP.
 */
import type { SpecIssue } from './spec.js';

export type JobsErrorCode = 'not_found' | 'already_exists' | 'failed_precondition' | 'invalid_argument' | 'too_large' | 'storage_error';

const STATUS: Record<JobsErrorCode, number> = { not_found: 404, already_exists: 409, failed_precondition: 409, invalid_argument: 400, too_large: 413, storage_error: 507 };

export class JobsError extends Error {
  readonly status: number;
  constructor(readonly code: JobsErrorCode, message: string, readonly param: string | null = null, readonly issues?: SpecIssue[]) {
    super(message);
    this.status = STATUS[code];
  }
}

export const notFound = (what: string, name: string) => new JobsError('not_found', `${what} "${name}" does not exist`, 'name');
