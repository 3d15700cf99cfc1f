// /incident reopen [INC-n]: a resolved incident comes back; reminders resume from now.
import { incidentKey } from '../../domain/incident.js';
import { afterUpdate } from '../../domain/reminders.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident } from './find-incident.js';
import { changeIncident, recordEvent } from './record-event.js';

export async function reopenIncident(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.reopen;
  const { incident: seen, args } = await takeIncident(ctx, usage);
  if (args.length > 0) throw invalidInput('reopen takes only an incident id.', usage);
  const key = incidentKey(seen.id);
  return await changeIncident(ctx, seen, async (incident) => {
    if (incident.status !== 'resolved') throw conflict(`${key} is not resolved (it is ${incident.status}).`);
    const now = ctx.deps.clock.now();
    await recordEvent(ctx, incident, {
      kind: 'reopened',
      text: 'Reopened',
      patch: {
        status: 'investigating',
        resolvedAt: null,
        lastUpdateAt: now,
        ...afterUpdate(now, ctx.deps.config.incidents.severities[incident.severity]),
        snoozedUntil: null,
      },
      broadcast: 'announce',
    });
    return privateReply(`${key} is open again (investigating); reminders resume.`);
  });
}
