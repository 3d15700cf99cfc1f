// Grafana's webhook body -> the neutral delivery: what is kept, what null means, what is refused;
// and the title and links a Grafana delivery gives.
import { describe, expect, it } from 'vitest';
import { MAX_GRAFANA_MESSAGE, parseGrafanaPayload } from '../../../../src/adapters/alerts/grafana-payload.js';
import { alertLinks, alertTitle, safeLink, type AlertDelivery } from '../../../../src/domain/alert.js';

/** The smallest body Grafana sends: one alert, Go's empty maps as null. */
const body = (over: Record<string, unknown> = {}, alert: Record<string, unknown> = {}) => ({
  receiver: 'firelane',
  status: 'firing',
  orgId: 3,
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'HighLatency' },
      annotations: null,
      startsAt: '2026-12-07T13:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'https://grafana.example.org/alerting/grafana/abc/view?orgId=3',
      fingerprint: '0123456789abcdef',
      silenceURL: 'https://grafana.example.org/alerting/silence/new?orgId=3',
      dashboardURL: '',
      panelURL: '',
      values: null,
      valueString: '',
      ...alert,
    },
  ],
  groupLabels: null,
  commonLabels: { alertname: 'HighLatency' },
  commonAnnotations: null,
  externalURL: 'https://grafana.example.org/',
  version: '1',
  groupKey: '{}:{alertname="HighLatency"}',
  truncatedAlerts: 0,
  title: '[FIRING:1] HighLatency ',
  state: 'alerting',
  message: 'Firing\u0000 now',
  ...over,
});

const parsed = (json: unknown): AlertDelivery => {
  const result = parseGrafanaPayload(json);
  if ('problem' in result) throw new Error(result.problem);
  return result.delivery;
};

describe('parseGrafanaPayload', () => {
  it('keeps the group, each alert with its links and values, and what Grafana adds; null maps are empty', () => {
    const d = parsed(body({}, { values: { B: 1.25 }, imageURL: 'https://grafana.example.org/public/img/x.png' }));
    expect(d).toMatchObject({
      source: 'grafana',
      receiver: 'firelane',
      status: 'firing',
      groupLabels: {},
      commonAnnotations: {},
      truncatedAlerts: 0,
      grafana: { orgId: 3, title: '[FIRING:1] HighLatency ', state: 'alerting', message: 'Firing now' },
    });
    expect(d.alerts[0]).toMatchObject({
      annotations: {},
      silenceURL: 'https://grafana.example.org/alerting/silence/new?orgId=3',
      imageURL: 'https://grafana.example.org/public/img/x.png',
      values: { B: 1.25 },
    });
    expect(d.alerts[0]).not.toHaveProperty('valueString');
  });

  it('accepts an older Grafana body without truncatedAlerts, orgId, title, state or message', () => {
    const { truncatedAlerts: _t, orgId: _o, title: _ti, state: _s, message: _m, ...old } = body();
    const d = parsed(old);
    expect(d.truncatedAlerts).toBe(0);
    expect(d.grafana).toEqual({ orgId: 0, title: '', state: '', message: '' });
  });

  it('cuts a long message', () => {
    const d = parsed(body({ message: 'x'.repeat(MAX_GRAFANA_MESSAGE + 50) }));
    expect(Array.from(d.grafana!.message)).toHaveLength(MAX_GRAFANA_MESSAGE);
  });

  it('names the first problem', () => {
    const problem = parseGrafanaPayload;
    expect(problem(body({ version: '4' }))).toMatchObject({ problem: expect.stringContaining('version') });
    expect(problem(body({}, { status: 'pending' }))).toMatchObject({
      problem: expect.stringContaining('alerts.0.status'),
    });
    expect(problem(body({}, { values: { A: null } }))).toMatchObject({
      problem: expect.stringContaining('alerts.0.values.A'),
    });
    expect(problem(body({ groupKey: '' }))).toMatchObject({ problem: expect.stringContaining('groupKey') });
    expect(problem([])).toMatchObject({ problem: expect.stringContaining('body') });
  });
});

describe('a Grafana delivery', () => {
  it('is titled by Grafana without its status prefix, else by the summary', () => {
    expect(alertTitle(parsed(body()))).toBe('HighLatency');
    expect(alertTitle(parsed(body({ status: 'resolved', title: '[RESOLVED] HighLatency api' })))).toBe(
      'HighLatency api',
    );
    expect(alertTitle(parsed(body({ title: 'p99 latency over 2s' })))).toBe('p99 latency over 2s');
    expect(alertTitle(parsed(body({ title: '[FIRING:2] ', commonAnnotations: { summary: 'Slow API' } })))).toBe(
      'Slow API',
    );
    expect(alertTitle(parsed(body({ title: '', commonLabels: null }, { labels: {} })))).toBe('Alert from Grafana');
  });

  it('links only to http(s) addresses, labelled', () => {
    const d = parsed(
      body({}, { dashboardURL: 'https://grafana.example.org/d/x', panelURL: 'data:text/html,hi', generatorURL: '' }),
    );
    expect(alertLinks(d.alerts[0])).toEqual([
      { label: 'Dashboard', url: 'https://grafana.example.org/d/x' },
      { label: 'Silence', url: 'https://grafana.example.org/alerting/silence/new?orgId=3' },
    ]);
  });
});

describe('safeLink', () => {
  it('keeps absolute http(s) URLs and refuses the rest', () => {
    expect(safeLink('http://prometheus:9090/graph?g0.expr=up')).toBe('http://prometheus:9090/graph?g0.expr=up');
    expect(safeLink(' https://grafana.example.org ')).toBe('https://grafana.example.org/');
    const silence = `https://grafana.example.org/alerting/silence/new?${'matcher=a%3Db&'.repeat(60)}`;
    expect(safeLink(silence)).toBe(silence);
    for (const bad of [
      '',
      undefined,
      'javascript:alert(1)',
      'JAVASCRIPT:alert(1)',
      '/relative/path',
      'ftp://files.example.org/x',
      'https://user:pass@grafana.example.org/',
      'https://grafana.example.org/a b',
      'https://grafana.example.org/\n<!channel>',
      `https://grafana.example.org/${'x'.repeat(2000)}`,
      // Fits as typed, not once each & is escaped for chat: left out rather than cut.
      `https://grafana.example.org/alerting/silence/new?${'matcher=a%3Db&'.repeat(120)}`,
    ])
      expect(safeLink(bad), String(bad)).toBeUndefined();
  });
});
