// The one way an incident changes, for commands and jobs alike: patch + timeline event + the jobs
// that follow (the war room's topic, a broadcast), in the caller's transaction.
import type { Incident } from '../domain/incident.js';
import type { Clock } from '../ports/clock.js';
import { BROADCAST, REFRESH_TOPIC } from '../ports/jobs.js';
import type { IncidentPatch, NewJob, Store, TimelineEvent } from '../ports/store.js';

export interface EventSpec {
  kind: string;
  text: string;
  data?: Record<string, unknown>;
  patch?: IncidentPatch;
  /** Post the event in the war room ('room') and also in the announcement channel ('announce'). */
  broadcast?: 'room' | 'announce';
  /** People to invite into the war room along with the broadcast (a new commander, new responders). */
  invite?: string[];
}

/** Who changes the incident: the actor and what proved them (the audit row's platform). */
export interface ChangedBy {
  actor: string;
  platform: string;
}

/**
 * Records the change. `current`: the incident as read earlier in this transaction, so the patch's
 * audit does not read it again; leave it out when `incident` was read before the transaction.
 */
export async function recordIncidentEvent(
  deps: { store: Store; clock: Clock },
  incident: Incident,
  by: ChangedBy,
  spec: EventSpec,
  current?: Incident,
): Promise<{ incident: Incident; event: TimelineEvent }> {
  const { store, clock } = deps;
  const audit = { ...by, action: `incident.${spec.kind}` };
  const updated = spec.patch ? await store.incidents.update(incident.id, spec.patch, audit, current) : incident;
  const event = await store.incidents.addEvent({
    incidentId: incident.id,
    at: clock.now(),
    actor: by.actor,
    platform: by.platform,
    kind: spec.kind,
    text: spec.text,
    ...(spec.data && { data: spec.data }),
  });
  const follow: NewJob[] = [];
  // Any change to the incident itself may change the war room's topic.
  if (spec.patch)
    follow.push({ kind: REFRESH_TOPIC, key: `topic:${incident.id}:${event.id}`, payload: { incidentId: incident.id } });
  if (spec.broadcast)
    follow.push({
      kind: BROADCAST,
      key: `broadcast:${event.id}`,
      payload: {
        incidentId: incident.id,
        eventId: event.id,
        announce: spec.broadcast === 'announce',
        ...(spec.invite?.length && { invite: spec.invite }),
      },
    });
  // One statement for both on PostgreSQL.
  await store.jobs.enqueueMany(follow);
  return { incident: updated, event };
}
