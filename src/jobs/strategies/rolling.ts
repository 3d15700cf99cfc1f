// rolling: the Deployment gets the new image (or, for a rollback, a revision's template back) and
// Kubernetes rolls it. A deploy whose rollout fails (deadline exceeded, pods crash-looping, unable to
// pull, restarting) is undone at once, like one that fails its health window afterwards. Also the
// way canary services are rolled back.
import type { DeployRun } from '../deploy-run.js';
import { targetOf } from '../deploy-targets.js';

/** Undo to the revision before the deploy, follow that rollout, and say why; escalate when even that fails. */
export async function undoAfterFailure(run: DeployRun, reason: string, failed: string): Promise<void> {
  const { kube, plan, key } = run;
  const target = targetOf(run.k);
  const undone = await run.attempt('rollback', async () => {
    const state = await kube.undo(
      target,
      { changeCause: `firelane automatic rollback of ${key}: ${reason}` },
      plan.fromRevision,
    );
    return { revision: state.revision };
  });
  if (!undone.ok)
    return run.finish(
      'failed',
      `${failed} and Kubernetes refused the automatic rollback: ${undone.refused}`,
      null,
      undefined,
      { escalate: true },
    );
  run.logger.warn({ request: key, reason, revision: undone.value.revision }, 'rolled back automatically');
  const rollout = await run.follow(target, await run.mark('rollback-start'), { rollingBack: reason });
  if (!rollout.done) {
    return run.finish(
      'failed',
      `${failed} and the automatic rollback to revision ${plan.fromRevision} did not complete: ${rollout.reason}`,
      undone.value.revision,
      undefined,
      { escalate: true },
    );
  }
  await run.rolledBack(
    reason,
    undone.value.revision,
    `${key} rolled back automatically: ${reason}; ${run.request.service} runs ${plan.fromImage} again (revision ${undone.value.revision})`,
  );
}

/**
 * `applied`: the revision a change already made is at (a watch the start-up reconcile enqueued):
 * only follow it, since setting the image or undoing again could start another rollout.
 */
export async function runRolling(run: DeployRun, startedAt: number, applied?: { revision: number }): Promise<void> {
  const { kube, plan, request } = run;
  const target = targetOf(run.k);
  let revision: number;
  if (applied) revision = applied.revision;
  else {
    const changed = await run.attempt('change', async () => {
      const state =
        request.kind === 'deploy'
          ? await kube.setImage(target, request.container, plan.toImage, { changeCause: run.changeCause })
          : await kube.undo(target, { changeCause: run.changeCause }, plan.toRevision ?? undefined);
      return { revision: state.revision };
    });
    if (!changed.ok)
      return run.finish('failed', `Kubernetes refused the change: ${changed.refused}`, null, undefined, {
        escalate: request.kind === 'rollback',
      });
    revision = changed.value.revision;
  }

  // Bounded by the clock from when the rollout started (across restarts), and by a poll count.
  const rollout = await run.follow(target, startedAt);
  if (!rollout.done) {
    if (request.kind === 'deploy')
      return undoAfterFailure(run, `the rollout failed: ${rollout.reason}`, `the rollout failed (${rollout.reason})`);
    // A rollback that cannot complete leaves the target broken: people must act.
    return run.finish('failed', rollout.reason, revision, undefined, { escalate: true });
  }
  // A rollback request is not verified: undoing it could bring back what it rolled back from.
  if (request.kind !== 'deploy') return run.finish('succeeded', null, revision);

  // The window's start and its verdict are steps: a restart continues the window, and a restart
  // after the verdict does not verify the rolled-back version instead.
  const verdict = await run.verify(target, 'verify', run.health.windowMs);
  if (verdict.healthy) return run.finish('succeeded', null, revision);
  return undoAfterFailure(run, verdict.reason, `the health check failed (${verdict.reason})`);
}
