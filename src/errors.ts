// The one error type of firelane: a code the router maps to a reply and the jobs to "retry or not",
// plain words for people, and, from an adapter, the vendor's own reason (`pull_exists`,
// `name_taken`) for the few places that decide on it.
export type ErrorCode = 'invalid_input' | 'forbidden' | 'not_found' | 'conflict' | 'upstream';

export interface ErrorDetails {
  /** The correct form of the command, shown under the message. */
  usage?: string;
  /** The vendor's reason within the code (GitHub: `exists`, `pull_exists`…; Slack: `name_taken`…). */
  reason?: string;
  /** The HTTP status the vendor answered, if any. */
  status?: number;
  /** The vendor asked to wait this long (rate limits): the job's next try is no sooner. */
  retryAfterMs?: number;
}

export class FirelaneError extends Error {
  readonly usage?: string;
  readonly reason?: string;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    details: string | ErrorDetails = {},
  ) {
    super(message);
    this.name = 'FirelaneError';
    const d = typeof details === 'string' ? { usage: details } : details;
    if (d.usage !== undefined) this.usage = d.usage;
    if (d.reason !== undefined) this.reason = d.reason;
    if (d.status !== undefined) this.status = d.status;
    if (d.retryAfterMs !== undefined) this.retryAfterMs = d.retryAfterMs;
  }

  /** Whether trying again can help: the other side was down, slow or busy (every other code is an answer). */
  get retryable(): boolean {
    return this.code === 'upstream';
  }
}

export const invalidInput = (message: string, usage?: string) =>
  new FirelaneError('invalid_input', message, usage === undefined ? {} : { usage });
export const notFound = (message: string, usage?: string) =>
  new FirelaneError('not_found', message, usage === undefined ? {} : { usage });
export const conflict = (message: string) => new FirelaneError('conflict', message);
export const forbidden = (message: string) => new FirelaneError('forbidden', message);

/**
 * Why a fetch of `what` threw, in plain words: it did not answer within `timeoutMs`, or it could not
 * be reached (with the system's code, e.g. ECONNREFUSED, when there is one).
 */
export function fetchFailure(what: string, error: unknown, timeoutMs: number): string {
  const name = (error as { name?: unknown })?.name;
  if (name === 'TimeoutError' || name === 'AbortError')
    return `${what} did not answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)}s` : `${timeoutMs}ms`}`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const detail =
    typeof cause?.code === 'string'
      ? cause.code
      : typeof cause?.message === 'string'
        ? cause.message
        : error instanceof Error
          ? error.message
          : String(error);
  return `${what} could not be reached (${detail})`;
}
