// Alerts from monitoring (Alertmanager, Grafana): the neutral delivery, its idempotency key, rule
// matching, the incident title it implies and the links it carries. Pure.
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
/** The actor (and audit platform) of what a Grafana delivery does. */
export const GRAFANA_ACTOR = 'grafana';

/** Where a delivery came from: its endpoint, `/alerts/<source>`. */
export type AlertSource = 'alertmanager' | 'grafana';

const SOURCE_NAMES: Record<AlertSource, string> = { alertmanager: 'Alertmanager', grafana: 'Grafana' };
const SOURCE_ACTORS: Record<AlertSource, string> = { alertmanager: ALERTMANAGER_ACTOR, grafana: GRAFANA_ACTOR };

/** The name people read for a source: "Alertmanager", "Grafana". */
export const sourceName = (source: AlertSource): string => SOURCE_NAMES[source];
/** The actor (and audit platform) of what a delivery from `source` does. */
export const alertActor = (source: AlertSource): string => SOURCE_ACTORS[source];
/** The name shown for an actor that is an alert source ("Alertmanager", "Grafana"), else undefined (a person). */
export const alertActorName = (actor: string): string | undefined =>
  actor === ALERTMANAGER_ACTOR ? SOURCE_NAMES.alertmanager : actor === GRAFANA_ACTOR ? SOURCE_NAMES.grafana : undefined;

export type AlertStatus = 'firing' | 'resolved';

export interface Alert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  /** Grafana only: the links Grafana adds to each alert ("" when it has none), as sent (check with safeLink). */
  silenceURL?: string;
  dashboardURL?: string;
  panelURL?: string;
  imageURL?: string;
  /** Grafana only: the values of the rule's queries and expressions (refId -> value). */
  values?: Record<string, number>;
}

/** What Grafana adds to a delivery (its webhook body, version "1"). */
export interface GrafanaExtras {
  orgId: number;
  /** The contact point's templated title (by default `[FIRING:n] <group labels> (<common labels>)`). */
  title: string;
  /** "alerting" or "ok". */
  state: string;
  /** The contact point's templated message, cut to 4,000 code points. */
  message: string;
}

/** One webhook delivery of a group of alerts, as stored with its job. */
export interface AlertDelivery {
  source: AlertSource;
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
  /** Present on deliveries from Grafana only. */
  grafana?: GrafanaExtras;
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

/** Grafana's default title starts with the group's status (`[FIRING:2] `, `[RESOLVED] `), which changes. */
const GRAFANA_STATUS_PREFIX = /^\s*\[(?:FIRING(?::\d+)?|RESOLVED)\]\s*/i;

/**
 * The incident title. From Grafana: its title without the leading `[FIRING:n]`/`[RESOLVED]`. Else (and
 * when Grafana's title is empty): commonAnnotations.summary, else the first alert's summary, else its
 * alert name; on one line, without control or text-direction characters, cut to the title limit.
 */
export function alertTitle(d: AlertDelivery): string {
  const first = d.alerts[0];
  const fallback = `Alert from ${sourceName(d.source)}`;
  const raw =
    d.grafana?.title.replace(GRAFANA_STATUS_PREFIX, '').trim() ||
    d.commonAnnotations.summary?.trim() ||
    first?.annotations.summary?.trim() ||
    d.commonLabels.alertname?.trim() ||
    first?.labels.alertname?.trim() ||
    fallback;
  return oneLine(raw, MAX_TITLE_CODE_POINTS, fallback);
}

/**
 * Alert text on one line: control characters become spaces, text-direction controls go, cut to `max`
 * code points with an ellipsis; `fallback` when nothing is left.
 */
export function oneLine(raw: string, max: number, fallback: string): string {
  // eslint-disable-next-line no-control-regex
  const line = raw
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/[\u202a-\u202e\u2066-\u2069]/g, '')
    .trim();
  const points = Array.from(line || fallback);
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : points.join('');
}

/**
 * How long a link may be to be shown, counting each `&` as 5 (`&amp;`): a link is left out rather
 * than cut (a silence link cut short would lose matchers), and this fits in Slack's 2,000-character
 * field with its label.
 */
const MAX_LINK_LENGTH = 1900;

/** `text` as a link to show: an absolute http(s) URL without user info, normalised; else undefined. */
export function safeLink(text: string | undefined): string | undefined {
  const trimmed = text?.trim() ?? '';
  // eslint-disable-next-line no-control-regex
  if (!trimmed || trimmed.length > 2 * MAX_LINK_LENGTH || /[\s\u0000-\u001f\u007f]/.test(trimmed)) return undefined;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  const escaped = url.href.length + 4 * (url.href.match(/&/g)?.length ?? 0);
  return escaped > MAX_LINK_LENGTH ? undefined : url.href;
}

export interface AlertLink {
  label: 'Source' | 'Dashboard' | 'Panel' | 'Silence' | 'Image';
  url: string;
}

/** An alert's links worth following, labelled, only http(s) ones: its source (generatorURL) and Grafana's. */
export function alertLinks(alert: Alert | undefined): AlertLink[] {
  if (!alert) return [];
  const links: [AlertLink['label'], string | undefined][] = [
    ['Source', alert.generatorURL],
    ['Dashboard', alert.dashboardURL],
    ['Panel', alert.panelURL],
    ['Silence', alert.silenceURL],
    ['Image', alert.imageURL],
  ];
  return links.flatMap(([label, text]) => {
    const url = safeLink(text);
    return url ? [{ label, url }] : [];
  });
}
