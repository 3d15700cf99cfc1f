// deploy reject REQ-n [reason] (the Reject button): an approver turns it down, or the requester withdraws it.
import { isExpired, mayReject, notPendingText, requesterRef, requestKey } from '../../domain/deploy-request.js';
import { cutText } from '../../domain/clean-text.js';
import { sameParty } from '../../domain/identity.js';
import { actorOf } from '../command.js';
import { conflict, forbidden } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { restText } from '../parse-command.js';
import { mention, privateReply, type Reply } from '../../ports/reply.js';
import { changeRequest } from '../../flows/change-request.js';
import { DEPLOY_USAGE } from './deploy-usage.js';
import { expireRequest } from '../../flows/expire-request.js';
import { takeRequest } from './find-request.js';

/** Characters of a rejection's reason kept (the card and the timeline show it). */
const MAX_REASON = 500;

export async function rejectRequest(ctx: HandlerContext): Promise<Reply> {
  const { request, policy, args } = await takeRequest(ctx, DEPLOY_USAGE.reject);
  const { store, clock } = ctx.deps;
  const actor = ctx.input.actor.id;
  const key = requestKey(request.id);
  if (request.status !== 'pending') throw conflict(notPendingText(request));
  const people = ctx.deps.config.people;
  if (!mayReject(request, actorOf(ctx.input, people), policy, people)) {
    throw forbidden(`Only the requester or an approver for ${request.environment} can reject ${key}.`);
  }
  if (isExpired(request, clock.now())) {
    await ctx.write(
      async () => await expireRequest(store, clock, request, { actor, platform: ctx.input.platform }, policy.required),
    );
    return privateReply(`${key} had already expired; nothing will run.`);
  }
  const reason = cutText(restText(args).replace(/[\r\n]+/g, ' '), MAX_REASON) || null;
  const updated = await ctx.write(
    async () =>
      await changeRequest(store, clock, request, {
        from: ['pending'],
        patch: { status: 'rejected', rejectedBy: actor, reason, finishedAt: clock.now() },
        action: 'rejected',
        actor,
        platform: ctx.input.platform,
        timeline: `${key} rejected by ${mention(actor)}${reason ? `: ${reason}` : ''}`,
      }),
  );
  if (!updated) {
    const now = await store.deploys.get(request.id);
    throw conflict(now ? notPendingText(now) : `${key} changed meanwhile; look at its card.`);
  }
  return privateReply(
    `You ${sameParty(actorOf(ctx.input, people), requesterRef(request)) ? 'withdrew' : 'rejected'} ${key}; nothing will run.`,
  );
}
