// Alertmanager's webhook body (webhook_config, payload version 4) checked with zod and turned into
// the neutral AlertDelivery; the first problem becomes the 400's reason.
import { z } from 'zod';
import type { AlertDelivery } from '../../domain/alert.js';
import { cleanStrings } from '../../domain/clean-text.js';

/** Alertmanager sends every alert of a group unless max_alerts cuts it; this caps what one body may hold. */
export const MAX_ALERTS = 1000;

const labelSet = z.record(z.string(), z.string());
const status = z.enum(['firing', 'resolved']);

const alertSchema = z.object({
  status,
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: z.string(),
  endsAt: z.string().default(''),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1),
});

const payloadSchema = z.object({
  version: z.literal('4', { error: 'version must be "4" (Alertmanager webhook payload version 4)' }),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status,
  receiver: z.string(),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().default(''),
  // Alertmanager 0.32+ (template.Data.NotificationReason): "first notification", "new alerts added",
  // "some alerts resolved", "all alerts resolved", "repeat interval elapsed" or "unknown".
  notification_reason: z.string().max(200).optional(),
  alerts: z.array(alertSchema).min(1).max(MAX_ALERTS),
});

const where = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : 'body');

/** The delivery, or why the body is not an Alertmanager version 4 payload. */
export function parseAlertmanagerPayload(json: unknown): { delivery: AlertDelivery } | { problem: string } {
  const result = payloadSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { problem: `${where(issue.path)}: ${issue.message}` };
  }
  const { version: _version, notification_reason: reason, ...body } = cleanStrings(result.data);
  return { delivery: { source: 'alertmanager', ...body, ...(reason !== undefined && { notificationReason: reason }) } };
}
