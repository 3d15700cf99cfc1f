// Alerts from monitoring (Alertmanager): the neutral delivery, its idempotency key, rule matching and
// the incident title it implies. Pure.
import { MAX_TITLE_CODE_POINTS } from './incident.js';
import type { Severity } from './severity.js';

/** One of `alerts.rules`. */
export interface AlertRule {
  /** Label name -> the value it must equal, or `/regex/` it must match as a whole. */
  match: Record<string, string>;
  /** A service name, or a template such as `{{ labels.service }}`. */
  service?: string;
  /** Declare at this severity; absent: triage only. */
  declare?: Severity;
}

/** The actor (and audit platform) of what an Alertmanager delivery does. */
export const ALERTMANAGER_ACTOR = 'alertmanager';

export type AlertStatus = 'firing' | 'resolved';

export interface Alert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** One webhook delivery of a group of alerts, as stored with its job. */
export interface AlertDelivery {
  source: 'alertmanager';
  receiver: string;
  groupKey: string;
  status: AlertStatus;
  truncatedAlerts: number;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  /** Alertmanager 0.32+: why it sent this (`first notification`, `repeat interval elapsed`...); absent before. */
  notificationReason?: string;
  alerts: Alert[];
}

/** A group is (source, receiver, groupKey): later deliveries of it reach the incident it declared. */
export const alertGroupId = (d: Pick<AlertDelivery, 'source' | 'receiver' | 'groupKey'>): string =>
  JSON.stringify([d.source, d.receiver, d.groupKey]);

/**
 * What makes two deliveries the same (the idempotency key is its hash): the same group in the same
 * state, from either Alertmanager of an HA pair or a retry. It covers the group, its status and each
 * alert's fingerprint, status and times, in fingerprint order.
 */
export function deliveryIdentity(d: AlertDelivery): string {
  const alerts = d.alerts
    .map((a) => [a.fingerprint, a.status, a.startsAt, a.endsAt])
    .sort((a, b) => (a.join('\n') < b.join('\n') ? -1 : 1));
  return JSON.stringify([alertGroupId(d), d.status, alerts]);
}

/** The labels rules see: the group's common labels, and the first alert's for labels not common to all. */
export const groupLabelsOf = (d: AlertDelivery): Record<string, string> => ({
  ...d.alerts[0]?.labels,
  ...d.commonLabels,
});

/** The first rule whose every matcher holds (a missing label is ""; a /regex/ matches the whole value). */
export function firstRule(rules: readonly AlertRule[], labels: Record<string, string>): AlertRule | undefined {
  return rules.find((rule) =>
    Object.entries(rule.match).every(([label, wanted]) => {
      const actual = Object.hasOwn(labels, label) ? labels[label]! : '';
      const pattern = /^\/(.*)\/$/s.exec(wanted)?.[1];
      return pattern === undefined ? actual === wanted : new RegExp(`^(?:${pattern})$`, 'u').test(actual);
    }),
  );
}

/** The rule's service: a fixed name, or `{{ labels.<name> }}` filled from the labels (undefined when missing). */
export function ruleService(rule: AlertRule, labels: Record<string, string>): string | undefined {
  if (rule.service === undefined) return undefined;
  const template = /^\{\{\s*labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}$/.exec(rule.service.trim());
  if (!template) return rule.service;
  const value = labels[template[1]!];
  return value ? value : undefined;
}

/**
 * The incident title: commonAnnotations.summary, else the first alert's summary, else its alert name;
 * on one line, without control or text-direction characters, cut to the title limit.
 */
export function alertTitle(d: AlertDelivery): string {
  const first = d.alerts[0];
  const raw =
    d.commonAnnotations.summary?.trim() ||
    first?.annotations.summary?.trim() ||
    d.commonLabels.alertname?.trim() ||
    first?.labels.alertname?.trim() ||
    'Alert from Alertmanager';
  // eslint-disable-next-line no-control-regex
  const line = raw
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/[\u202a-\u202e\u2066-\u2069]/g, '')
    .trim();
  const points = Array.from(line || 'Alert from Alertmanager');
  return points.length > MAX_TITLE_CODE_POINTS
    ? `${points.slice(0, MAX_TITLE_CODE_POINTS - 1).join('')}…`
    : points.join('');
}
