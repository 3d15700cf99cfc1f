// Alert webhooks in tests: the token the harness is given, Alertmanager's body for a failing probe of
// payments (payload version 4, as Alertmanager 0.27 sends it) and the signed-in POST to /alerts/alertmanager.
import type { Harness } from './harness.js';

export const ALERTS_TOKEN = 'alerts-token-0123456789';

export interface ProbeFailure {
  status?: 'firing' | 'resolved';
  startsAt?: string;
  groupKey?: string;
  fingerprint?: string;
}

/** A blackbox probe of https://pay.example.org failing (or resolved), one alert, service payments. */
export function probeFailure(options: ProbeFailure = {}) {
  const status = options.status ?? 'firing';
  const labels = {
    alertname: 'ProbeFailure',
    instance: 'https://pay.example.org',
    job: 'http_checks',
    service: 'payments',
    severity: 'critical',
  };
  const annotations = {
    description: 'Instance https://pay.example.org has been down for over 5m. Job: http_checks',
    summary: 'Payments probe failing: https://pay.example.org',
  };
  return {
    receiver: 'firelane',
    status,
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt: options.startsAt ?? '2026-12-07T13:08:45.828Z',
        endsAt: status === 'resolved' ? '2026-12-07T13:31:15.828Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1',
        fingerprint: options.fingerprint ?? '1a30ba71cca2921f',
      },
    ],
    groupLabels: { alertname: 'ProbeFailure' },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'http://alertmanager-0.example.org:9093',
    version: '4',
    groupKey: options.groupKey ?? '{}/{severity="critical"}:{alertname="ProbeFailure"}',
    truncatedAlerts: 0,
  };
}

/** POST /alerts/alertmanager with the bearer token (none when null); a string body is sent as it is. */
export async function postAlertmanager(
  h: Harness,
  body: unknown,
  token: string | null = ALERTS_TOKEN,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${h.url}/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== null && { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}
