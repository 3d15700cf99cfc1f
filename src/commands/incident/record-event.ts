// The one way a command changes an incident: decided on the incident as it is inside the write
// transaction, then patch + timeline event + (optional) broadcast job, atomically.
import type { Incident } from '../../domain/incident.js';
import type { IncidentPatch, TimelineEvent } from '../../ports/store.js';
import type { HandlerContext } from '../context.js';
import { BROADCAST, REFRESH_TOPIC } from '../../ports/jobs.js';

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

export async function recordEvent(
  ctx: HandlerContext,
  incident: Incident,
  spec: EventSpec,
): Promise<{ incident: Incident; event: TimelineEvent }> {
  const { store, clock } = ctx.deps;
  return await ctx.write(async () => {
    const by = { actor: ctx.input.actor.id, platform: ctx.input.platform, action: `incident.${spec.kind}` };
    const updated = spec.patch ? await store.incidents.update(incident.id, spec.patch, by) : incident;
    const event = await store.incidents.addEvent({
      incidentId: incident.id,
      at: clock.now(),
      actor: ctx.input.actor.id,
      platform: ctx.input.platform,
      kind: spec.kind,
      text: spec.text,
      ...(spec.data && { data: spec.data }),
    });
    // Any change to the incident itself may change the war room's topic.
    if (spec.patch) {
      await store.jobs.enqueue({
        kind: REFRESH_TOPIC,
        key: `topic:${incident.id}:${event.id}`,
        payload: { incidentId: incident.id },
      });
    }
    if (spec.broadcast) {
      await store.jobs.enqueue({
        kind: BROADCAST,
        key: `broadcast:${event.id}`,
        payload: {
          incidentId: incident.id,
          eventId: event.id,
          announce: spec.broadcast === 'announce',
          ...(spec.invite?.length && { invite: spec.invite }),
        },
      });
    }
    return { incident: updated, event };
  });
}

/**
 * Runs `decide` in the command's write transaction on the incident as it is there, so what it checks
 * still holds when its write lands: PostgreSQL reads the row FOR UPDATE and holds it to the end (the
 * same command on another replica waits, then sees this one's write), and SQLite holds the whole
 * database. `seen`, read before, only names the incident; the answer comes from what `decide` decided.
 */
export async function changeIncident<T>(
  ctx: HandlerContext,
  seen: Incident,
  decide: (incident: Incident) => Promise<T>,
): Promise<T> {
  return await ctx.write(async () => await decide((await ctx.deps.store.incidents.get(seen.id)) ?? seen));
}
