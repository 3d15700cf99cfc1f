// Alert → deploy → rollback. An alert firing for a service deployed within `alerts.deployWindow`
// gets a card naming that deploy with the deploy card's own Rollback button, in the war room of the
// alert's incident (or alerts.triageChannel), once per alert group and deploy: the card is a job keyed
// by both. A deploy still executing (rolling out or being verified) also takes the alert as a failed
// health check: a signal in the database, which its health window reads at the next look on
// whichever replica runs it, and rolls back.
import { createHash } from 'node:crypto';
import type { FileConfig } from '../config.js';
import { targetEnvironments } from '../config/environments.js';
import { alertGroupId, alertTitle, groupLabelsOf, oneLine, sourceName, type AlertDelivery } from '../domain/alert.js';
import { requestKey, type DeployRequest } from '../domain/deploy-request.js';
import type { Incident } from '../domain/incident.js';
import { ALERT_DEPLOY_CARD, type JobHandlers } from '../ports/jobs.js';
import { stripTokens } from '../ports/reply.js';
import type { Store } from '../ports/store.js';
import { alertDeployCard } from '../views/alert-deploy-card.js';
import type { AlertJobDeps } from './alert-jobs.js';
import { postOrReason, waitForWarRoom } from './job-helpers.js';
import { PermanentJobError } from './worker.js';

/** The alert jobs' dependencies (jobs/alert-jobs.ts): the same for the rollback card. */
export type AlertDeployDeps = AlertJobDeps;

/** Statuses of a deploy whose change is in the cluster and not undone: what an alert may be about. */
const FINISHED_IN_PLACE: ReadonlySet<DeployRequest['status']> = new Set(['succeeded', 'failed']);
const MAX_NAME = 100;

/** The alert's name on one line: `alertname`, else the title; without token characters, cut short. */
const alertName = (delivery: AlertDelivery): string =>
  oneLine(
    stripTokens(
      delivery.commonLabels.alertname ?? delivery.alerts[0]?.labels.alertname ?? alertTitle(delivery),
    ).replace(/\s+/g, ' '),
    MAX_NAME,
    'alert',
  );

/** When the newest firing alert of the delivery started (ms), if any says so readably. */
function newestFiring(delivery: AlertDelivery): number | undefined {
  const starts = delivery.alerts
    .filter((a) => a.status === 'firing')
    .map((a) => Date.parse(a.startsAt))
    .filter((t) => Number.isFinite(t));
  return starts.length ? Math.max(...starts) : undefined;
}

/**
 * The deploy an alert for `service` may be about: the last change of one of the service's environments
 * (only the one the alert's `environment` or `env` label names, when it names one), if that change is a
 * deploy still executing or finished within `windowMs`, and the alert started after it did (an alert
 * firing before the deploy did not come from it). The newest such deploy.
 */
export async function recentDeploy(
  store: Store,
  config: FileConfig,
  service: string,
  delivery: AlertDelivery,
  windowMs: number,
  now: number,
): Promise<DeployRequest | undefined> {
  const configured = Object.hasOwn(config.services, service) ? config.services[service] : undefined;
  if (!configured) return undefined;
  const environments = targetEnvironments(configured);
  const labels = groupLabelsOf(delivery);
  const named = labels.environment ?? labels.env;
  const candidates = named !== undefined && environments.includes(named) ? [named] : environments;
  const since = newestFiring(delivery);
  let found: DeployRequest | undefined;
  for (const environment of candidates) {
    const last = await store.deploys.lastStarted(service, environment);
    if (!last || last.kind !== 'deploy' || last.startedAt === null || !last.plan) continue;
    const recent =
      last.status === 'executing' ||
      (FINISHED_IN_PLACE.has(last.status) && last.finishedAt !== null && now - last.finishedAt <= windowMs);
    if (!recent || (since !== undefined && since < last.startedAt)) continue;
    if (!found || last.startedAt > found.startedAt!) found = last;
  }
  return found;
}

/**
 * After a delivery is recorded (joined or declared `incident`, or none): a firing alert for a service
 * deployed within the window queues the card (once per group and deploy) and, while that deploy
 * executes, records the alert as its failed health check.
 */
export async function offerRollback(
  deps: AlertDeployDeps,
  input: { delivery: AlertDelivery; service: string | undefined; incident: Incident | undefined },
): Promise<void> {
  const { store, config, clock } = deps;
  const { delivery, service, incident } = input;
  const windowMs = config.alerts.deployWindowMs;
  if (windowMs === undefined || !service || delivery.status !== 'firing') return;
  const now = clock.now();
  const request = await recentDeploy(store, config, service, delivery, windowMs, now);
  if (!request) return;
  const alert = { name: alertName(delivery), source: sourceName(delivery.source) };
  const log = deps.logger.child({ component: 'alerts', request: requestKey(request.id) });
  const group = createHash('sha256').update(alertGroupId(delivery)).digest('hex');
  const posted = incident !== undefined || config.alerts.triageChannel !== undefined;
  const signalled = await store.transaction(async () => {
    const recorded =
      request.status === 'executing' &&
      (await store.deploys.signalHealth(
        request.id,
        `alert ${alert.name} firing (${alert.source})`,
        { actor: delivery.source, platform: delivery.source, action: 'deploy.health_signal' },
        now,
      ));
    if (posted)
      await store.jobs.enqueue({
        kind: ALERT_DEPLOY_CARD,
        key: `alert-deploy:${group}:${request.id}`,
        payload: {
          requestId: request.id,
          incidentId: incident?.id ?? null,
          platform: deps.platform,
          alert,
          actor: delivery.source,
          at: now,
        },
      });
    return recorded;
  });
  if (signalled) log.warn({ alert: alert.name }, 'alert counts as a failed health check of the executing deploy');
  if (!posted) log.warn('alert for a recent deploy: no incident and alerts.triageChannel is not set, so no card');
}

export function createAlertDeployJobs(deps: AlertDeployDeps): Pick<JobHandlers, typeof ALERT_DEPLOY_CARD> {
  const { store, config, clock } = deps;
  return {
    async [ALERT_DEPLOY_CARD](payload, { job, step }) {
      const request = await store.deploys.get(payload.requestId);
      if (!request) throw new PermanentJobError(`${requestKey(payload.requestId)} does not exist`);
      const incident = payload.incidentId === null ? undefined : await store.incidents.get(payload.incidentId);
      if (payload.incidentId !== null && !incident)
        throw new PermanentJobError(`incident ${payload.incidentId} does not exist`);
      if (incident && !incident.roomId) return await waitForWarRoom(store, incident, 1_000);
      const platform = incident?.platform ?? payload.platform;
      const room = incident?.roomId ?? config.alerts.triageChannel;
      const chat = deps.chats[platform];
      if (!room) return;
      if (!chat) throw new Error(`${platform} is not connected; the card waits until it is`);
      // Judged as the card is posted: the signal may have come too late for a deploy that had just passed.
      const healthFailed =
        (request.status === 'executing' || request.status === 'rolled_back') &&
        (await store.deploys.healthSignal(request.id)) !== undefined;
      const card = alertDeployCard(request, payload.alert, { platform, now: payload.at, healthFailed });
      const refused = await step('card', (once) => postOrReason(chat, room, card, once));
      if (refused) deps.logger.warn({ room, reason: refused }, 'could not post the recent deploy card');
      if (incident)
        await store.incidents.addEventOnce({
          incidentId: incident.id,
          at: clock.now(),
          actor: payload.actor,
          platform: payload.actor,
          kind: 'alert_deploy',
          text: `${payload.alert.name} fired after ${requestKey(request.id)} deployed ${request.service}${request.target ? ` ${request.target}` : ''} (${request.environment}): ${healthFailed ? 'counted as a failed health check, it rolls back by itself' : 'its rollback was offered'}`,
          data: { request: request.id, healthFailed },
          dedupeKey: job.key,
        });
    },
  };
}
