// A resolution's writes when no person asked for it (an alert incident whose alerts all resolved):
// the status, the `resolved` event announced like /incident resolve's, and the postmortem reminder.
// The caller holds the transaction and has read `incident` in it.
import { formatDuration } from '../domain/duration.js';
import type { Incident } from '../domain/incident.js';
import type { Clock } from '../ports/clock.js';
import { BROADCAST, POSTMORTEM_REMINDER, REFRESH_TOPIC } from '../ports/jobs.js';
import type { Store } from '../ports/store.js';

export const POSTMORTEM_REMINDER_DELAY_MS = 48 * 3_600_000;

export async function recordResolution(
  deps: { store: Store; clock: Clock },
  incident: Incident,
  by: { actor: string; platform: string; why: string },
): Promise<Incident> {
  const { store, clock } = deps;
  const now = clock.now();
  const updated = await store.incidents.update(
    incident.id,
    { status: 'resolved', resolvedAt: now, nextReminderAt: null, missedReminders: 0, snoozedUntil: null },
    { actor: by.actor, platform: by.platform, action: 'incident.resolved' },
    incident,
  );
  const event = await store.incidents.addEvent({
    incidentId: incident.id,
    at: now,
    actor: by.actor,
    platform: by.platform,
    kind: 'resolved',
    text: `Resolved after ${formatDuration(now - incident.declaredAt)}. ${by.why}`,
    data: { durationMs: now - incident.declaredAt, actionItems: [], automatic: true },
  });
  await store.jobs.enqueueMany([
    { kind: REFRESH_TOPIC, key: `topic:${incident.id}:${event.id}`, payload: { incidentId: incident.id } },
    {
      kind: BROADCAST,
      key: `broadcast:${event.id}`,
      payload: { incidentId: incident.id, eventId: event.id, announce: true },
    },
    {
      kind: POSTMORTEM_REMINDER,
      key: `postmortem-reminder:${incident.id}:${event.id}`,
      payload: { incidentId: incident.id, resolvedAt: now },
      runAt: now + POSTMORTEM_REMINDER_DELAY_MS,
    },
  ]);
  return updated;
}
