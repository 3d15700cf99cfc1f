// /incident <sev> <title>: records the incident and queues the war room; the chat work runs after the ack.
import { incidentKey, titleProblem } from '../../domain/incident.js';
import { looksLikeSeverity, parseSeverity } from '../../domain/severity.js';
import { invalidInput } from '../../errors.js';
import { afterUpdate } from '../../domain/reminders.js';
import { chatPlatform } from '../command.js';
import type { HandlerContext } from '../context.js';
import { restText, tokenText } from '../parse-command.js';
import { channelReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { severityLabel } from '../../views/incident-card.js';
import { playbookTexts } from '../../views/playbook-card.js';
import { OPEN_WAR_ROOM } from '../../ports/jobs.js';

export async function declareIncident(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.declare;
  const [first] = ctx.args;
  const severityText = first ? tokenText(first) : '';
  const severity = parseSeverity(severityText);
  if (!severity) {
    throw invalidInput(
      looksLikeSeverity(severityText) || severityText === ''
        ? `Unknown severity "${severityText}": use sev0 (worst) to sev3.`
        : 'Start with a severity (sev0 worst, sev3 least).',
      usage,
    );
  }
  // One line: titles become channel names, topics and notification text.
  const title = restText(ctx.args, 1)
    .replace(/[\t\n\r]+/g, ' ')
    .trim();
  const problem = titleProblem(title);
  if (problem) throw invalidInput(`Cannot declare: ${problem}.`, usage);
  const description = ctx.flags.description?.trim() || null;
  if (description && Array.from(description).length > 3000)
    throw invalidInput('The description is over 3000 characters.', usage);

  const { store, clock } = ctx.deps;
  const now = clock.now();
  const incident = await ctx.write(async () => {
    const created = await store.incidents.create(
      {
        title,
        description,
        severity,
        platform: chatPlatform(ctx.input.platform),
        declaredBy: ctx.input.actor.id,
        declaredAt: now,
        nextReminderAt: afterUpdate(now, ctx.deps.config.incidents.severities[severity]).nextReminderAt!,
      },
      ctx.input.platform,
    );
    await store.incidents.addEvent({
      incidentId: created.id,
      at: now,
      actor: ctx.input.actor.id,
      platform: ctx.input.platform,
      kind: 'declared',
      text: `Declared ${severityLabel(severity)}: ${title}`,
    });
    await store.playbooks.create(created.id, playbookTexts(ctx.deps.config, severity), {
      actor: ctx.input.actor.id,
      platform: ctx.input.platform,
    });
    // Where it was declared: Teams opens the war room as a thread of that channel.
    await store.jobs.enqueue({
      kind: OPEN_WAR_ROOM,
      key: `war-room:${created.id}`,
      payload: { incidentId: created.id, ...(ctx.input.roomId && { origin: ctx.input.roomId }) },
    });
    return created;
  });
  ctx.concerns(incident.id);
  // What the war room job does: it invites the declarer and the severity's responders into the room;
  // nobody is paged.
  const responders = ctx.deps.config.incidents.severities[severity].responders.length > 0;
  return channelReply(
    `🚨 *${incidentKey(incident.id)}* declared (${severityLabel(severity)}): ${title}. Opening the war room${responders ? ` and inviting the ${severityLabel(severity)} responders` : ''}.`,
  );
}
