// A resolution's writes, for /incident resolve and for an alert incident whose alerts all resolved
// (alerts.autoResolve): the status, the `resolved` event announced, the action items and the
// postmortem reminder. The caller holds the transaction and has read `incident` in it.
import { formatDuration } from '../domain/duration.js';
import type { Incident } from '../domain/incident.js';
import type { Clock } from '../ports/clock.js';
import { POSTMORTEM_REMINDER } from '../ports/jobs.js';
import type { Store, TimelineEvent } from '../ports/store.js';
import { recordIncidentEvent, type ChangedBy } from './incident-event.js';

export const POSTMORTEM_REMINDER_DELAY_MS = 48 * 3_600_000;

export interface Resolution {
  /** Why, when nobody typed it (an automatic resolution): a sentence after the duration. */
  why?: string;
  rootCause?: string | null;
  actionItems?: readonly string[];
}

/**
 * The root cause as one line of the announcement: a line break typed inside it would split it there
 * (the incident keeps it as typed, for the postmortem), and a full stop keeps it apart from the next
 * line where the event is shown on one line (the postmortem's timeline).
 */
function asSentence(text: string): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return /[.!?…]$/.test(line) ? line : `${line}.`;
}

/**
 * Resolves `incident`, read in the caller's transaction (the command's, or an alert job's): status,
 * the `resolved` event announced, the action items, and the postmortem reminder 48 h later.
 */
export async function recordResolution(
  deps: { store: Store; clock: Clock },
  incident: Incident,
  by: ChangedBy,
  resolution: Resolution = {},
): Promise<{ incident: Incident; event: TimelineEvent; took: string }> {
  const { store, clock } = deps;
  const { why, rootCause = null, actionItems = [] } = resolution;
  const now = clock.now();
  const took = formatDuration(now - incident.declaredAt);
  const { incident: resolved, event } = await recordIncidentEvent(
    deps,
    incident,
    by,
    {
      kind: 'resolved',
      text: [
        `Resolved after ${took}.${why ? ` ${why}` : ''}`,
        ...(rootCause ? [`Root cause: ${asSentence(rootCause)}`] : []),
        ...(actionItems.length ? [`Action items: ${actionItems.length}.`] : []),
      ].join('\n'),
      data: {
        durationMs: now - incident.declaredAt,
        ...(rootCause && { rootCause }),
        actionItems: [...actionItems],
        ...(why && { automatic: true }),
      },
      patch: {
        status: 'resolved',
        resolvedAt: now,
        rootCause,
        nextReminderAt: null,
        missedReminders: 0,
        snoozedUntil: null,
      },
      broadcast: 'announce',
    },
    incident,
  );
  if (actionItems.length) await store.incidents.addActionItems(incident.id, [...actionItems], by, now);
  await store.jobs.enqueue({
    kind: POSTMORTEM_REMINDER,
    key: `postmortem-reminder:${incident.id}:${event.id}`,
    payload: { incidentId: incident.id, resolvedAt: now },
    runAt: now + POSTMORTEM_REMINDER_DELAY_MS,
  });
  return { incident: resolved, event, took };
}
