// /incident resolve [--root-cause=...] [--action-items="a; b"]: stops reminders, announces the
// resolution with its duration, records action items, and reminds about the postmortem 48 h later.
import { formatDuration } from '../../domain/duration.js';
import { incidentKey } from '../../domain/incident.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident } from './find-incident.js';
import { changeIncident, recordEvent } from './record-event.js';
import { POSTMORTEM_REMINDER } from '../../ports/jobs.js';
import { POSTMORTEM_REMINDER_DELAY_MS } from '../../flows/resolve-incident.js';

export { POSTMORTEM_REMINDER_DELAY_MS };
const MAX_TEXT = 3000;

/**
 * The root cause as one line of the announcement: a line break typed inside it would split it there
 * (the incident keeps it as typed, for the postmortem), and a full stop keeps it apart from the next
 * line where the event is shown on one line (the postmortem's timeline).
 */
function asSentence(text: string): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return /[.!?…]$/.test(line) ? line : `${line}.`;
}

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

  const { store, clock } = ctx.deps;
  // Decided where it is written: of two resolves at once, the second finds the incident resolved.
  return await changeIncident(ctx, seen, async (incident) => {
    if (incident.status === 'resolved')
      throw conflict(`${key} is already resolved. To open it again: /incident reopen ${key}`);
    const now = clock.now();
    const took = formatDuration(now - incident.declaredAt);
    const { event } = await recordEvent(ctx, incident, {
      kind: 'resolved',
      text: [
        `Resolved after ${took}.`,
        ...(rootCause ? [`Root cause: ${asSentence(rootCause)}`] : []),
        ...(actionItems.length ? [`Action items: ${actionItems.length}.`] : []),
      ].join('\n'),
      data: { durationMs: now - incident.declaredAt, ...(rootCause && { rootCause }), actionItems },
      patch: {
        status: 'resolved',
        resolvedAt: now,
        rootCause,
        nextReminderAt: null,
        missedReminders: 0,
        snoozedUntil: null,
      },
      broadcast: 'announce',
    });
    await store.incidents.addActionItems(
      incident.id,
      actionItems,
      { actor: ctx.input.actor.id, platform: ctx.input.platform },
      now,
    );
    await store.jobs.enqueue({
      kind: POSTMORTEM_REMINDER,
      key: `postmortem-reminder:${incident.id}:${event.id}`,
      payload: { incidentId: incident.id, resolvedAt: now },
      runAt: now + POSTMORTEM_REMINDER_DELAY_MS,
    });
    return privateReply(
      `${key} resolved after ${took}. Reminders stopped; the postmortem is due in 48h (draft it with /incident postmortem ${key}).`,
    );
  });
}
