// deploy approve REQ-n (the Approve button): policy checks, then a guarded approval. The last
// approval needed moves the request to approved and queues its execution, in one transaction.
import { decideApproval, notPendingText, requestKey, type DeployRequest } from '../../domain/deploy-request.js';
import { conflict, forbidden } from '../../errors.js';
import { actorOf } from '../command.js';
import type { HandlerContext } from '../context.js';
import { mention, privateReply, type Reply } from '../../ports/reply.js';
import { changeRequest } from '../../flows/change-request.js';
import { DEPLOY_USAGE } from './deploy-usage.js';
import { expireRequest } from '../../flows/expire-request.js';
import { takeRequest } from './find-request.js';
import { undoProblem } from '../../flows/undo-check.js';

/**
 * A rollback of REQ-n whose target changed since it was requested (REQ-n rolled back by itself, or
 * another change went out) has nothing left to undo: it becomes void and the clicker hears why.
 */
async function undoneMeanwhile(ctx: HandlerContext, request: DeployRequest): Promise<Reply | undefined> {
  const undone = request.undoes === null ? undefined : await ctx.deps.store.deploys.get(request.undoes);
  const problem = undone && (await undoProblem(ctx.deps.store, undone));
  if (!problem) return undefined;
  const { store, clock } = ctx.deps;
  const key = requestKey(request.id);
  await ctx.write(
    async () =>
      await changeRequest(store, clock, request, {
        from: ['pending'],
        patch: { status: 'void', reason: problem, finishedAt: clock.now() },
        action: 'void',
        actor: ctx.input.actor.id,
        platform: ctx.input.platform,
        timeline: `${key} is void: ${problem}`,
      }),
  );
  return privateReply(`Nothing to approve: ${problem}. ${key} is void.`);
}

export async function approveRequest(ctx: HandlerContext): Promise<Reply> {
  const { request, policy } = await takeRequest(ctx, DEPLOY_USAGE.approve);
  const { store, clock } = ctx.deps;
  const actor = ctx.input.actor.id;
  const key = requestKey(request.id);
  const decision = decideApproval(
    request,
    actorOf(ctx.input, ctx.deps.config.people),
    policy,
    clock.now(),
    ctx.deps.config.people,
  );
  if (!decision.ok) {
    if (decision.reason === 'expired') {
      await ctx.write(
        async () =>
          await expireRequest(store, clock, request, { actor, platform: ctx.input.platform }, policy.required),
      );
      return privateReply(decision.message);
    }
    if (decision.reason === 'not_approver' || decision.reason === 'self_approval') throw forbidden(decision.message);
    throw conflict(decision.message);
  }
  const moot = await undoneMeanwhile(ctx, request);
  if (moot) return moot;
  const count = `${decision.approvals.length} of ${policy.required}`;
  const updated = await ctx.write(
    async () =>
      await changeRequest(store, clock, request, {
        from: ['pending'],
        changeCount: request.changeCount,
        patch: { approvals: decision.approvals, ...(decision.complete && { status: 'approved' as const }) },
        action: decision.complete ? 'approved' : 'approval',
        actor,
        platform: ctx.input.platform,
        timeline: `${key} approved by ${mention(actor)} (${count})${decision.complete ? '; rolling out' : ''}`,
      }),
  );
  if (!updated) {
    // Someone else changed it between our read and our write (another process): say what it is now.
    const now = await store.deploys.get(request.id);
    throw conflict(
      now && now.status !== 'pending'
        ? notPendingText(now)
        : `${key} changed while you approved it; look at its card and try again.`,
    );
  }
  return privateReply(
    decision.complete
      ? `You approved ${key} (${count}); firelane rolls it out now and updates the card as it goes.`
      : `You approved ${key} (${count}); it needs ${policy.required - decision.approvals.length} more.`,
  );
}
