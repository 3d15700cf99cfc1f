// /incident lead @user and /incident comms @user.
import { incidentKey } from '../../domain/incident.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { mention, privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident, takeUser } from './find-incident.js';
import { changeIncident, recordEvent } from './record-event.js';

const ROLES = {
  lead: { field: 'commander', title: 'incident commander' },
  comms: { field: 'commsLead', title: 'communications lead' },
} as const;

export function assignRole(role: keyof typeof ROLES) {
  return async (ctx: HandlerContext): Promise<Reply> => {
    const usage = INCIDENT_USAGE[role];
    const { incident: seen, args } = await takeIncident(ctx, usage);
    if (args.length !== 1) throw invalidInput('Name exactly one person.', usage);
    const user = takeUser(ctx, args[0], usage);
    const { field, title } = ROLES[role];
    const key = incidentKey(seen.id);
    // The same click delivered twice to two replicas assigns once.
    return await changeIncident(ctx, seen, async (incident) => {
      if (incident.status === 'resolved')
        throw conflict(`${key} is resolved; reopen it first with /incident reopen ${key}.`);
      if (incident[field] === user) return privateReply(`${mention(user)} is already the ${title} of ${key}.`);
      // The card's "Take command" button must not silently take over from a commander assigned since.
      if (ctx.flags.take === 'true' && incident[field]) {
        throw conflict(
          `${mention(incident[field]!)} is already the ${title} of ${key}. To hand over: /incident ${role} ${key} @person`,
        );
      }
      await recordEvent(ctx, incident, {
        kind: 'role_assigned',
        text: `${mention(user)} is now the ${title}${user === ctx.input.actor.id ? '' : ` (assigned by ${mention(ctx.input.actor.id)})`}`,
        data: { role: field, user, previous: incident[field] },
        patch: { [field]: user },
        broadcast: 'room',
        invite: [user],
      });
      return privateReply(`${mention(user)} is now the ${title} of ${key}.`);
    });
  };
}
