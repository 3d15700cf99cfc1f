// Alert deliveries: what makes two the same, which rule matches, what title they give.
import { describe, expect, it } from 'vitest';
import {
  alertTitle,
  deliveryIdentity,
  firstRule,
  ruleService,
  type Alert,
  type AlertDelivery,
  type AlertRule,
} from '../../../src/domain/alert.js';

const alert = (fingerprint: string, over: Partial<Alert> = {}): Alert => ({
  status: 'firing',
  labels: { alertname: 'HighErrorRate', service: 'payments', severity: 'critical' },
  annotations: {},
  startsAt: '2026-12-07T13:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus:9090/graph',
  fingerprint,
  ...over,
});

const delivery = (over: Partial<AlertDelivery> = {}): AlertDelivery => ({
  source: 'alertmanager',
  receiver: 'firelane',
  groupKey: '{}:{alertname="HighErrorRate"}',
  status: 'firing',
  truncatedAlerts: 0,
  groupLabels: { alertname: 'HighErrorRate' },
  commonLabels: { alertname: 'HighErrorRate', severity: 'critical' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager-0:9093',
  alerts: [alert('aaaa'), alert('bbbb')],
  ...over,
});

describe('deliveryIdentity', () => {
  it('is the same for the HA peer (another externalURL, alerts in another order)', () => {
    const peer = delivery({ externalURL: 'http://alertmanager-1:9093', alerts: [alert('bbbb'), alert('aaaa')] });
    expect(deliveryIdentity(peer)).toBe(deliveryIdentity(delivery()));
  });

  it('differs when the status, an alert, its status or its times differ', () => {
    const base = deliveryIdentity(delivery());
    expect(deliveryIdentity(delivery({ status: 'resolved' }))).not.toBe(base);
    expect(deliveryIdentity(delivery({ alerts: [alert('aaaa')] }))).not.toBe(base);
    expect(deliveryIdentity(delivery({ alerts: [alert('aaaa'), alert('bbbb', { status: 'resolved' })] }))).not.toBe(
      base,
    );
    expect(
      deliveryIdentity(delivery({ alerts: [alert('aaaa'), alert('bbbb', { endsAt: '2026-12-07T14:00:00Z' })] })),
    ).not.toBe(base);
    expect(deliveryIdentity(delivery({ receiver: 'other' }))).not.toBe(base);
  });
});

describe('firstRule', () => {
  const rules: AlertRule[] = [
    { match: { severity: 'critical', alertname: '/High.*/' }, declare: 'sev1' },
    { match: { severity: '/warn|warning/' } },
    { match: {} },
  ];
  it('takes the first rule whose every matcher holds; a /regex/ matches the whole value', () => {
    expect(firstRule(rules, { severity: 'critical', alertname: 'HighErrorRate' })).toBe(rules[0]);
    expect(firstRule(rules, { severity: 'critical', alertname: 'VeryHighErrorRate' })).toBe(rules[2]);
    expect(firstRule(rules, { severity: 'warning' })).toBe(rules[1]);
    expect(firstRule(rules, { severity: 'warnings' })).toBe(rules[2]);
    expect(firstRule(rules.slice(0, 2), {})).toBeUndefined();
  });

  it('fills a service template from the labels', () => {
    expect(ruleService({ match: {}, service: '{{ labels.service }}' }, { service: 'payments' })).toBe('payments');
    expect(ruleService({ match: {}, service: '{{labels.service}}' }, {})).toBeUndefined();
    expect(ruleService({ match: {}, service: 'checkout' }, { service: 'payments' })).toBe('checkout');
  });
});

describe('alertTitle', () => {
  it('is the common summary, else the first alert summary, else the alert name', () => {
    expect(alertTitle(delivery({ commonAnnotations: { summary: 'Error rate 12%' } }))).toBe('Error rate 12%');
    expect(alertTitle(delivery({ alerts: [alert('a', { annotations: { summary: 'First one' } })] }))).toBe('First one');
    expect(alertTitle(delivery())).toBe('HighErrorRate');
  });

  it('is one line without direction overrides, cut to 150 code points', () => {
    const title = alertTitle(
      delivery({ commonAnnotations: { summary: `Line one\nline two\u202e ${'🔥'.repeat(200)}` } }),
    );
    expect(title).not.toMatch(/[\n\u202e]/);
    expect(Array.from(title)).toHaveLength(150);
    expect(title.endsWith('…')).toBe(true);
  });
});
