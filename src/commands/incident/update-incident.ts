// /incident update <status> <text> [--eta=]: records a status update; it is posted to the war room and announced.
import { UPDATE_STATUSES, incidentKey, type UpdateStatus } from '../../domain/incident.js';
import { formatDuration, parseDuration } from '../../domain/duration.js';
import { afterUpdate } from '../../domain/reminders.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { restText, tokenText } from '../parse-command.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident } from './find-incident.js';
import { changeIncident, recordEvent } from './record-event.js';

export async function updateIncident(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.update;
  const { incident: seen, args } = await takeIncident(ctx, usage);
  const statusText = args[0] ? tokenText(args[0]).toLowerCase() : '';
  if (!(UPDATE_STATUSES as readonly string[]).includes(statusText)) {
    throw invalidInput(
      `Start the update with a status: ${UPDATE_STATUSES.join(', ')}${statusText ? ` (not "${statusText}")` : ''}.`,
      usage,
    );
  }
  const status = statusText as UpdateStatus;
  const text = restText(args, 1);
  if (!text) throw invalidInput('The update needs some text: what is known, what is being done.', usage);
  const etaMs = ctx.flags.eta === undefined ? undefined : parseDuration(ctx.flags.eta);
  if (ctx.flags.eta !== undefined && etaMs === undefined)
    throw invalidInput(`--eta="${ctx.flags.eta}" is not a duration (use 30m, 2h).`, usage);
  const key = incidentKey(seen.id);
  const eta = etaMs === undefined ? '' : ` (ETA ${formatDuration(etaMs)})`;
  // An update never reopens an incident resolved a moment ago, and its reminder follows the severity
  // the incident has now.
  return await changeIncident(ctx, seen, async (incident) => {
    if (incident.status === 'resolved')
      throw conflict(`${key} is resolved; reopen it first with /incident reopen ${key}.`);
    const now = ctx.deps.clock.now();
    await recordEvent(ctx, incident, {
      kind: 'status_update',
      text: `*${status.toUpperCase()}*: ${text}${eta}`,
      data: { status, ...(etaMs !== undefined && { etaMs }) },
      // The reminder clock restarts from this update; a snooze ends with it.
      patch: {
        status,
        lastUpdateAt: now,
        ...afterUpdate(now, ctx.deps.config.incidents.severities[incident.severity]),
        snoozedUntil: null,
      },
      broadcast: 'announce',
    });
    return privateReply(`Update for ${key} recorded; posting it to the war room and the announcement channel.`);
  });
}
