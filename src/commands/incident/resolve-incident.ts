// /incident resolve [--root-cause=...] [--action-items="a; b"]: stops reminders, announces the
// resolution with its duration, records action items, and reminds about the postmortem 48 h later.
import { incidentKey } from '../../domain/incident.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident } from './find-incident.js';
import { changeIncident } from './record-event.js';
import { POSTMORTEM_REMINDER_DELAY_MS, recordResolution } from '../../flows/resolve-incident.js';

export { POSTMORTEM_REMINDER_DELAY_MS };
const MAX_TEXT = 3000;

export async function resolveIncident(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.resolve;
  const { incident: seen, args } = await takeIncident(ctx, usage);
  if (args.length > 0) throw invalidInput('resolve takes only --root-cause and --action-items (quote them).', usage);
  const key = incidentKey(seen.id);
  const rootCause = ctx.flags['root-cause']?.trim() || null;
  const actionItems = (ctx.flags['action-items'] ?? '')
    .split(/[;\n]/)
    .map((item) => item.trim())
    .filter(Boolean);
  if (rootCause && Array.from(rootCause).length > MAX_TEXT)
    throw invalidInput(`The root cause is over ${MAX_TEXT} characters.`, usage);
  if (actionItems.some((item) => Array.from(item).length > 500))
    throw invalidInput('An action item is over 500 characters.', usage);

  // Decided where it is written: of two resolves at once, the second finds the incident resolved.
  return await changeIncident(ctx, seen, async (incident) => {
    if (incident.status === 'resolved')
      throw conflict(`${key} is already resolved. To open it again: /incident reopen ${key}`);
    const { took } = await ctx.write(() =>
      recordResolution(
        ctx.deps,
        incident,
        { actor: ctx.input.actor.id, platform: ctx.input.platform },
        {
          rootCause,
          actionItems,
        },
      ),
    );
    return privateReply(
      `${key} resolved after ${took}. Reminders stopped; the postmortem is due in 48h (draft it with /incident postmortem ${key}).`,
    );
  });
}
