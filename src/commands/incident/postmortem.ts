// /incident postmortem [INC-n]: the Markdown postmortem draft, shown to the sender and uploaded to the war room.
import { incidentKey, type Incident } from '../../domain/incident.js';
import { invalidInput } from '../../errors.js';
import type { Store } from '../../ports/store.js';
import type { HandlerContext } from '../context.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { INCIDENT_USAGE } from '../usage.js';
import { takeIncident } from './find-incident.js';
import { postmortemMarkdown } from '../../views/postmortem-markdown.js';

export const UPLOAD_POSTMORTEM = 'incident.upload-postmortem';

export const postmortemFilename = (incident: Incident) => `${incidentKey(incident.id)}-postmortem.md`;

/**
 * The draft from what the store holds now, and how many timeline events it covers. `events` limits
 * the timeline to its first n events, so the upload job renders the document the command showed
 * even when events were added in between.
 */
export function postmortemFor(store: Store, incident: Incident, options: { now: number; events?: number }): { markdown: string; events: number } {
  const all = store.incidents.timeline(incident.id);
  const timeline = options.events === undefined ? all : all.slice(0, options.events);
  const markdown = postmortemMarkdown({
    incident,
    timeline,
    actionItems: store.incidents.actionItems(incident.id),
    playbook: store.playbooks.items(incident.id),
    now: options.now,
  });
  return { markdown, events: timeline.length };
}

export function postmortem(ctx: HandlerContext): Reply {
  const usage = INCIDENT_USAGE.postmortem;
  const { incident, args } = takeIncident(ctx, usage);
  if (args.length > 0) throw invalidInput('postmortem takes only an incident id.', usage);
  const { store, clock } = ctx.deps;
  const now = clock.now();
  const { markdown, events } = postmortemFor(store, incident, { now });
  if (incident.roomId) {
    // Keyed by the number of events: asking again with nothing new adds no second file.
    ctx.write(() =>
      store.jobs.enqueue({
        kind: UPLOAD_POSTMORTEM,
        key: `postmortem:${incident.id}:${events}`,
        payload: { incidentId: incident.id, events, at: now },
      }),
    );
  }
  return { ...privateReply(markdown), markdown: true };
}
