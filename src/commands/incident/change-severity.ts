// /incident severity <sev>: re-grades the incident; announced, and the card follows.
import { idsOn, type IdentityPlatform } from '../../domain/identity.js';
import { incidentKey } from '../../domain/incident.js';
import { parseSeverity } from '../../domain/severity.js';
import { afterSeverityChange } from '../../domain/reminders.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { tokenText } from '../parse-command.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { severityLabel } from '../../views/incident-card.js';
import { takeIncident } from './find-incident.js';
import { changeIncident, recordEvent } from './record-event.js';

export async function changeSeverity(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.severity;
  const { incident: seen, args } = await takeIncident(ctx, usage);
  const text = args[0] ? tokenText(args[0]) : '';
  const severity = parseSeverity(text);
  if (!severity || args.length !== 1)
    throw invalidInput(`Give one severity, sev0 (worst) to sev3${text ? ` (not "${text}")` : ''}.`, usage);
  const key = incidentKey(seen.id);
  // The reminder schedule is recomputed from the incident as it is now: an update or a snooze that
  // landed a moment ago counts.
  return await changeIncident(ctx, seen, async (incident) => {
    if (incident.status === 'resolved')
      throw conflict(`${key} is resolved; reopen it first with /incident reopen ${key}.`);
    if (incident.severity === severity) return privateReply(`${key} is already ${severityLabel(severity)}.`);
    await recordEvent(ctx, incident, {
      kind: 'severity_changed',
      text: `Severity changed from ${severityLabel(incident.severity)} to ${severityLabel(severity)}`,
      data: { from: incident.severity, to: severity },
      // The reminder cadence follows the new severity, still counted from the last update.
      patch: {
        severity,
        ...afterSeverityChange(incident, ctx.deps.clock.now(), ctx.deps.config.incidents.severities[severity]),
      },
      broadcast: 'announce',
      // Responders of the new severity join the war room (already-present people are skipped).
      invite: idsOn(
        incident.platform as IdentityPlatform,
        ctx.deps.config.incidents.severities[severity].responders,
        ctx.deps.config.people,
      ),
    });
    return privateReply(`${key} is now ${severityLabel(severity)}.`);
  });
}
