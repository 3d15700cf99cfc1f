// /incident check [INC-n] <number> and /incident checklist [INC-n]: the incident's playbook checklist.
import { incidentKey, type Incident } from '../../domain/incident.js';
import { invalidInput, notFound } from '../../errors.js';
import type { PlaybookItem } from '../../ports/store.js';
import type { HandlerContext } from '../context.js';
import { tokenText } from '../parse-command.js';
import { mention, privateReply, timeToken, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { severityLabel } from '../../views/incident-card.js';
import { takeIncident } from './find-incident.js';
import { checklistCard, progressText } from '../../views/playbook-card.js';
import { recordEvent } from './record-event.js';
import { REFRESH_CHECKLIST } from '../../ports/jobs.js';

const noChecklist = (incident: Incident) =>
  notFound(
    `${incidentKey(incident.id)} has no checklist: the ${severityLabel(incident.severity)} playbook was empty when it was declared.`,
  );

const alreadyDone = (incident: Incident, item: PlaybookItem): Reply =>
  privateReply(
    `Item ${item.position} of ${incidentKey(incident.id)} (${item.text}) is already done by ${item.doneBy ? mention(item.doneBy) : 'someone'}${item.doneAt === null ? '' : ` at ${timeToken(item.doneAt)}`}; nothing changed.`,
  );

export async function checkItem(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.check;
  const { incident, args } = await takeIncident(ctx, usage);
  const key = incidentKey(incident.id);
  const typed = args.map(tokenText).join(' ');
  if (args.length !== 1 || !/^\d{1,6}$/.test(typed)) {
    const problem = typed ? `"${typed}" is not an item number` : 'No item number given';
    throw invalidInput(`${problem}: give one number as shown by /incident checklist ${key}.`, usage);
  }
  const position = Number(typed);
  const items = await ctx.deps.store.playbooks.items(incident.id);
  if (items.length === 0) throw noChecklist(incident);
  const item = items.find((i) => i.position === position);
  if (!item)
    throw invalidInput(`${key}'s checklist has items 1 to ${items.length}; there is no item ${position}.`, usage);
  if (item.doneAt !== null) return alreadyDone(incident, item);

  const { store, clock } = ctx.deps;
  const outcome = await ctx.write(async () => {
    const ticked = await store.playbooks.tick(
      incident.id,
      position,
      { actor: ctx.input.actor.id, platform: ctx.input.platform },
      clock.now(),
    );
    if (!ticked) throw invalidInput(`${key}'s checklist has no item ${position}.`, usage);
    if (!ticked.changed) return ticked; // someone else got there first
    const { event } = await recordEvent(ctx, incident, {
      kind: 'playbook_item_done',
      text: `✅ ${ticked.item.text}`,
      data: { position },
    });
    await store.jobs.enqueue({
      kind: REFRESH_CHECKLIST,
      key: `checklist:${incident.id}:${event.id}`,
      payload: { incidentId: incident.id },
    });
    return ticked;
  });
  if (!outcome.changed) return alreadyDone(incident, outcome.item);
  const now = await store.playbooks.items(incident.id);
  return privateReply(`✅ Item ${position} of ${key} done: ${outcome.item.text} (${progressText(now)}).`);
}

export async function showChecklist(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.checklist;
  const { incident, args } = await takeIncident(ctx, usage);
  if (args.length > 0) throw invalidInput('checklist takes only an incident id.', usage);
  const items = await ctx.deps.store.playbooks.items(incident.id);
  if (items.length === 0) throw noChecklist(incident);
  return privateReply(
    `*${incidentKey(incident.id)}* checklist: ${progressText(items)}.`,
    checklistCard(incident, items),
  );
}
