// Marks a pending request expired: by the job at its expiry time, or when someone acts on it late.
import { requestKey, type DeployRequest } from '../domain/deploy-request.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { changeRequest } from './change-request.js';

export function expireRequest(
  store: Store,
  clock: Clock,
  request: DeployRequest,
  by: { actor: string; platform: string },
  required: number,
): Promise<DeployRequest | undefined> {
  return changeRequest(store, clock, request, {
    from: ['pending'],
    patch: { status: 'expired', finishedAt: clock.now() },
    action: 'expired',
    ...by,
    timeline: `${requestKey(request.id)} expired with ${request.approvals.length} of ${required} approvals`,
  });
}
