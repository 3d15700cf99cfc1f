// /rollback <service> [--to=<version or revision>]: a pending rollback request; the job that posts
// the card checks the target against the ReplicaSet history and names the exact revision and image.
import { parseRollbackTarget, requestKey } from '../../domain/deploy-request.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { tokenText } from '../parse-command.js';
import { privateReply, type Reply } from '../reply.js';
import { DEPLOY_USAGE } from './deploy-usage.js';
import { createRequest, requestBasics } from './new-request.js';

export function requestRollback(ctx: HandlerContext): Reply {
  const usage = DEPLOY_USAGE.rollback;
  const [serviceToken, ...extra] = ctx.args;
  if (extra.length) {
    const word = tokenText(extra[0]!);
    throw invalidInput(`Unexpected "${word}"; to name the target, write --to=${word}.`, usage);
  }
  const to = ctx.flags.to;
  if (to !== undefined && (to === 'true' || !parseRollbackTarget(to))) {
    throw invalidInput(`--to takes a revision number or a version (image tag), e.g. --to=3 or --to=v2.1.0; "${to}" is neither.`, usage);
  }
  const basics = requestBasics(ctx, serviceToken, usage);
  const waiting = ctx.deps.store.deploys.pending(basics.service).find((r) => r.kind === 'rollback' && r.environment === basics.environment);
  if (waiting) {
    throw conflict(`${requestKey(waiting.id)} already asks to roll back ${basics.service} and waits for approval: approve or reject that one.`);
  }
  const target = to ?? null;
  const summary = `rollback of ${basics.service} (${basics.environment}) to ${target ? target : 'the previous revision'}`;
  const request = createRequest(ctx, 'rollback', basics, target, summary);
  return privateReply(`${requestKey(request.id)}: ${summary} requested. The card naming the exact revision and image follows once firelane has read the cluster.`);
}
