// The one way a command changes an incident: decided on the incident as it is inside the write
// transaction, then patch + timeline event + (optional) broadcast job, atomically (flows/incident-event.ts).
import type { Incident } from '../../domain/incident.js';
import { recordIncidentEvent, type EventSpec } from '../../flows/incident-event.js';
import type { TimelineEvent } from '../../ports/store.js';
import type { HandlerContext } from '../context.js';

export type { EventSpec };

/** The change by the command's actor, in its write transaction (flows/incident-event.ts). */
export async function recordEvent(
  ctx: HandlerContext,
  incident: Incident,
  spec: EventSpec,
): Promise<{ incident: Incident; event: TimelineEvent }> {
  const by = { actor: ctx.input.actor.id, platform: ctx.input.platform };
  return await ctx.write(() => recordIncidentEvent(ctx.deps, incident, by, spec));
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
