// What a loopback fake's failNext() takes: the next matching request(s) get this error instead of
// being served. Each fake documents how it matches paths and what body it sends by default.
export interface FailureSpec {
  method?: string;
  /** An exact path, or a RegExp (each fake says whether it tests the raw or the decoded path). */
  path?: string | RegExp;
  status: number;
  /** Response body; default: the service's own error shape with a message for the status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail; default 1. */
  times?: number;
}
