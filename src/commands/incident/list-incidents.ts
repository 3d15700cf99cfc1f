// /incident list: open incidents, newest first.
import type { Incident } from '../../domain/incident.js';
import type { HandlerContext } from '../context.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { summaryLine } from '../../views/incident-card.js';

const MAX_LISTED = 50;

// The store hands out the same frozen list until an incident changes; its reply is built once and
// frozen, so renderers may keep their rendering of it too (everyone asks during an incident).
const replies = new WeakMap<readonly Incident[], Reply>();

export async function listIncidents(ctx: HandlerContext): Promise<Reply> {
  const open = await ctx.deps.store.incidents.listOpen(MAX_LISTED + 1);
  let reply = replies.get(open);
  if (!reply) replies.set(open, (reply = Object.freeze(listReply(open))));
  return reply;
}

function listReply(open: readonly Incident[]): Reply {
  if (open.length === 0) return privateReply('No open incidents. ✅');
  const shown = open.slice(0, MAX_LISTED);
  const heading =
    open.length > MAX_LISTED
      ? `*More than ${MAX_LISTED} open incidents*; the newest ${MAX_LISTED}:`
      : `*${open.length} open incident${open.length === 1 ? '' : 's'}*`;
  return privateReply([heading, ...shown.map(summaryLine)].join('\n'));
}
