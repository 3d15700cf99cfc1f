// An alert group's state across deliveries: each alert by fingerprint, the group's status, and the
// incident it is tied to. Pure: the store keeps it (ports/store.ts AlertGroupRecords).
import type { Alert, AlertDelivery, AlertStatus } from './alert.js';

/** What a group remembers of one alert. */
export interface AlertState {
  status: AlertStatus;
  startsAt: string;
  endsAt: string;
}

/** A group is (source, receiver, groupKey). */
export interface AlertGroupRef {
  source: string;
  receiver: string;
  groupKey: string;
}

export interface AlertGroup extends AlertGroupRef {
  id: number;
  /** The rule's service at the last delivery (attachWindow finds the incidents of a service by it). */
  service: string | null;
  /** The incident the group is tied to (declared from it, joined by attachWindow, or declared with its card's button). */
  incidentId: number | null;
  /** The tied incident was declared from this group's alert (not by a person, not joined). */
  declared: boolean;
  status: AlertStatus;
  /** Every alert seen in the group, by fingerprint. */
  alerts: Record<string, AlertState>;
  /** The triage card posted for the group (updated in place by later deliveries), if any. */
  cardRef: string | null;
  firstDeliveryAt: number;
  lastDeliveryAt: number;
}

export type NewAlertGroup = Omit<AlertGroup, 'id'>;
export type AlertGroupPatch = Partial<
  Pick<AlertGroup, 'service' | 'incidentId' | 'declared' | 'status' | 'alerts' | 'cardRef' | 'lastDeliveryAt'>
>;

/** Alertmanager's `notification_reason` (0.32+) for a group re-sent unchanged after repeat_interval. */
export const REPEAT_INTERVAL_ELAPSED = 'repeat interval elapsed';

/**
 * The group's alerts after a delivery: each alert sent replaces what was known of its fingerprint; an
 * alert the delivery does not carry (cut by max_alerts, or simply not re-sent) keeps its state, since
 * its absence says nothing about it.
 */
export function mergeAlerts(known: Record<string, AlertState>, sent: readonly Alert[]): Record<string, AlertState> {
  const merged = { ...known };
  for (const a of sent) merged[a.fingerprint] = { status: a.status, startsAt: a.startsAt, endsAt: a.endsAt };
  return merged;
}

/**
 * The group's status after a delivery. Resolved only when Alertmanager says the whole group resolved
 * (it sets `status: resolved` only when every alert has) and cut nothing (`truncatedAlerts` 0), or when
 * every alert the group ever had is resolved. A truncated delivery whose sent alerts are all resolved
 * does not resolve it: the alerts not sent may still fire.
 */
export function groupStatus(
  delivery: Pick<AlertDelivery, 'status' | 'truncatedAlerts'>,
  alerts: Record<string, AlertState>,
): AlertStatus {
  if (delivery.status === 'resolved' && delivery.truncatedAlerts === 0) return 'resolved';
  if (delivery.truncatedAlerts > 0) return 'firing';
  const states = Object.values(alerts);
  return states.length > 0 && states.every((a) => a.status === 'resolved') ? 'resolved' : 'firing';
}
