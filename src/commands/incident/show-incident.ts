// /incident show [INC-n]: the card and the timeline.
import { invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { mention, privateReply, timeToken, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { incidentCard, roomText } from '../../views/incident-card.js';
import { takeIncident } from './find-incident.js';
import { checklistLine, progressText } from '../../views/playbook-card.js';

const MAX_EVENTS = 40;

export async function showIncident(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.show;
  const { incident, args } = await takeIncident(ctx, usage);
  if (args.length > 0) throw invalidInput('show takes only an incident id.', usage);
  const events = await ctx.deps.store.incidents.timeline(incident.id);
  const shown = events.slice(-MAX_EVENTS);
  const checklist = await ctx.deps.store.playbooks.items(incident.id);
  const lines = [
    `*Timeline* (${events.length} event${events.length === 1 ? '' : 's'}${events.length > MAX_EVENTS ? `, last ${MAX_EVENTS} shown` : ''}) · ${roomText(incident)}`,
    ...shown.map((e) => `${timeToken(e.at)} · ${mention(e.actor)} · ${e.text}`),
    ...(checklist.length > 0 ? ['', `*Checklist* (${progressText(checklist)})`, ...checklist.map(checklistLine)] : []),
  ];
  return privateReply(lines.join('\n'), incidentCard(incident));
}
