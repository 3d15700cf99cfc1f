// The one way a request changes state: a guarded transition, the linked incident's timeline, and
// the follow-up jobs (re-render the card; execute once approved), in one transaction.
import { requestKey, type DeployRequest, type RequestStatus } from '../../domain/deploy-request.js';
import type { Clock } from '../../ports/clock.js';
import type { DeployPatch, Store } from '../../ports/store.js';

/** The outbox key of a request's execution (the reconcile at start-up looks for it). */
export const executeJobKey = (id: number) => `deploy-execute:${id}`;

export const PREPARE_REQUEST = 'deploy.prepare';
export const EXPIRE_REQUEST = 'deploy.expire';
export const REFRESH_REQUEST_CARD = 'deploy.refresh-card';
export const EXECUTE_REQUEST = 'deploy.execute';
/** Records the rollout as a GitHub Deployment status (jobs/github-deploys); a no-op without GitHub. */
export const GITHUB_DEPLOYMENT = 'deploy.github';

/** The request states GitHub hears about: the start of a rollout and how it ended. */
const REPORTED: ReadonlySet<RequestStatus> = new Set(['executing', 'succeeded', 'failed', 'rolled_back']);

export const prepareJobKey = (id: number) => `deploy-prepare:${id}`;
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

/** Undefined when the guard did not hold (someone else changed the request first). */
export function changeRequest(store: Store, clock: Clock, request: DeployRequest, change: RequestChange): DeployRequest | undefined {
  return store.transaction(() => {
    const guard = { from: change.from, ...(change.changeCount !== undefined && { changeCount: change.changeCount }) };
    const updated = store.deploys.transition(request.id, guard, change.patch, { actor: change.actor, platform: change.platform, action: `${request.kind}.${change.action}` });
    if (!updated) return undefined;
    if (change.timeline && updated.incidentId !== null) {
      store.incidents.addEvent({
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
      store.jobs.enqueue({ kind: REFRESH_REQUEST_CARD, key: `deploy-card:${request.id}:${updated.changeCount}`, payload: { requestId: request.id } });
    }
    // Once per status: a second change in the same status finds the job's key taken.
    if (REPORTED.has(updated.status)) {
      store.jobs.enqueue({ kind: GITHUB_DEPLOYMENT, key: githubDeploymentJobKey(request.id, updated.status), payload: { requestId: request.id, status: updated.status } });
    }
    if (updated.status === 'approved' && request.status !== 'approved') {
      store.jobs.enqueue({ kind: EXECUTE_REQUEST, key: executeJobKey(request.id), payload: { requestId: request.id } });
    }
    return updated;
  });
}
