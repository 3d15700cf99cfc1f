// What one alert delivery does to its group and the group's incident, decided and written in one
// transaction (jobs/alert-jobs.ts holds the group's lease around it): the group's state merges the
// delivery's alerts; the group joins its open incident, or an open incident of its service
// (alerts.attachWindow), or declares one (a rule with `declare`); a group that resolves asks the war
// room whether to resolve, or resolves an untouched alert incident itself (alerts.autoResolve).
import type { FileConfig } from '../config.js';
import { targetEnvironments } from '../config/environments.js';
import {
  ALERTMANAGER_ACTOR,
  GRAFANA_ACTOR,
  alertActor,
  alertGroupId,
  alertTitle,
  type AlertDelivery,
  type AlertRule,
} from '../domain/alert.js';
import {
  groupStatus,
  mergeAlerts,
  REPEAT_INTERVAL_ELAPSED,
  type AlertGroup,
  type AlertGroupRef,
} from '../domain/alert-group.js';
import type { Incident } from '../domain/incident.js';
import { recordDeclaration } from '../flows/declare-incident.js';
import { recordResolution } from '../flows/resolve-incident.js';
import type { Clock } from '../ports/clock.js';
import { ALERT_RESOLVE_PROMPT, BROADCAST, type JobRow } from '../ports/jobs.js';
import type { Store } from '../ports/store.js';
import { deliverySummary } from '../views/alert-card.js';

/** How the delivery reached its incident. `refreshed`: a repeat of a group already on it (no event). */
export type Reached = 'declared' | 'joined' | 'attached' | 'refreshed';

export interface DeliveryOutcome {
  group: AlertGroup;
  /** The open incident the delivery went to, if any. */
  incident?: Incident;
  how?: Reached;
  declared: boolean;
  /** The group resolved with this delivery while tied to an open incident. */
  resolution?: 'prompted' | 'auto-resolved';
}

export interface DeliveryDeps {
  store: Store;
  clock: Clock;
  config: FileConfig;
  /** Where declared incidents live (see AlertJobDeps.platform). */
  platform: string;
}

/**
 * Actors that are not people: an incident whose timeline has only these was never touched by a person
 * (computed from the timeline, so no command needs to mark anything).
 */
const MACHINE_ACTORS = new Set([ALERTMANAGER_ACTOR, GRAFANA_ACTOR, 'firelane']);
/** How many recent groups of a service are looked at for an open incident to attach to. */
const ATTACH_CANDIDATES = 20;

export const groupRefOf = (d: AlertDelivery): AlertGroupRef => ({
  source: d.source,
  receiver: d.receiver,
  groupKey: d.groupKey,
});

const isOpen = (incident: Incident | undefined): incident is Incident =>
  incident !== undefined && incident.status !== 'resolved';

/**
 * The open incident about this service since `since`: one an alert group of the service reached, else
 * one a deploy or hotfix of the service asked since then is linked to (the last started and the
 * pending requests of each of its environments, its live hotfixes): an incident declared by hand
 * knows its service that way.
 */
async function incidentOfService(
  store: Store,
  config: FileConfig,
  service: string,
  since: number,
): Promise<Incident | undefined> {
  const linked: number[] = [];
  for (const group of await store.alertGroups.tiedForService(service, since, ATTACH_CANDIDATES))
    linked.push(group.incidentId!);
  const configured = Object.hasOwn(config.services, service) ? config.services[service] : undefined;
  for (const environment of configured ? targetEnvironments(configured) : []) {
    const started = await store.deploys.lastStarted(service, environment);
    for (const request of [...(started ? [started] : []), ...(await store.deploys.pending(service, environment))])
      if (request.incidentId !== null && request.createdAt >= since) linked.push(request.incidentId);
  }
  for (const hotfix of await store.hotfixes.live())
    if (hotfix.service === service && hotfix.incidentId !== null && hotfix.createdAt >= since)
      linked.push(hotfix.incidentId);
  for (const id of new Set(linked)) {
    const incident = await store.incidents.get(id);
    if (isOpen(incident)) return incident;
  }
  return undefined;
}

async function untouchedByPeople(store: Store, incident: Incident): Promise<boolean> {
  if (!MACHINE_ACTORS.has(incident.declaredBy)) return false;
  return (await store.incidents.timeline(incident.id)).every((e) => MACHINE_ACTORS.has(e.actor));
}

export async function recordDelivery(
  deps: DeliveryDeps,
  delivery: AlertDelivery,
  job: Pick<JobRow, 'key'>,
  rule: AlertRule | undefined,
  service: string | undefined,
): Promise<DeliveryOutcome> {
  const { store, clock, config } = deps;
  const now = clock.now();
  const title = alertTitle(delivery);
  const actor = alertActor(delivery.source);
  const known = await store.alertGroups.get(groupRefOf(delivery));
  const alerts = mergeAlerts(known?.alerts ?? {}, delivery.alerts);
  const status = groupStatus(delivery, alerts);
  // A repeat only re-sends what the group already said: it refreshes the group, never declares again.
  const repeat = known !== undefined && delivery.notificationReason === REPEAT_INTERVAL_ELAPSED;
  const tied = known?.incidentId != null ? await store.incidents.get(known.incidentId) : undefined;

  let incident: Incident | undefined;
  let how: Reached | undefined;
  if (isOpen(tied)) {
    incident = tied;
    how = repeat ? 'refreshed' : 'joined';
  } else if (!repeat && status === 'firing') {
    const windowMs = config.alerts.attachWindowMs;
    incident = service && windowMs ? await incidentOfService(store, config, service, now - windowMs) : undefined;
    if (incident) how = 'attached';
    else if (rule?.declare) {
      const description = delivery.commonAnnotations.description ?? delivery.alerts[0]?.annotations.description;
      incident = await recordDeclaration(deps, {
        title,
        description: description ? Array.from(description).slice(0, 3000).join('') : null,
        severity: rule.declare,
        platform: deps.platform,
        via: actor,
        actor,
      });
      how = 'declared';
    }
  }

  const state = { service: service ?? null, status, alerts, lastDeliveryAt: now };
  const tie =
    how === 'declared' || how === 'attached' ? { incidentId: incident!.id, declared: how === 'declared' } : {};
  const group = known
    ? (await store.alertGroups.update(known.id, { ...state, ...tie }))!
    : await store.alertGroups.create({
        ...groupRefOf(delivery),
        incidentId: null,
        declared: false,
        cardRef: null,
        firstDeliveryAt: now,
        ...state,
        ...tie,
      });
  const outcome: DeliveryOutcome = { group, declared: how === 'declared', ...(incident && { incident, how }) };
  if (!incident || how === 'refreshed') return outcome;

  const resolves = how === 'joined' && known?.status === 'firing' && status === 'resolved';
  const added = await store.incidents.addEventOnce({
    incidentId: incident.id,
    // After the declaration's own event (its clock reading is later than `now`).
    at: clock.now(),
    actor,
    platform: actor,
    kind: 'alert',
    text: deliverySummary(delivery, title) + (resolves ? ' — every alert of the group resolved' : ''),
    data: {
      group: alertGroupId(delivery),
      groupId: group.id,
      status: delivery.status,
      groupStatus: status,
      ...(delivery.notificationReason && { reason: delivery.notificationReason }),
      alerts: delivery.alerts.map((a) => ({
        fingerprint: a.fingerprint,
        status: a.status,
        startsAt: a.startsAt,
        endsAt: a.endsAt,
      })),
      ...(service && { service }),
      ...(how === 'attached' && { attached: true }),
    },
    // A retried job finds its own event (committed with what it did) and adds nothing.
    dedupeKey: job.key,
  });
  // A declaration is announced by the war room job; a joining delivery is posted in the room.
  if (added && how !== 'declared')
    await store.jobs.enqueue({
      kind: BROADCAST,
      key: `broadcast:${added.id}`,
      payload: { incidentId: incident.id, eventId: added.id, announce: false },
    });
  if (!added || !resolves) return outcome;

  const groups = await store.alertGroups.ofIncident(incident.id);
  const stillFiring = groups.filter((g) => g.status === 'firing').length;
  if (config.alerts.autoResolve && stillFiring === 0 && (await untouchedByPeople(store, incident))) {
    const { incident: resolved } = await recordResolution(
      deps,
      incident,
      { actor, platform: actor },
      { why: 'Every alert of the incident resolved (alerts.autoResolve).' },
    );
    return { ...outcome, incident: resolved, resolution: 'auto-resolved' };
  }
  await store.jobs.enqueue({
    kind: ALERT_RESOLVE_PROMPT,
    key: `alert-resolve-prompt:${added.id}`,
    payload: { incidentId: incident.id, groupId: group.id },
  });
  return { ...outcome, resolution: 'prompted' };
}
