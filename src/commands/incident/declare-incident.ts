// /incident <sev> <title>: records the incident and queues the war room; the chat work runs after the ack.
import { incidentKey, titleProblem } from '../../domain/incident.js';
import { looksLikeSeverity, parseSeverity } from '../../domain/severity.js';
import { invalidInput } from '../../errors.js';
import { chatPlatform } from '../command.js';
import type { HandlerContext } from '../context.js';
import { restText, tokenText } from '../parse-command.js';
import { channelReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { severityLabel } from '../../views/incident-card.js';
import { recordDeclaration } from '../../flows/declare-incident.js';
import { tieAlertGroup } from '../../flows/tie-alert-group.js';

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

  // The triage card's Declare button names its alert group; typed by hand it links the same way.
  const groupText = ctx.flags['alert-group'];
  if (groupText !== undefined && !/^[1-9]\d{0,11}$/.test(groupText))
    throw invalidInput(`--alert-group takes an alert group's number, not "${groupText}".`, usage);

  const incident = await ctx.write(async () => {
    const declared = await recordDeclaration(ctx.deps, {
      title,
      description,
      severity,
      platform: chatPlatform(ctx.input.platform),
      via: ctx.input.platform,
      actor: ctx.input.actor.id,
      ...(ctx.input.roomId && { origin: ctx.input.roomId }),
    });
    if (groupText !== undefined) await tieAlertGroup(ctx.deps.store, Number(groupText), declared);
    return declared;
  });
  ctx.concerns(incident.id);
  // What the war room job does: it invites the declarer and the severity's responders into the room;
  // nobody is paged.
  const responders = ctx.deps.config.incidents.severities[severity].responders.length > 0;
  return channelReply(
    `🚨 *${incidentKey(incident.id)}* declared (${severityLabel(severity)}): ${title}. Opening the war room${responders ? ` and inviting the ${severityLabel(severity)} responders` : ''}.`,
  );
}
