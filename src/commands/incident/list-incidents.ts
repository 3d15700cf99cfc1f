// /incident list: open incidents, newest first.
import type { HandlerContext } from '../context.js';
import { privateReply, type Reply } from '../reply.js';
import { summaryLine } from './incident-card.js';

export function listIncidents(ctx: HandlerContext): Reply {
  const open = ctx.deps.store.incidents.list({ statuses: ['investigating', 'identified', 'monitoring'], limit: 50 });
  if (open.length === 0) return privateReply('No open incidents. ✅');
  return privateReply([`*${open.length} open incident${open.length === 1 ? '' : 's'}*`, ...open.map(summaryLine)].join('\n'));
}
