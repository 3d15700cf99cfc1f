// /incident list: open incidents, newest first.
import type { HandlerContext } from '../context.js';
import { privateReply, type Reply } from '../reply.js';
import { summaryLine } from './incident-card.js';

const MAX_LISTED = 50;

export function listIncidents(ctx: HandlerContext): Reply {
  const open = ctx.deps.store.incidents.listOpen(MAX_LISTED + 1);
  if (open.length === 0) return privateReply('No open incidents. ✅');
  const shown = open.slice(0, MAX_LISTED);
  const heading = open.length > MAX_LISTED ? `*More than ${MAX_LISTED} open incidents*; the newest ${MAX_LISTED}:` : `*${open.length} open incident${open.length === 1 ? '' : 's'}*`;
  return privateReply([heading, ...shown.map(summaryLine)].join('\n'));
}
