// The fake Prometheus checked against the real API's documented answers. There is no official
// JavaScript client, so the check is threefold: the documented examples parse through the adapter
// (parseInstantResponse) to the samples they show; the fake, asked the documented example's query,
// answers exactly the documented body; and the adapter over the wire (createPrometheusSource) reads
// every kind of answer the fake gives as the documented one would be read.
// Documented shapes: https://prometheus.io/docs/prometheus/latest/querying/api/ ("Format overview",
// "Instant queries", "Expression query result formats"); status codes per errorType from the
// server's respondError (prometheus/prometheus web/api/v1/api.go).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusSource, parseInstantResponse } from '../../src/adapters/prometheus/prometheus-source.js';
import {
  ERROR_STATUS,
  formatSample,
  startFakePrometheus,
  type FakePrometheus,
  type PromErrorType,
} from './fake-prometheus.js';

/** "Instant queries": `curl 'http://localhost:9090/api/v1/query?query=up&time=2015-07-01T20:10:51.781Z'`. */
const DOCUMENTED_UP = {
  status: 'success',
  data: {
    resultType: 'vector',
    result: [
      { metric: { __name__: 'up', job: 'prometheus', instance: 'localhost:9090' }, value: [1435781451.781, '1'] },
      { metric: { __name__: 'up', job: 'node', instance: 'localhost:9100' }, value: [1435781451.781, '0'] },
    ],
  },
};
const UP_SAMPLES = [
  { labels: { __name__: 'up', job: 'prometheus', instance: 'localhost:9090' }, value: 1 },
  { labels: { __name__: 'up', job: 'node', instance: 'localhost:9100' }, value: 0 },
];
/** "Scalars": `[ <unix_time>, "<scalar_value>" ]`. */
const DOCUMENTED_SCALAR = { status: 'success', data: { resultType: 'scalar', result: [1435781451.781, '0.05'] } };
/** "Range vectors": `[{"metric": {...}, "values": [[<unix_time>, "<sample_value>"], ...]}]`. */
const DOCUMENTED_MATRIX = {
  status: 'success',
  data: { resultType: 'matrix', result: [{ metric: { job: 'node' }, values: [[1435781430.781, '1']] }] },
};
/** "Strings": `[ <unix_time>, "<string_value>" ]`. */
const DOCUMENTED_STRING = { status: 'success', data: { resultType: 'string', result: [1435781451.781, 'x'] } };
/** "Format overview": the error envelope. */
const DOCUMENTED_ERROR = {
  status: 'error',
  errorType: 'execution',
  error: 'found duplicate series for the match group',
};

const source = createPrometheusSource({ timeoutMs: 2_000 });
const at = Date.parse('2026-03-01T10:00:00Z');

let fake: FakePrometheus | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});
async function start(options: Parameters<typeof startFakePrometheus>[0] = {}) {
  fake = await startFakePrometheus(options);
  return fake;
}

describe('the documented answers, through the adapter', () => {
  it('a vector is one sample per series, a scalar one sample without labels', () => {
    expect(parseInstantResponse(200, JSON.stringify(DOCUMENTED_UP))).toEqual({ ok: true, samples: UP_SAMPLES });
    expect(parseInstantResponse(200, JSON.stringify(DOCUMENTED_SCALAR))).toEqual({
      ok: true,
      samples: [{ labels: {}, value: 0.05 }],
    });
    expect(parseInstantResponse(200, '{"status":"success","data":{"resultType":"vector","result":[]}}')).toEqual({
      ok: true,
      samples: [],
    });
  });

  it('a range vector, a string and an error are problems, never values', () => {
    expect(parseInstantResponse(200, JSON.stringify(DOCUMENTED_MATRIX))).toEqual({
      ok: false,
      problem: expect.stringMatching(/^the query gives a range vector \(matrix\), not one value per series/),
    });
    expect(parseInstantResponse(200, JSON.stringify(DOCUMENTED_STRING))).toEqual({
      ok: false,
      problem: 'the query gives a string, not a number',
    });
    expect(parseInstantResponse(422, JSON.stringify(DOCUMENTED_ERROR))).toEqual({
      ok: false,
      problem: 'Prometheus answered HTTP 422 (execution: found duplicate series for the match group)',
    });
  });

  it('sample values: numbers in Go\'s shortest form, and "NaN", "+Inf", "-Inf" (JSON has none of them)', () => {
    const values = ['0.12', '1e-7', '1.5e+21', '-3', '-0', 'NaN', '+Inf', '-Inf'];
    const parsed = values.map((v) =>
      parseInstantResponse(
        200,
        JSON.stringify({ ...DOCUMENTED_SCALAR, data: { resultType: 'scalar', result: [1, v] } }),
      ),
    );
    expect(parsed.map((r) => (r.ok ? r.samples[0]!.value : r.problem))).toEqual([
      0.12,
      1e-7,
      1.5e21,
      -3,
      -0,
      NaN,
      Infinity,
      -Infinity,
    ]);
    // The fake writes each of them as Prometheus does.
    expect(parsed.map((r) => (r.ok ? formatSample(r.samples[0]!.value) : ''))).toEqual(values);
    for (const bad of ['', 'abc', '0x10', 'Infinity'])
      expect(
        parseInstantResponse(
          200,
          JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, bad] } }),
        ).ok,
      ).toBe(false);
  });
});

describe('the fake answers as documented', () => {
  it("answers the documented example's query with exactly the documented body", async () => {
    const f = await start();
    f.answer('up', {
      vector: [
        { labels: { __name__: 'up', job: 'prometheus', instance: 'localhost:9090' }, value: 1 },
        { labels: { __name__: 'up', job: 'node', instance: 'localhost:9100' }, value: 0 },
      ],
    });
    const response = await fetch(`${f.url}/api/v1/query?query=up&time=2015-07-01T20:10:51.781Z`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as typeof DOCUMENTED_UP;
    // Label order aside (Prometheus sorts labels; the doc's example does not), the same answer.
    expect(body).toEqual(DOCUMENTED_UP);
    // And the adapter, asking by POST as firelane does, reads the same samples from it.
    expect(await source.instant(f.url, 'up', Date.parse('2015-07-01T20:10:51.781Z'))).toEqual({
      ok: true,
      samples: UP_SAMPLES,
    });
  });

  it('takes the parameters from a form-encoded POST body (query, time, timeout), as the adapter sends them', async () => {
    const f = await start();
    f.answer('sum(rate(errors[1m]))', { scalar: 0.5 });
    expect(await source.instant(f.url, 'sum(rate(errors[1m]))', at)).toEqual({
      ok: true,
      samples: [{ labels: {}, value: 0.5 }],
    });
    expect(f.requests).toEqual([
      {
        method: 'POST',
        path: '/api/v1/query',
        contentType: 'application/x-www-form-urlencoded',
        params: { query: 'sum(rate(errors[1m]))', time: String(at / 1000) + '.000', timeout: '2s' },
        time: at,
      },
    ]);
    // A scalar's timestamp is the evaluation time.
    const raw = await fetch(`${f.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: 'sum(rate(errors[1m]))', time: '1772359200.5' }),
    });
    expect(await raw.json()).toEqual({
      status: 'success',
      data: { resultType: 'scalar', result: [1772359200.5, '0.5'] },
    });
  });

  it('a bad time, timeout or query is 400 bad_data, checked in that order; other paths 404, other methods 405', async () => {
    const f = await start();
    const get = async (query: string, init?: RequestInit) => {
      const response = await fetch(`${f.url}/api/v1/query?${query}`, init);
      return { status: response.status, body: await response.text() };
    };
    expect(await get('query=up&time=yesterday')).toEqual({
      status: 400,
      body: JSON.stringify({
        status: 'error',
        errorType: 'bad_data',
        error: 'invalid parameter "time": cannot parse "yesterday" to a valid timestamp',
      }),
    });
    expect(JSON.parse((await get('query=up&timeout=soon')).body).error).toBe(
      'invalid parameter "timeout": cannot parse "soon" to a valid duration',
    );
    expect(await get('query=')).toMatchObject({ status: 400 });
    expect(await get('query=up', { method: 'PUT' })).toEqual({ status: 405, body: 'Method Not Allowed\n' });
    const wrongPath = await fetch(`${f.url}/api/v1/query_range?query=up`);
    expect([wrongPath.status, await wrongPath.text()]).toEqual([404, '404 page not found\n']);
    expect(f.asked()).toEqual([]);
  });

  it.each(Object.entries(ERROR_STATUS) as Array<[PromErrorType, number]>)(
    'an error of type %s is HTTP %i with the error envelope, and a problem for the adapter',
    async (type, status) => {
      const f = await start();
      f.answer('q', { error: type, message: `it went wrong (${type})` });
      const response = await fetch(`${f.url}/api/v1/query?query=q`);
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ status: 'error', errorType: type, error: `it went wrong (${type})` });
      expect(await source.instant(f.url, 'q', at)).toEqual({
        ok: false,
        problem: `Prometheus answered HTTP ${status} (${type}: it went wrong (${type}))`,
      });
    },
  );

  it('scripts per query, per evaluation time and per ask; an unscripted query is an empty vector', async () => {
    const f = await start();
    f.answer('errors', ({ time, n }) => ({ vector: [{ value: time >= at + 60_000 ? 0.12 : 0.01 * n }] }));
    const value = async (t: number) => {
      const r = await source.instant(f.url, 'errors', t);
      return r.ok ? r.samples.map((s) => s.value) : r.problem;
    };
    expect(await value(at)).toEqual([0.01]);
    expect(await value(at + 30_000)).toEqual([0.02]);
    expect(await value(at + 60_000)).toEqual([0.12]);
    expect(await source.instant(f.url, 'absent_metric', at)).toEqual({ ok: true, samples: [] });
    expect(f.asked('errors').map((r) => r.time! - at)).toEqual([0, 30_000, 60_000]);
  });

  it('native histograms and range vectors are read as what they are: not numbers', async () => {
    const f = await start();
    f.answer('h', { histograms: [{ labels: { job: 'api' }, count: 10, sum: 2.5 }] });
    f.answer('m', { matrix: [{ labels: { job: 'api' }, values: [1, 2] }] });
    expect(await source.instant(f.url, 'h', at)).toEqual({
      ok: false,
      problem:
        'the query gives native histograms, not numbers (use histogram_quantile(), histogram_count() or histogram_sum())',
    });
    expect(await source.instant(f.url, 'm', at)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('range vector (matrix)'),
    });
  });
});

describe('the adapter over the wire', () => {
  it('sends the bearer token; without it, the 401 of the proxy in front is a problem naming the variable', async () => {
    const f = await start({ token: 'prom-token' });
    f.answer('q', { scalar: 1 });
    expect(await source.instant(f.url, 'q', at)).toEqual({
      ok: false,
      problem: 'Prometheus answered HTTP 401 (is FIRELANE_PROMETHEUS_TOKEN set and right?)',
    });
    const withToken = createPrometheusSource({ token: 'prom-token' });
    expect(await withToken.instant(f.url, 'q', at)).toEqual({ ok: true, samples: [{ labels: {}, value: 1 }] });
    expect(f.requests.map((r) => r.authorization)).toEqual([undefined, 'Bearer prom-token']);
  });

  it('works under a path prefix (Mimir, VictoriaMetrics); a wrong base is a problem, not data', async () => {
    const f = await start({ prefix: '/prometheus' });
    f.answer('q', { vector: [{ value: 3 }] });
    expect(f.url).toMatch(/\/prometheus$/);
    expect(await source.instant(f.url, 'q', at)).toEqual({ ok: true, samples: [{ labels: {}, value: 3 }] });
    expect(await source.instant(f.url.replace(/\/prometheus$/, ''), 'q', at)).toEqual({
      ok: false,
      problem: 'Prometheus answered HTTP 404',
    });
  });

  it('a slow answer, a refused connection and a page that is not the API are problems in plain words', async () => {
    const f = await start();
    f.answer('slow', { scalar: 1, delayMs: 400 });
    f.answer('html', { status: 200, body: '<html>Grafana</html>', contentType: 'text/html' });
    const quick = createPrometheusSource({ timeoutMs: 100 });
    expect(await quick.instant(f.url, 'slow', at)).toEqual({
      ok: false,
      problem: `Prometheus at ${f.url} did not answer within 100ms`,
    });
    expect(await source.instant(f.url, 'html', at)).toEqual({
      ok: false,
      problem: "the answer (HTTP 200) is not the Prometheus API's JSON (is the url the base the API is under?)",
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const upstream: string[] = [];
    const counted = createPrometheusSource({ onUpstreamError: (status) => upstream.push(status) });
    expect(await counted.instant(`http://127.0.0.1:${port}`, 'q', at)).toEqual({
      ok: false,
      problem: `Prometheus at http://127.0.0.1:${port} could not be reached (ECONNREFUSED)`,
    });
    f.answer('bad', { error: 'bad_data', message: 'parse error' });
    await counted.instant(f.url, 'bad', at);
    expect(upstream).toEqual(['network', '400']);
  });
});
