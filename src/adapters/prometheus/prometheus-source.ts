// MetricSource over the Prometheus HTTP API. Only `POST <base>/api/v1/query` is used (form-encoded
// `query`, `time`, `timeout`: long queries fit, and Thanos, Mimir and VictoriaMetrics answer it the
// same way), and its answer becomes samples or a problem in plain words. The shapes, as documented
// at https://prometheus.io/docs/prometheus/latest/querying/api/ ("Format overview", "Instant
// queries", "Expression query result formats"):
//   {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[<unix_time>,"<sample_value>"]}]}}
//   {"status":"success","data":{"resultType":"scalar","result":[<unix_time>,"<scalar_value>"]}}
//   {"status":"error","errorType":"<string>","error":"<string>"} with 400 (bad_data), 422 (execution)
//   or 503 (timeout, canceled); other non-2xx codes from whatever stands in front of the API.
// Sample values are strings because JSON has no NaN or Inf: "NaN", "+Inf", "-Inf".
import { fetchFailure } from '../../errors.js';
import type { InstantResult, MetricSource, Sample } from '../../ports/metric-source.js';

export interface PrometheusSourceOptions {
  /** FIRELANE_PROMETHEUS_TOKEN: sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** A query not answered within this long could not be evaluated (default 5s); also sent as `timeout`. */
  timeoutMs?: number;
  /** Tests may pass their own; the built-in fetch otherwise. */
  fetch?: typeof fetch;
  /** An HTTP status, or `network`, for firelane_upstream_errors_total. */
  onUpstreamError?: (status: string) => void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A `<sample_value>` string as a number (NaN and ±Inf included); undefined when it is none. */
export function sampleValue(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const value = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  return Number.isNaN(value) ? undefined : value;
}

/** `[<unix_time>, "<value>"]` as a number, or undefined. */
const pointValue = (point: unknown) =>
  Array.isArray(point) && point.length === 2 && typeof point[0] === 'number' ? sampleValue(point[1]) : undefined;

const isLabels = (v: unknown): v is Record<string, string> =>
  isObject(v) && Object.values(v).every((label) => typeof label === 'string');

const notTheApi = (status: number) => ({
  ok: false as const,
  problem: `the answer (HTTP ${status}) is not the Prometheus API's JSON (is the url the base the API is under?)`,
});

function parseResult(resultType: unknown, result: unknown, status: number): InstantResult {
  switch (resultType) {
    case 'scalar': {
      const value = pointValue(result);
      return value === undefined ? notTheApi(status) : { ok: true, samples: [{ labels: {}, value }] };
    }
    case 'vector': {
      if (!Array.isArray(result)) return notTheApi(status);
      const samples: Sample[] = [];
      for (const series of result) {
        if (!isObject(series) || !isLabels(series.metric)) return notTheApi(status);
        if (series.value === undefined && series.histogram !== undefined)
          return {
            ok: false,
            problem:
              'the query gives native histograms, not numbers (use histogram_quantile(), histogram_count() or histogram_sum())',
          };
        const value = pointValue(series.value);
        if (value === undefined) return notTheApi(status);
        samples.push({ labels: series.metric, value });
      }
      return { ok: true, samples };
    }
    case 'matrix':
      return {
        ok: false,
        problem:
          'the query gives a range vector (matrix), not one value per series: drop the [range] selector or wrap it in a function such as rate()',
      };
    case 'string':
      return { ok: false, problem: 'the query gives a string, not a number' };
    default:
      return notTheApi(status);
  }
}

/** An answer of /api/v1/query (its HTTP status and body text) as samples, or why there are none. */
export function parseInstantResponse(status: number, text: string): InstantResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status >= 300 || (isObject(body) && body.status === 'error')) {
    if (isObject(body) && body.status === 'error' && typeof body.error === 'string')
      return {
        ok: false,
        problem: `Prometheus answered HTTP ${status} (${typeof body.errorType === 'string' ? `${body.errorType}: ` : ''}${body.error})`,
      };
    const hint = status === 401 || status === 403 ? ' (is FIRELANE_PROMETHEUS_TOKEN set and right?)' : '';
    return { ok: false, problem: `Prometheus answered HTTP ${status}${hint}` };
  }
  if (!isObject(body) || body.status !== 'success' || !isObject(body.data)) return notTheApi(status);
  return parseResult(body.data.resultType, body.data.result, status);
}

/** Prometheus' duration for the `timeout` parameter: whole seconds where it can, else milliseconds. */
const promDuration = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.max(1, Math.round(ms))}ms`);

export function createPrometheusSource(options: PrometheusSourceOptions = {}): MetricSource {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const doFetch = options.fetch ?? fetch;
  return {
    async instant(baseUrl, query, at) {
      const body = new URLSearchParams({ query, time: (at / 1000).toFixed(3), timeout: promDuration(timeoutMs) });
      let status: number;
      let text: string;
      try {
        const response = await doFetch(`${baseUrl}/api/v1/query`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        options.onUpstreamError?.('network');
        return { ok: false, problem: fetchFailure(`Prometheus at ${baseUrl}`, error, timeoutMs) };
      }
      if (status >= 300) options.onUpstreamError?.(String(status));
      return parseInstantResponse(status, text);
    },
  };
}
