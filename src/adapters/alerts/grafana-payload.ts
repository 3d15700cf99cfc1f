// Grafana Alerting's webhook body (a webhook contact point's default payload, version "1") checked
// with zod and turned into the neutral AlertDelivery; the first problem becomes the 400's reason.
// The body is Alertmanager's template data (receiver, status, alerts, groupLabels, commonLabels,
// commonAnnotations, externalURL, groupKey, truncatedAlerts) plus Grafana's own fields (orgId,
// title, state, message) and per-alert links (silenceURL, dashboardURL, panelURL, imageURL) and
// query values. Grafana's Go maps marshal as null when empty, so label sets and values may be null.
import { z } from 'zod';
import type { AlertDelivery } from '../../domain/alert.js';
import { cleanStrings } from '../../domain/clean-text.js';
import { MAX_ALERTS } from './alertmanager-payload.js';

/** Grafana's default message lists every alert; more than this is not kept. */
export const MAX_GRAFANA_MESSAGE = 4000;

const labelSet = z
  .record(z.string(), z.string())
  .nullish()
  .transform((v) => v ?? {});
const status = z.enum(['firing', 'resolved']);
const link = z
  .string()
  .nullish()
  .transform((v) => v ?? '');

const alertSchema = z.object({
  status,
  labels: labelSet,
  annotations: labelSet,
  startsAt: z.string(),
  endsAt: z.string().default(''),
  generatorURL: link,
  fingerprint: z.string().min(1),
  silenceURL: link,
  dashboardURL: link,
  panelURL: link,
  imageURL: link,
  values: z
    .record(z.string(), z.number())
    .nullish()
    .transform((v) => v ?? {}),
});

const payloadSchema = z.object({
  version: z.literal('1', {
    error:
      'version must be "1" (Grafana webhook contact point, default payload; a custom payload template is not read)',
  }),
  receiver: z.string(),
  status,
  orgId: z.number().int().default(0),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative().nullish(),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: z.string().default(''),
  title: z.string().default(''),
  state: z.string().default(''),
  message: z.string().default(''),
  alerts: z.array(alertSchema).min(1).max(MAX_ALERTS),
});

const where = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : 'body');

/** The delivery, or why the body is not Grafana's webhook payload. */
export function parseGrafanaPayload(json: unknown): { delivery: AlertDelivery } | { problem: string } {
  const result = payloadSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { problem: `${where(issue.path)}: ${issue.message}` };
  }
  const body = cleanStrings(result.data);
  const message = Array.from(body.message);
  return {
    delivery: {
      source: 'grafana',
      receiver: body.receiver,
      groupKey: body.groupKey,
      status: body.status,
      truncatedAlerts: body.truncatedAlerts ?? 0,
      groupLabels: body.groupLabels,
      commonLabels: body.commonLabels,
      commonAnnotations: body.commonAnnotations,
      externalURL: body.externalURL,
      alerts: body.alerts.map((a) => ({
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        endsAt: a.endsAt,
        generatorURL: a.generatorURL,
        fingerprint: a.fingerprint,
        silenceURL: a.silenceURL,
        dashboardURL: a.dashboardURL,
        panelURL: a.panelURL,
        imageURL: a.imageURL,
        values: a.values,
      })),
      grafana: {
        orgId: body.orgId,
        title: body.title,
        state: body.state,
        message:
          message.length > MAX_GRAFANA_MESSAGE
            ? `${message.slice(0, MAX_GRAFANA_MESSAGE - 1).join('')}…`
            : body.message,
      },
    },
  };
}
