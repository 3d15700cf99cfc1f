// /incident note <text>: a line in the timeline.
import { incidentKey } from '../../domain/incident.js';
import { invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { restText } from '../parse-command.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident } from './find-incident.js';
import { recordEvent } from './record-event.js';

export async function addNote(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.note;
  const { incident, args } = await takeIncident(ctx, usage);
  const text = restText(args);
  if (!text) throw invalidInput('The note is empty.', usage);
  if (Array.from(text).length > 3000) throw invalidInput('The note is over 3000 characters.', usage);
  await recordEvent(ctx, incident, { kind: 'note', text });
  return privateReply(`Added to the timeline of ${incidentKey(incident.id)}.`);
}
