// A rollback of REQ-n (its card's Rollback, or /rollback while it rolls out): returns the target to
// what ran before REQ-n, whatever part of REQ-n happened (none, some, all, or its own automatic
// rollback already). Blue-green: the Service back on the colour that was live, once that colour is
// available. Canary: the canary to 0 and the main Deployment at its size. Rolling (and a promoted
// canary): the newest revision that runs the image from before, unless it runs it already.
import type { DeployRequest } from '../../domain/deploy-request.js';
import { FirelaneError } from '../../errors.js';
import type { DeployRun } from '../deploy-run.js';
import { canaryTarget, serviceTarget, SLOT_LABEL, slotTarget, targetOf } from '../deploy-targets.js';

const escalate = { escalate: true };

async function restoreBlueGreen(run: DeployRun, undone: DeployRequest, startedAt: number): Promise<void> {
  const { kube, k, key } = run;
  const before = undone.plan!;
  const live = before.slots!.from;
  const service = serviceTarget(k);
  const where = `${k.namespace}/${service.service}`;
  const selected = await run.step(
    'read-service',
    async () => (await kube.readService(service))?.selector[SLOT_LABEL] ?? null,
  );
  if (selected !== live) {
    // Never switch to a colour that is not available.
    const ready = await run.follow(slotTarget(k, live), startedAt, { what: `${live} (live before ${key})` });
    if (!ready.done)
      return run.finish(
        'failed',
        `${live} is not available, so the Service ${where} stays on ${selected ?? 'what it selects'}: ${ready.reason}`,
        null,
        undefined,
        escalate,
      );
    const switched = await run.attempt(
      'switch',
      async () =>
        (await kube.setSelector(service, SLOT_LABEL, live, { changeCause: run.changeCause })).selector[SLOT_LABEL] ??
        null,
    );
    if (!switched.ok)
      return run.finish(
        'failed',
        `Kubernetes refused to switch the Service ${where} back to ${live}: ${switched.refused}`,
        null,
        undefined,
        escalate,
      );
  }
  const undoneKey = `REQ-${undone.id}`;
  await run.finish(
    'succeeded',
    null,
    null,
    `${key} succeeded: the Service ${where} sends traffic to ${live} (${before.fromImage}) ${selected === live ? 'as it did' : 'again'}; ${undoneKey} is undone`,
  );
}

/** Stops a canary where it is: the canary to 0, the main Deployment at its full size (absent canary: nothing to stop). */
async function stopCanary(run: DeployRun, total: number): Promise<string | undefined> {
  const { kube, k } = run;
  const meta = { changeCause: run.changeCause };
  const off = await run.attempt('canary-off', async () => {
    const canary = await kube.readDeployment(canaryTarget(k));
    return canary && canary.desired > 0 ? (await kube.scale(canaryTarget(k), 0, meta)).desired : 0;
  });
  if (!off.ok) return `scaling the canary to 0: ${off.refused}`;
  const back = await run.attempt('main-size', async () => (await kube.scale(targetOf(k), total, meta)).desired);
  return back.ok ? undefined : `scaling ${k.deployment} back to ${total}: ${back.refused}`;
}

async function restoreRolling(run: DeployRun, undone: DeployRequest, startedAt: number): Promise<void> {
  const { kube, k, key, request } = run;
  const before = undone.plan!;
  const target = targetOf(k);
  const where = `${k.namespace}/${k.deployment}`;
  const seen = await run.step('read', async () => {
    const d = await kube.readDeployment(target);
    return d ? { revision: d.revision, image: d.images[request.container] ?? null } : null;
  });
  if (!seen) return run.finish('failed', `the deployment ${where} is gone`, null, undefined, escalate);
  let revision = seen.revision;
  if (seen.image !== before.fromImage) {
    const undoneTo = await run.attempt('change', async () => {
      // Revision numbers move (an undo renumbers the revision it brings back): found by image.
      const history = await kube.history(target);
      const back = history
        .filter((r) => r.revision !== seen.revision && r.images[request.container] === before.fromImage)
        .sort((a, b) => b.revision - a.revision)[0];
      if (!back) throw new FirelaneError('not_found', `no revision of ${where} runs ${before.fromImage} any more`);
      return { revision: (await kube.undo(target, { changeCause: run.changeCause }, back.revision)).revision };
    });
    if (!undoneTo.ok)
      return run.finish('failed', `Kubernetes refused the rollback: ${undoneTo.refused}`, null, undefined, escalate);
    revision = undoneTo.value.revision;
  }
  const rollout = await run.follow(target, startedAt);
  if (!rollout.done) return run.finish('failed', rollout.reason, revision, undefined, escalate);
  await run.finish(
    'succeeded',
    null,
    revision,
    `${key} succeeded: ${request.service} runs ${before.fromImage} ${seen.image === before.fromImage ? 'as before' : 'again'} (revision ${revision}); REQ-${undone.id} is undone`,
  );
}

export async function runRestore(run: DeployRun, undone: DeployRequest, startedAt: number): Promise<void> {
  const before = undone.plan!;
  if (before.slots) return restoreBlueGreen(run, undone, startedAt);
  if (undone.strategy === 'canary') {
    const refused = await stopCanary(run, before.replicas ?? 1);
    if (refused) return run.finish('failed', `Kubernetes refused ${refused}`, null, undefined, escalate);
  }
  return restoreRolling(run, undone, startedAt);
}
