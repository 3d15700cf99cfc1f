/**
 * Loopback fake of the Prometheus HTTP API's instant queries (`GET|POST /api/v1/query`), answering
 * as Prometheus does (https://prometheus.io/docs/prometheus/latest/querying/api/, and the server's
 * web/api/v1/api.go): parameters from the URL and, on a form-encoded POST, from the body; `time` as
 * Unix seconds or RFC 3339 (default: now), checked before the query; the envelope
 * `{"status":"success","data":{"resultType","result"}}`, sample values as strings (`"NaN"`,
 * `"+Inf"`), timestamps as Unix seconds; errors as `{"status":"error","errorType","error"}` with
 * 400 (bad_data), 422 (execution), 503 (timeout, canceled, unavailable) or 500 (internal).
 *
 * Each query is scripted (`answer(query, script)`), by a fixed answer or by a function of the
 * evaluation time and of how often it was asked; an unscripted query is an empty vector, as a
 * metric Prometheus never scraped is. Answers may be slow (`delayMs`), and a `token` makes it
 * answer 401 in plain text without `Authorization: Bearer <token>`, as an auth proxy in front would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type PromErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'unavailable' | 'internal';

/** The HTTP status Prometheus answers each error type with (api.go, respondError; 503 per the docs). */
export const ERROR_STATUS: Record<PromErrorType, number> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 503,
  unavailable: 503,
  internal: 500,
};

export interface Series {
  labels?: Record<string, string>;
  value: number;
}

export type Answer = (
  | { vector: Series[] }
  | { scalar: number }
  | { matrix: Array<{ labels?: Record<string, string>; values: number[] }> }
  | { string: string }
  /** Native histograms: vector samples with a `histogram` instead of a `value`. */
  | { histograms: Array<{ labels?: Record<string, string>; count: number; sum: number }> }
  | { error: PromErrorType; message: string }
  /** Something in front of the API answered (a proxy, a load balancer): any status and body. */
  | { status: number; body: string; contentType?: string }
) & {
  /** Answer after this long. */
  delayMs?: number;
  warnings?: string[];
};

/** `time` is the evaluation time in ms; `n` counts the asks of this query, from 1. */
export type Script = Answer | ((asked: { time: number; n: number }) => Answer);

export interface PromRequest {
  method: string;
  path: string;
  contentType?: string;
  authorization?: string;
  /** The parameters as Prometheus reads them (URL first, then a form body). */
  params: Record<string, string>;
  /** The evaluation time (ms) of an instant query that got that far. */
  time?: number;
}

export interface FakePrometheus {
  /** The base URL firelane's config names (with the path prefix, if any). */
  url: string;
  answer(query: string, script: Script): void;
  requests: PromRequest[];
  /** The instant queries asked, in order (requests that reached the API with a query). */
  asked(query?: string): PromRequest[];
  close(): Promise<void>;
}

export interface FakePrometheusOptions {
  /** Serve the API under this path, as Mimir does under `/prometheus` (default none). */
  prefix?: string;
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** The time of a query without `time` (default Date.now). */
  now?: () => number;
}

/** A sample value as Prometheus writes it (Go's shortest form; JS uses exponents at the same sizes). */
export function formatSample(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Object.is(value, -0) ? '-0' : String(value);
}

const sortedLabels = (labels: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** `time` as Prometheus parses it: Unix seconds (with decimals) or RFC 3339; ms, or undefined. */
function parseTime(text: string): number | undefined {
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return Math.round(Number(text) * 1000);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

const DURATION = /^(\d+(ms|[smhdwy]))+$|^\d+(\.\d+)?$/;

export async function startFakePrometheus(options: FakePrometheusOptions = {}): Promise<FakePrometheus> {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const now = options.now ?? Date.now;
  const scripts = new Map<string, Script>();
  const counts = new Map<string, number>();
  const requests: PromRequest[] = [];

  const send = (res: http.ServerResponse, status: number, body: string, contentType = 'application/json') => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const sendError = (res: http.ServerResponse, type: PromErrorType, message: string) =>
    send(res, ERROR_STATUS[type], JSON.stringify({ status: 'error', errorType: type, error: message }));

  function body(answer: Answer, time: number): { status: number; text: string; contentType?: string } {
    const t = time / 1000;
    const warnings = answer.warnings?.length ? { warnings: answer.warnings } : {};
    const success = (resultType: string, result: unknown) => ({
      status: 200,
      text: JSON.stringify({ status: 'success', data: { resultType, result }, ...warnings }),
    });
    if ('status' in answer)
      return {
        status: answer.status,
        text: answer.body,
        contentType: answer.contentType ?? 'text/plain; charset=utf-8',
      };
    if ('error' in answer)
      return {
        status: ERROR_STATUS[answer.error],
        text: JSON.stringify({ status: 'error', errorType: answer.error, error: answer.message }),
      };
    if ('scalar' in answer) return success('scalar', [t, formatSample(answer.scalar)]);
    if ('string' in answer) return success('string', [t, answer.string]);
    if ('matrix' in answer)
      return success(
        'matrix',
        answer.matrix.map((s) => ({
          metric: sortedLabels(s.labels),
          values: s.values.map((v, i) => [t - (s.values.length - 1 - i) * 15, formatSample(v)]),
        })),
      );
    if ('histograms' in answer)
      return success(
        'vector',
        answer.histograms.map((h) => ({
          metric: sortedLabels(h.labels),
          histogram: [t, { count: formatSample(h.count), sum: formatSample(h.sum), buckets: [] }],
        })),
      );
    return success(
      'vector',
      answer.vector.map((s) => ({ metric: sortedLabels(s.labels), value: [t, formatSample(s.value)] })),
    );
  }

  async function query(res: http.ServerResponse, request: PromRequest) {
    const p = request.params;
    const time = p.time === undefined || p.time === '' ? now() : parseTime(p.time);
    if (time === undefined)
      return sendError(res, 'bad_data', `invalid parameter "time": cannot parse "${p.time}" to a valid timestamp`);
    if (p.timeout && !DURATION.test(p.timeout))
      return sendError(res, 'bad_data', `invalid parameter "timeout": cannot parse "${p.timeout}" to a valid duration`);
    const expr = p.query ?? '';
    if (expr.trim() === '')
      return sendError(res, 'bad_data', 'invalid parameter "query": 1:1: parse error: no expression found in input');
    request.time = Math.round(time);
    const n = (counts.get(expr) ?? 0) + 1;
    counts.set(expr, n);
    const script = scripts.get(expr) ?? { vector: [] };
    const answer = typeof script === 'function' ? script({ time: request.time, n }) : script;
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    const out = body(answer, request.time);
    send(res, out.status, out.text, out.contentType);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const contentType = req.headers['content-type'];
      const params = Object.fromEntries(url.searchParams);
      // Go's ParseForm: a form-encoded POST body adds to the URL's parameters (the URL's come first).
      if (req.method === 'POST' && contentType?.split(';')[0]?.trim() === 'application/x-www-form-urlencoded')
        for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) params[k] ??= v;
      const request: PromRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        params,
        ...(contentType !== undefined && { contentType }),
        ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }),
      };
      requests.push(request);
      if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`)
        return send(res, 401, 'Unauthorized\n', 'text/plain; charset=utf-8');
      if (url.pathname !== `${prefix}/api/v1/query`)
        return send(res, 404, '404 page not found\n', 'text/plain; charset=utf-8');
      if (req.method !== 'GET' && req.method !== 'POST')
        return send(res, 405, 'Method Not Allowed\n', 'text/plain; charset=utf-8');
      query(res, request).catch((error: unknown) => sendError(res, 'internal', String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;

  return {
    url: base,
    answer(expr, script) {
      scripts.set(expr, script);
    },
    requests,
    asked: (expr) => requests.filter((r) => r.time !== undefined && (expr === undefined || r.params.query === expr)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
