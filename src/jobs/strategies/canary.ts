// canary: `<deployment>-canary`, made from the main Deployment's template plus `track: canary`
// (the Service selects both), runs the new version. At a step of p percent it holds
// ceil(p x total / 100) replicas (at least 1) and the main Deployment the rest, for the step's
// interval, while the health check passes. After the last step the main Deployment takes the new
// version at its full size and the canary is scaled to 0. A failure at any step scales the canary
// to 0 and gives the main Deployment its replicas back, its image untouched.
import type { DeployRun } from '../deploy-run.js';
import { CANARY_LABELS, canaryReplicas, canaryTarget, targetOf } from '../deploy-targets.js';
import { undoAfterFailure } from './rolling.js';

/** Scales the canary to 0 and the main Deployment back to `total`; says what could not be done. */
async function abort(run: DeployRun, reason: string, total: number): Promise<void> {
  const { kube, k, key, plan } = run;
  const meta = { changeCause: `firelane stopped the canary of ${key}: ${reason}` };
  const off = await run.attempt('abort-canary', async () => (await kube.scale(canaryTarget(k), 0, meta)).desired);
  const back = await run.attempt('abort-main', async () => (await kube.scale(targetOf(k), total, meta)).desired);
  const refused = [
    !off.ok && `scaling the canary to 0: ${off.refused}`,
    !back.ok && `scaling ${k.deployment} back to ${total}: ${back.refused}`,
  ].filter(Boolean);
  if (refused.length)
    return run.finish('failed', `${reason}; then Kubernetes refused ${refused.join(' and ')}`, null, undefined, {
      escalate: true,
    });
  run.logger.warn({ request: key, reason }, 'canary stopped; main deployment restored');
  await run.rolledBack(
    reason,
    plan.fromRevision,
    `${key} rolled back automatically: ${reason}; the canary is scaled to 0 and ${run.request.service} runs ${plan.fromImage} on all ${total} replicas`,
  );
}

export async function runCanary(run: DeployRun): Promise<void> {
  const { kube, plan, request, k, key } = run;
  const main = targetOf(k);
  const canary = canaryTarget(k);
  const total = plan.replicas ?? 1;
  const steps = k.canarySteps;
  const intervalMs = k.canaryIntervalMs ?? Math.floor(run.health.windowMs / steps.length);
  const meta = { changeCause: run.changeCause };

  for (const [i, percent] of steps.entries()) {
    const replicas = canaryReplicas(percent, total);
    const label = `canary step ${i + 1} of ${steps.length}: ${replicas} of ${total} replicas on ${plan.toImage}`;
    const copied = await run.attempt(
      `canary-${i}`,
      async () =>
        (
          await kube.copyDeployment(
            main,
            {
              name: canary.deployment,
              labels: { ...CANARY_LABELS },
              container: request.container,
              image: plan.toImage,
              replicas,
            },
            meta,
          )
        ).revision,
    );
    if (!copied.ok) {
      const refused = `Kubernetes refused to ${i === 0 ? 'create' : 'scale'} the canary ${canary.deployment}: ${copied.refused}`;
      // Nothing serves the new version yet at the first step: nothing to undo.
      if (i === 0) return run.finish('failed', `${refused}; nothing was changed`, null);
      return abort(run, refused, total);
    }
    const up = await run.follow(canary, await run.mark(`canary-${i}-start`), { what: label });
    if (!up.done)
      return abort(
        run,
        `the canary did not become ready at step ${i + 1} of ${steps.length} (${percent}%): ${up.reason}`,
        total,
      );
    const shrunk = await run.attempt(
      `canary-${i}-main`,
      async () => (await kube.scale(main, total - replicas, meta)).desired,
    );
    if (!shrunk.ok)
      return abort(run, `Kubernetes refused to scale ${k.deployment} to ${total - replicas}: ${shrunk.refused}`, total);
    await run.step(`canary-${i}-note`, async () => {
      await run.note(
        'canary_step',
        `${key} canary step ${i + 1} of ${steps.length} (${percent}%): ${replicas} of ${total} replicas run ${plan.toImage}`,
      );
      return null;
    });
    const verdict = await run.verify(canary, `canary-${i}-hold`, intervalMs, label);
    if (!verdict.healthy)
      return abort(
        run,
        `the health check failed at canary step ${i + 1} of ${steps.length} (${percent}%): ${verdict.reason}`,
        total,
      );
  }

  // Promotion: the main Deployment back to its size (still the old version, so stopping here is
  // harmless), then the new image, rolled as usual.
  const grown = await run.attempt('promote-scale', async () => (await kube.scale(main, total, meta)).desired);
  if (!grown.ok)
    return abort(run, `Kubernetes refused to scale ${k.deployment} back to ${total}: ${grown.refused}`, total);
  const promoted = await run.attempt(
    'promote',
    async () => (await kube.setImage(main, request.container, plan.toImage, meta)).revision,
  );
  if (!promoted.ok)
    return abort(run, `Kubernetes refused to set the image of ${k.deployment}: ${promoted.refused}`, total);
  const rollout = await run.follow(main, await run.mark('promote-start'), { what: `${k.deployment} (all replicas)` });
  const off = await run.attempt('canary-off', async () => (await kube.scale(canary, 0, meta)).desired);
  if (!rollout.done) return undoAfterFailure(run, rollout.reason, `promoting the canary failed (${rollout.reason})`);
  if (!off.ok) {
    return run.finish(
      'succeeded',
      null,
      promoted.value,
      `${key} succeeded: ${request.service} runs ${plan.toImage} (revision ${promoted.value}), but the canary could not be scaled to 0: ${off.refused}`,
    );
  }
  await run.finish('succeeded', null, promoted.value);
}
