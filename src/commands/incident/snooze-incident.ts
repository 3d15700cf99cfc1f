// /incident snooze <duration>: no reminder until now + duration; then the usual cadence resumes.
import { formatDuration, parseDuration } from '../../domain/duration.js';
import { incidentKey } from '../../domain/incident.js';
import { afterSnooze } from '../../domain/reminders.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { restText } from '../parse-command.js';
import { privateReply, timeToken, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident } from './find-incident.js';
import { changeIncident, recordEvent } from './record-event.js';

/** Longer than this is not a snooze but a forgotten incident: resolve it instead. */
const MAX_SNOOZE_MS = 24 * 3_600_000;

export async function snoozeIncident(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.snooze;
  const { incident: seen, args } = await takeIncident(ctx, usage);
  const text = restText(args);
  const durationMs = parseDuration(text);
  if (durationMs === undefined)
    throw invalidInput(`${text ? `"${text}" is not a duration` : 'Say for how long'} (use 30m, 2h).`, usage);
  if (durationMs > MAX_SNOOZE_MS)
    throw invalidInput(`Snooze at most 24h at a time (not ${formatDuration(durationMs)}).`, usage);
  const key = incidentKey(seen.id);
  return await changeIncident(ctx, seen, async (incident) => {
    if (incident.status === 'resolved') throw conflict(`${key} is resolved: it has no reminders to snooze.`);
    const schedule = afterSnooze(ctx.deps.clock.now(), durationMs);
    await recordEvent(ctx, incident, {
      kind: 'snoozed',
      text: `Reminders snoozed for ${formatDuration(durationMs)}, until ${timeToken(schedule.snoozedUntil)}`,
      data: { durationMs, until: schedule.snoozedUntil },
      patch: schedule,
      broadcast: 'room',
    });
    // The cadence after the snooze is the severity's as it is now (a change a moment ago counts).
    return privateReply(
      `No reminders for ${key} until ${timeToken(schedule.snoozedUntil)}; then every ${formatDuration(ctx.deps.config.incidents.severities[incident.severity].reminderEveryMs)} again.`,
    );
  });
}
