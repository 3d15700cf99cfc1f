// Judging metric gates: bounds, several series, no data, values and answers that cannot be judged,
// and one look at every gate through the adapter against the loopback fake Prometheus.
import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusSource } from '../../../src/adapters/prometheus/prometheus-source.js';
import type { MetricGate, PrometheusGates } from '../../../src/config/types.js';
import { checkGates, formatValue, judge } from '../../../src/jobs/metric-gates.js';
import { startFakePrometheus, type FakePrometheus } from '../../fakes/fake-prometheus.js';

const ERRORS: MetricGate = { name: 'error rate', query: 'errors', max: 0.05 };
const THROUGHPUT: MetricGate = { name: 'throughput', query: 'rps', min: 10 };
const LATENCY: MetricGate = { name: 'p99 latency', query: 'p99', min: 0, max: 0.5 };
const one = (value: number) => [{ labels: {}, value }];
const pods = (...values: number[]) => values.map((value, i) => ({ labels: { pod: `payments-${i}` }, value }));

describe('judge: one query against its bounds', () => {
  it('one value: above max or below min fails, naming the value and the bound; equal passes', () => {
    expect(judge(ERRORS, one(0.12), 'fail')).toEqual({ ok: false, text: 'error rate 0.12 > max 0.05' });
    expect(judge(ERRORS, one(0.05), 'fail')).toEqual({ ok: true, text: 'error rate 0.05 (max 0.05)' });
    expect(judge(ERRORS, one(0.0123456), 'fail')).toEqual({ ok: true, text: 'error rate 0.01235 (max 0.05)' });
    expect(judge(THROUGHPUT, one(3), 'fail')).toEqual({ ok: false, text: 'throughput 3 < min 10' });
    expect(judge(LATENCY, one(0.21), 'fail')).toEqual({ ok: true, text: 'p99 latency 0.21 (min 0, max 0.5)' });
    expect(judge(LATENCY, one(-1), 'fail')).toEqual({ ok: false, text: 'p99 latency -1 < min 0' });
  });

  it('several series: every one must pass; the worst is shown with its labels', () => {
    expect(judge(ERRORS, pods(0.01, 0.3, 0.09), 'fail')).toEqual({
      ok: false,
      text: 'error rate 0.3 > max 0.05 in {pod="payments-1"} (worst of 3 series)',
    });
    expect(judge(THROUGHPUT, pods(50, 12, 4), 'fail')).toEqual({
      ok: false,
      text: 'throughput 4 < min 10 in {pod="payments-2"} (worst of 3 series)',
    });
    expect(judge(ERRORS, pods(0.01, 0.04), 'fail')).toEqual({
      ok: true,
      text: 'error rate 0.04 (max 0.05; worst of 2 series)',
    });
    // Both bounds: the least room left (0.45 is 0.05 from max; 0.1 is 0.1 above min).
    expect(judge(LATENCY, pods(0.1, 0.45), 'fail').text).toBe('p99 latency 0.45 (min 0, max 0.5; worst of 2 series)');
  });

  it('no data: fails with onNoData fail, passes and says so with ignore', () => {
    expect(judge(ERRORS, [], 'fail')).toEqual({
      ok: false,
      text: 'error rate: no data (the query returned no series; onNoData is fail)',
    });
    expect(judge(ERRORS, [], 'ignore')).toEqual({
      ok: true,
      text: 'error rate: no data (ignored: onNoData is ignore)',
    });
  });

  it('NaN and ±Inf cannot be judged: they count as failed, never as a pass', () => {
    expect(judge(ERRORS, one(NaN), 'ignore')).toEqual({
      ok: false,
      text: 'error rate could not be evaluated, which counts as failed: the value is NaN',
    });
    expect(judge(THROUGHPUT, one(Infinity), 'fail').text).toBe(
      'throughput could not be evaluated, which counts as failed: the value is +Inf',
    );
    // -Inf is below any min and +Inf above any max, but no division by zero is a passing deploy either.
    expect(judge(LATENCY, [...pods(0.1), { labels: { pod: 'payments-9' }, value: -Infinity }], 'fail')).toEqual({
      ok: false,
      text: 'p99 latency could not be evaluated, which counts as failed: {pod="payments-9"} is -Inf',
    });
  });

  it('labels and names from outside are one inert line: no token delimiters, no line breaks, cut when long', () => {
    const labels = { __name__: 'http_errors', pod: 'a\u{E000}@U0ADMIN\u{E001}\n<!channel>', zone: 'x'.repeat(300) };
    const { text } = judge(
      { ...ERRORS, name: 'errors \u{E000}t1\u{E001}' },
      [{ labels, value: 1 }, ...pods(0)],
      'fail',
    );
    expect(text).not.toMatch(/[\u{E000}\u{E001}\n]/u);
    expect(text).toMatch(
      /^errors t1 1 > max 0\.05 in http_errors\{pod="a@U0ADMIN\\n<!channel>", zone="x+… \(worst of 2 series\)$/,
    );
    expect(text.length).toBeLessThan(220);
  });

  it('formatValue: 4 significant digits, whole numbers from 1000, never reading as the bound it broke', () => {
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(1234.5)).toBe('1235');
    expect(formatValue(0.050001, 0.05)).toBe('0.050001');
    expect(formatValue(1000.4, 1000)).toBe('1000.4');
    expect(formatValue(0.05, 0.05)).toBe('0.05');
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(-Infinity)).toBe('-Inf');
  });
});

describe('checkGates: every gate at one time, over the wire', () => {
  let fake: FakePrometheus | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  const at = Date.parse('2026-03-01T10:00:00Z');
  const gates = (url: string, queries: MetricGate[], onNoData: PrometheusGates['onNoData'] = 'fail') => ({
    url,
    intervalMs: 30_000,
    onNoData,
    queries,
  });

  it('all pass: healthy, with a reading per gate in config order; every query asked at the same time', async () => {
    fake = await startFakePrometheus();
    fake.answer('errors', { vector: [{ labels: { service: 'payments' }, value: 0.01 }] });
    fake.answer('rps', { scalar: 250 });
    const check = await checkGates(createPrometheusSource(), gates(fake.url, [ERRORS, THROUGHPUT]), at);
    expect(check).toEqual({
      healthy: true,
      readings: ['error rate 0.01 (max 0.05)', 'throughput 250 (min 10)'],
    });
    expect(fake.asked().map((r) => [r.params.query, r.time])).toEqual([
      ['errors', at],
      ['rps', at],
    ]);
  });

  it('the first failing gate in config order is the reason; the others are still read', async () => {
    fake = await startFakePrometheus();
    fake.answer('errors', { vector: [{ value: 0.12 }] });
    fake.answer('rps', { scalar: 3 });
    expect(await checkGates(createPrometheusSource(), gates(fake.url, [ERRORS, THROUGHPUT]), at)).toEqual({
      healthy: false,
      reason: 'error rate 0.12 > max 0.05',
      readings: ['error rate 0.12 > max 0.05', 'throughput 3 < min 10'],
    });
  });

  it('a query error is reported as such and counts as failed; so does an unscripted (empty) query with onNoData fail', async () => {
    fake = await startFakePrometheus();
    fake.answer('errors', {
      error: 'execution',
      message: 'many-to-many matching not allowed: matching labels must be unique on one side',
    });
    expect(await checkGates(createPrometheusSource(), gates(fake.url, [ERRORS]), at)).toMatchObject({
      healthy: false,
      reason:
        'error rate could not be evaluated, which counts as failed: Prometheus answered HTTP 422 (execution: many-to-many matching not allowed: matching labels must be unique on one side)',
    });
    expect(await checkGates(createPrometheusSource(), gates(fake.url, [THROUGHPUT]), at)).toMatchObject({
      healthy: false,
      reason: 'throughput: no data (the query returned no series; onNoData is fail)',
    });
    expect(await checkGates(createPrometheusSource(), gates(fake.url, [THROUGHPUT], 'ignore'), at)).toEqual({
      healthy: true,
      readings: ['throughput: no data (ignored: onNoData is ignore)'],
    });
  });

  it('without a client, a configured gate cannot be evaluated: it fails, saying why', async () => {
    expect(await checkGates(undefined, gates('http://127.0.0.1:9', [ERRORS]), at)).toMatchObject({
      healthy: false,
      reason: 'error rate could not be evaluated, which counts as failed: no Prometheus client is configured',
    });
  });
});
