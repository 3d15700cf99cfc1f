// The one error type of firelane: a code the router maps to a reply, and plain words for people.
export type ErrorCode = 'invalid_input' | 'forbidden' | 'not_found' | 'conflict' | 'upstream';

export class FirelaneError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The correct form of the command, shown under the message. */
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'FirelaneError';
  }
}

export const invalidInput = (message: string, usage?: string) => new FirelaneError('invalid_input', message, usage);
export const notFound = (message: string, usage?: string) => new FirelaneError('not_found', message, usage);
export const conflict = (message: string) => new FirelaneError('conflict', message);
export const forbidden = (message: string) => new FirelaneError('forbidden', message);
