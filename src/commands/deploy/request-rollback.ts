// /rollback <service> [--to=<version or revision>]: a pending rollback request; the job that posts
// the card checks the target against the ReplicaSet history and names the exact revision and image.
// While a deploy of the target runs (or from its card's Rollback button, --undo=REQ-n), the rollback
// undoes that deploy: once approved it stops it and returns the target to what ran before it.
import { parseRequestKey, parseRollbackTarget, requestKey, type DeployRequest } from '../../domain/deploy-request.js';
import { conflict, invalidInput, notFound } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { tokenText } from '../parse-command.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { DEPLOY_USAGE } from './deploy-usage.js';
import { busyText, createRequest, requestBasics, type RequestBasics } from './new-request.js';
import { undoProblem } from '../../flows/undo-check.js';

/** The deploy this rollback undoes: the one named by --undo, else the one running now; none for a plain rollback. */
async function takeUndone(
  ctx: HandlerContext,
  basics: RequestBasics,
  usage: string,
): Promise<DeployRequest | undefined> {
  const given = ctx.flags.undo;
  if (given === undefined) {
    const running = basics.running;
    if (running?.kind === 'rollback') throw conflict(`${busyText(basics, running)} Wait for it to finish.`);
    return running;
  }
  const id = parseRequestKey(given);
  const undone = id === undefined ? undefined : await ctx.deps.store.deploys.get(id);
  if (!undone || undone.service !== basics.service || undone.environment !== basics.environment) {
    throw notFound(
      `${id === undefined ? `"${given}" is not a request id` : `${requestKey(id)} is not a deploy of ${basics.service} in ${basics.environment}`}.`,
      usage,
    );
  }
  const problem = await undoProblem(ctx.deps.store, undone);
  if (problem) throw conflict(`${problem}. Nothing was requested.`);
  return undone;
}

export async function requestRollback(ctx: HandlerContext): Promise<Reply> {
  const usage = DEPLOY_USAGE.rollback;
  const [serviceToken, ...extra] = ctx.args;
  if (extra.length) {
    const word = tokenText(extra[0]!);
    throw invalidInput(`Unexpected "${word}"; to name the target, write --to=${word}.`, usage);
  }
  const to = ctx.flags.to;
  if (to !== undefined && (to === 'true' || !parseRollbackTarget(to))) {
    throw invalidInput(
      `--to takes a revision number or a version (image tag), e.g. --to=3 or --to=v2.1.0; "${to}" is neither.`,
      usage,
    );
  }
  const checked = await requestBasics(ctx, serviceToken, usage);
  // Decided with the target held (another /rollback of it on any replica waits until this one's request is
  // written or refused, then sees it): what runs there, a rollback already waiting, the deploy undone.
  return await ctx.write(async () => {
    const { store } = ctx.deps;
    await store.deploys.holdTarget(checked.service, checked.environment);
    const basics = { ...checked, running: await store.deploys.running(checked.service, checked.environment) };
    const waiting = (await store.deploys.pending(basics.service, basics.environment)).find(
      (r) => r.kind === 'rollback',
    );
    if (waiting) {
      throw conflict(
        `${requestKey(waiting.id)} already asks to roll back ${basics.service} (${basics.environment}) and waits for approval: approve or reject that one.`,
      );
    }
    const undone = await takeUndone(ctx, basics, usage);
    if (undone && to !== undefined) {
      throw conflict(
        `${requestKey(undone.id)} is ${undone.status === 'succeeded' ? 'the last change' : 'rolling out'}: /rollback ${basics.service} --env=${basics.environment} (without --to) returns to what ran before it; --to applies once nothing is rolling out.`,
      );
    }
    if (undone) {
      const summary = `rollback of ${requestKey(undone.id)} (${basics.service} in ${basics.environment}) to what ran before it`;
      // Undone as it was rolled out: the strategy decides how (switch back, stop the canary, undo).
      const request = await createRequest(ctx, 'rollback', { ...basics, strategy: undone.strategy }, null, summary, {
        undoes: undone.id,
      });
      const stops =
        undone.status === 'approved' || undone.status === 'executing'
          ? ` Once approved it stops ${requestKey(undone.id)} and`
          : ' Once approved it';
      return privateReply(
        `${requestKey(request.id)}: ${summary} requested.${stops} returns ${basics.service} to ${undone.plan?.fromImage ?? 'the version before'}.`,
      );
    }
    const target = to ?? null;
    const summary = `rollback of ${basics.service} (${basics.environment}) to ${target ? target : 'the previous revision'}`;
    const request = await createRequest(ctx, 'rollback', basics, target, summary);
    return privateReply(
      `${requestKey(request.id)}: ${summary} requested. The card naming the exact revision and image follows once firelane has read the cluster.`,
    );
  });
}
