// /incident postmortem [INC-n]: the Markdown postmortem draft, shown to the sender and uploaded to the war room.
import { invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident } from './find-incident.js';
import { postmortemFor } from '../../views/postmortem-markdown.js';
import { UPLOAD_POSTMORTEM } from '../../ports/jobs.js';

export async function postmortem(ctx: HandlerContext): Promise<Reply> {
  const usage = INCIDENT_USAGE.postmortem;
  const { incident, args } = await takeIncident(ctx, usage);
  if (args.length > 0) throw invalidInput('postmortem takes only an incident id.', usage);
  const { store, clock } = ctx.deps;
  const now = clock.now();
  const { markdown, events } = await postmortemFor(store, incident, { now });
  if (incident.roomId) {
    // Keyed by the number of events: asking again with nothing new adds no second file.
    await ctx.write(
      async () =>
        await store.jobs.enqueue({
          kind: UPLOAD_POSTMORTEM,
          key: `postmortem:${incident.id}:${events}`,
          payload: { incidentId: incident.id, events, at: now },
        }),
    );
  }
  return { ...privateReply(markdown), markdown: true };
}
