// The one way a request changes state: a guarded transition, the linked incident's timeline, and
// the follow-up jobs (re-render the card; execute once approved), in one transaction.
import {
  isRunning,
  requestKey,
  RUNNING_STATUSES,
  type DeployRequest,
  type RequestStatus,
} from '../domain/deploy-request.js';
import { mention } from '../ports/reply.js';
import type { Clock } from '../ports/clock.js';
import type { DeployPatch, Store } from '../ports/store.js';
import { EXECUTE_REQUEST, GITHUB_DEPLOYMENT, REFRESH_REQUEST_CARD } from '../ports/jobs.js';

/** The outbox key of a request's execution (the reconcile at start-up looks for it). */
export const executeJobKey = (id: number) => `deploy-execute:${id}`;

/** The request states GitHub hears about: the start of a rollout and how it ended. */
const REPORTED: ReadonlySet<RequestStatus> = new Set(['executing', 'succeeded', 'failed', 'rolled_back', 'superseded']);

export const prepareJobKey = (id: number) => `deploy-prepare:${id}`;
/** The n-th watch the start-up reconcile enqueued for a request (n from 1). */
export const watchJobKey = (id: number, n: number) => `deploy-execute:${id}:reconcile:${n}`;

/** The states of a request's execute jobs (the first, then each reconcile watch), in order. */
export async function executeJobStates(store: Store, id: number): Promise<Array<string | undefined>> {
  const states = [await store.jobs.state(executeJobKey(id))];
  for (let n = 1; ; n++) {
    const state = await store.jobs.state(watchJobKey(id, n));
    if (state === undefined) return states;
    states.push(state);
  }
}
export const githubDeploymentJobKey = (id: number, status: string) => `deploy-github:${id}:${status}`;

export interface RequestChange {
  from: readonly RequestStatus[];
  /** Only when nothing else changed the request since it was read (approvals race on this). */
  changeCount?: number;
  patch: DeployPatch;
  /** `approved` -> audit action `deploy.approved`, timeline kind `deploy_approved`. */
  action: string;
  actor: string;
  platform: string;
  /** Recorded on the linked incident's timeline, if any. */
  timeline?: string;
  /** Re-render the card (default true). */
  refreshCard?: boolean;
}

/**
 * A rollback that undoes a running deploy takes over its target: the deploy is superseded (its
 * execution stops at its next look, and it never reports success) in the same transaction.
 */
async function supersedeUndone(
  store: Store,
  clock: Clock,
  rollback: DeployRequest,
  change: RequestChange,
): Promise<void> {
  const undone = rollback.undoes === null ? undefined : await store.deploys.get(rollback.undoes);
  if (!undone || !isRunning(undone.status)) return;
  const key = requestKey(rollback.id);
  await changeRequest(store, clock, undone, {
    from: RUNNING_STATUSES,
    patch: {
      status: 'superseded',
      reason: `stopped by ${key}, a rollback approved by ${mention(change.actor)}`,
      finishedAt: clock.now(),
    },
    action: 'superseded',
    actor: change.actor,
    platform: change.platform,
    timeline: `${requestKey(undone.id)} stopped: ${key} rolls ${undone.service} back to ${undone.plan?.fromImage ?? 'what ran before it'}`,
  });
}

/**
 * Once a request holds its target, the other pending requests of that target describe a cluster
 * that is about to change: their cards are superseded rather than left to act on a stale plan.
 * A rollback waiting to undo this very request stays: it is how this one is stopped.
 */
async function supersedePending(
  store: Store,
  clock: Clock,
  started: DeployRequest,
  change: RequestChange,
): Promise<void> {
  const key = requestKey(started.id);
  for (const other of await store.deploys.pending(started.service, started.environment)) {
    if (other.id === started.id || other.undoes === started.id) continue;
    await changeRequest(store, clock, other, {
      from: ['pending'],
      patch: {
        status: 'superseded',
        reason: `${key} changes ${started.service} (${started.environment}) after this card was posted; ask again if it is still wanted`,
        finishedAt: clock.now(),
      },
      action: 'superseded',
      actor: change.actor,
      platform: change.platform,
      timeline: `${requestKey(other.id)} superseded by ${key}`,
    });
  }
}

/** Undefined when the guard did not hold (someone else changed the request first). */
export function changeRequest(
  store: Store,
  clock: Clock,
  request: DeployRequest,
  change: RequestChange,
): Promise<DeployRequest | undefined> {
  return store.transaction(async () => {
    const approving = change.patch.status === 'approved' && request.status !== 'approved';
    // An approval takes the target: a /rollback of it decides either before (and is superseded
    // below) or after (and undoes this request), never on what it read meanwhile.
    if (approving) {
      await store.deploys.holdTarget(request.service, request.environment);
      await supersedeUndone(store, clock, request, change);
    }
    const guard = { from: change.from, ...(change.changeCount !== undefined && { changeCount: change.changeCount }) };
    const updated = await store.deploys.transition(request.id, guard, change.patch, {
      actor: change.actor,
      platform: change.platform,
      action: `${request.kind}.${change.action}`,
    });
    if (!updated) return undefined;
    if (change.timeline && updated.incidentId !== null) {
      await store.incidents.addEvent({
        incidentId: updated.incidentId,
        at: clock.now(),
        actor: change.actor,
        platform: change.platform,
        kind: `${request.kind}_${change.action}`,
        text: change.timeline,
        data: { request: requestKey(request.id), status: updated.status },
      });
    }
    if (change.refreshCard !== false) {
      await store.jobs.enqueue({
        kind: REFRESH_REQUEST_CARD,
        key: `deploy-card:${request.id}:${updated.changeCount}`,
        payload: { requestId: request.id },
      });
    }
    // Once per status: a second change in the same status finds the job's key taken.
    if (REPORTED.has(updated.status)) {
      await store.jobs.enqueue({
        kind: GITHUB_DEPLOYMENT,
        key: githubDeploymentJobKey(request.id, updated.status),
        payload: { requestId: request.id, status: updated.status },
      });
    }
    if (approving && updated.status === 'approved') {
      await supersedePending(store, clock, updated, change);
      await store.jobs.enqueue({
        kind: EXECUTE_REQUEST,
        key: executeJobKey(request.id),
        payload: { requestId: request.id },
      });
    }
    return updated;
  });
}
