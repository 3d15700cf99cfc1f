// blue-green: the idle colour takes the new image (at the live colour's size), and once all its
// replicas are available the Service's `slot` switches to it; the old colour keeps running, so a
// rollback, automatic or asked for, is a switch back. A rollback request switches to the idle
// colour as it is.
import type { DeployRun } from '../deploy-run.js';
import { serviceTarget, SLOT_LABEL, slotTarget } from '../deploy-targets.js';

export async function runBlueGreen(run: DeployRun, startedAt: number): Promise<void> {
  const { kube, plan, request, k, key } = run;
  const { from, to } = plan.slots!;
  const idle = slotTarget(k, to);
  const service = serviceTarget(k);
  const where = `${k.namespace}/${service.service}`;
  const stillServing = `${from} still serves all traffic`;
  const meta = { changeCause: run.changeCause };

  let revision: number;
  if (request.kind === 'deploy') {
    const set = await run.attempt('change', async () => {
      const state = await kube.setImage(idle, request.container, plan.toImage, meta);
      return { revision: state.revision, desired: state.desired };
    });
    if (!set.ok)
      return run.finish(
        'failed',
        `Kubernetes refused to set the image of ${idle.deployment}: ${set.refused}; ${stillServing}`,
        null,
      );
    revision = set.value.revision;
    // An idle colour kept smaller than the live one is brought up to its size before it takes the traffic.
    const size = plan.replicas ?? 1;
    if (set.value.desired < size) {
      const scaled = await run.attempt('scale-idle', async () => (await kube.scale(idle, size, meta)).desired);
      if (!scaled.ok)
        return run.finish(
          'failed',
          `Kubernetes refused to scale ${idle.deployment} to ${size}: ${scaled.refused}; ${stillServing}`,
          revision,
        );
    }
  } else {
    const seen = await run.step('read-idle', async () => (await kube.readDeployment(idle))?.revision ?? null);
    if (seen === null)
      return run.finish(
        'failed',
        `${k.namespace}/${idle.deployment} is gone, so there is nothing to switch back to; ${stillServing}`,
        null,
      );
    revision = seen;
  }

  // All replicas of the idle colour available before any traffic moves.
  // A colour that is not available never takes the traffic: the deploy fails with nothing changed for users.
  const ready = await run.follow(idle, startedAt, { what: `${to} (idle colour)` });
  if (!ready.done)
    return run.finish(
      'failed',
      `${idle.deployment} did not become ready: ${ready.reason}; ${stillServing}`,
      revision,
      undefined,
      { escalate: request.kind === 'rollback' },
    );

  const switched = await run.attempt(
    'switch',
    async () => (await kube.setSelector(service, SLOT_LABEL, to, meta)).selector[SLOT_LABEL] ?? null,
  );
  if (!switched.ok)
    return run.finish(
      'failed',
      `Kubernetes refused to switch the Service ${where} to ${to}: ${switched.refused}; ${stillServing}`,
      revision,
      undefined,
      { escalate: request.kind === 'rollback' },
    );
  await run.step('note-switch', async () => {
    await run.note(
      'switched',
      `${key}: the Service ${where} now sends traffic to ${to} (${plan.toImage}); ${from} keeps running for a switch-back`,
    );
    return null;
  });
  const done = `${key} succeeded: ${request.service} runs ${plan.toImage} on ${to}; ${from} (${plan.fromImage}) is kept for a switch-back`;
  // A rollback request is not verified: switching again could bring back what it switched away from.
  if (request.kind !== 'deploy') return run.finish('succeeded', null, revision, done);

  const verdict = await run.verify(
    idle,
    'verify',
    run.health.windowMs,
    `${to} is live; ${from} kept for a switch-back`,
  );
  if (verdict.healthy) return run.finish('succeeded', null, revision, done);

  const back = await run.attempt('switch-back', async () => {
    await kube.setSelector(service, SLOT_LABEL, from, {
      changeCause: `firelane automatic switch-back of ${key}: ${verdict.reason}`,
    });
    return null;
  });
  if (!back.ok) {
    return run.finish(
      'failed',
      `the health check failed (${verdict.reason}) and Kubernetes refused to switch the Service ${where} back to ${from}: ${back.refused}`,
      revision,
      undefined,
      { escalate: true },
    );
  }
  run.logger.warn(
    { request: key, reason: verdict.reason, slot: from },
    'health check failed; switched back automatically',
  );
  await run.rolledBack(
    verdict.reason,
    plan.fromRevision,
    `${key} rolled back automatically: ${verdict.reason}; the Service ${where} switched back to ${from}, which runs ${plan.fromImage}`,
  );
}
