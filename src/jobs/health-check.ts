// One probe of a service's health URL: a 2xx answer within the timeout is healthy; any other
// status, a timeout or a connection error is unhealthy, with the reason in plain words.
import { fetchFailure } from '../errors.js';

export type HealthResult = { healthy: true } | { healthy: false; reason: string };

export interface ProbeOptions {
  /** Give up on an answer after this long (default 5s). */
  timeoutMs?: number;
  /** Tests may pass their own; the built-in fetch otherwise. */
  fetch?: typeof fetch;
}

export async function probeHealth(url: string, options: ProbeOptions = {}): Promise<HealthResult> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    // The body is not needed; release the connection.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { healthy: true };
    return { healthy: false, reason: `${url} answered HTTP ${response.status}` };
  } catch (error) {
    return { healthy: false, reason: fetchFailure(url, error, timeoutMs) };
  }
}
