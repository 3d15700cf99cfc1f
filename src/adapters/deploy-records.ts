// Deploy and rollback requests on any database (adapters/db, adapters/postgres): a row as the domain
// sees it, a patch as columns, the new row, the audit entries of a write and the rollout-lock conflict.
// The two schemas declare the same columns (schema-parity.test.ts), so one row type serves both.
import { requestKey, type DeployRequest, type RequestStatus } from '../domain/deploy-request.js';
import { conflict, type FirelaneError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import type { AuditEntry, ChangeBy, DeployPatch, NewDeployRequest } from '../ports/store.js';
import type { deployRequests } from './db/schema.js';

export type DeployRow = typeof deployRequests.$inferSelect;

export function toRequest(row: DeployRow): DeployRequest {
  const planned = row.fromRevision !== null && row.fromImage !== null && row.toImage !== null;
  return {
    id: row.id,
    kind: row.kind,
    service: row.service,
    environment: row.environment,
    strategy: row.strategy as DeployRequest['strategy'],
    requester: row.requester,
    platform: row.platform,
    roomId: row.roomId,
    cardRef: row.cardRef,
    target: row.target,
    container: row.container,
    plan: planned
      ? {
          fromRevision: row.fromRevision!,
          fromImage: row.fromImage!,
          toImage: row.toImage!,
          toRevision: row.toRevision,
          ...(row.fromSlot && row.toSlot && { slots: { from: row.fromSlot, to: row.toSlot } }),
          ...(row.planReplicas !== null && { replicas: row.planReplicas }),
        }
      : null,
    expiresAt: row.expiresAt,
    status: row.status as RequestStatus,
    approvals: row.approvals,
    rejectedBy: row.rejectedBy,
    reason: row.reason,
    incidentId: row.incidentId,
    resultRevision: row.resultRevision,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    changeCount: row.changeCount,
    facts: row.facts ?? null,
    githubDeploymentId: row.githubDeploymentId,
    whereTo: row.whereTo ?? null,
    undoes: row.undoes,
    requesterPerson: row.requesterPerson,
  };
}

/** The patch as columns: the plan is seven of them. */
export function toColumns(patch: DeployPatch): Partial<DeployRow> {
  const { plan, ...rest } = patch;
  if (plan === undefined) return rest;
  return {
    ...rest,
    fromRevision: plan?.fromRevision ?? null,
    fromImage: plan?.fromImage ?? null,
    toImage: plan?.toImage ?? null,
    toRevision: plan?.toRevision ?? null,
    fromSlot: plan?.slots?.from ?? null,
    toSlot: plan?.slots?.to ?? null,
    planReplicas: plan?.replicas ?? null,
  };
}

/** Whether `request` is in a state the guarded change may start from (read before the guarded UPDATE). */
export const guardHolds = (
  request: DeployRequest | undefined,
  guard: { from: readonly RequestStatus[]; changeCount?: number },
): request is DeployRequest =>
  request !== undefined &&
  guard.from.includes(request.status) &&
  (guard.changeCount === undefined || request.changeCount === guard.changeCount);

/** The row a new request is inserted as: pending, no approvals yet. */
export const newRequestRow = (input: NewDeployRequest, now: number) => ({
  whereTo: null,
  undoes: null,
  requesterPerson: null,
  ...input,
  status: 'pending' as const,
  approvals: [],
  updatedAt: now,
});

/** `<kind>.requested`, with the whole request. */
export const requestedEntry = (created: DeployRequest, via: string): AuditEntry => ({
  actor: created.requester,
  platform: via,
  action: `${created.kind}.requested`,
  incidentId: created.incidentId,
  before: null,
  after: { request: requestKey(created.id), ...created },
});

/** A transition's audit entry: the patched fields that changed, before and after. */
export function transitionEntry(
  before: DeployRequest,
  after: DeployRequest,
  patch: DeployPatch,
  by: ChangeBy,
): AuditEntry {
  // `before` may come from jsonb (approvals, facts), which keeps no key order: compared as values.
  const changed = (Object.keys(patch) as Array<keyof DeployPatch>).filter(
    (key) => canonicalJson(before[key]) !== canonicalJson(after[key]),
  );
  const pick = (request: DeployRequest) => Object.fromEntries(changed.map((key) => [key, request[key]]));
  return {
    ...by,
    incidentId: after.incidentId,
    before: { request: requestKey(after.id), ...pick(before) },
    after: { request: requestKey(after.id), ...pick(after) },
  };
}

/** The rollout lock (deploy_requests_running_idx) held by `holder` (if it is still found) stopped `request`. */
export function rolloutConflict(request: DeployRequest, holder: DeployRequest | undefined): FirelaneError {
  return conflict(
    holder
      ? `${request.service} (${request.environment}) is being ${holder.kind === 'rollback' ? 'rolled back' : 'deployed'} by ${requestKey(holder.id)} right now: one rollout at a time per target. Try again when it has finished.`
      : `${request.service} (${request.environment}) has a rollout running: one at a time per target.`,
  );
}

/** A failed health signal recorded for an executing deploy: who said so and why. */
export const healthSignalEntry = (request: DeployRequest, reason: string, by: ChangeBy): AuditEntry => ({
  ...by,
  incidentId: request.incidentId,
  before: null,
  after: { request: requestKey(request.id), healthSignal: reason },
});

/** Only an executing deploy is being verified; a rollback request is never verified. */
export const takesHealthSignal = (request: DeployRequest | undefined): request is DeployRequest =>
  request?.kind === 'deploy' && request.status === 'executing';
