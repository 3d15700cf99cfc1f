// Deploy and rollback requests on SQLite: guarded status changes, the per-service rollout lock, audit.
import { and, asc, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { RUNNING_STATUSES, requestKey, type DeployRequest, type RequestStatus } from '../../domain/deploy-request.js';
import { conflict } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { AuditRecords, DeployPatch, DeployRecords } from '../../ports/store.js';
import { atomicWrites, type DbHandle } from './database.js';
import { deployRequests } from './schema.js';

type Row = typeof deployRequests.$inferSelect;

function toRequest(row: Row): DeployRequest {
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
function toColumns(patch: DeployPatch): Partial<Row> {
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

const isUniqueViolation = (error: unknown) => (error as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE';

// The condition of the partial index deploy_requests_running_idx as literals (the statuses are our
// constants): bound as parameters, SQLite would plan these statements again on every run.
const RUNNING = sql`${deployRequests.status} in ${sql.raw(`(${RUNNING_STATUSES.map((status) => `'${status}'`).join(', ')})`)}`;

export function createDeployStore({ db, sqlite }: DbHandle, audit: AuditRecords, clock: Clock): DeployRecords {
  // Approve and reject run on the acknowledgement path: these are prepared once.
  const byId = db
    .select()
    .from(deployRequests)
    .where(eq(deployRequests.id, sql.placeholder('id')))
    .prepare();
  const sameTarget = and(
    eq(deployRequests.service, sql.placeholder('service')),
    eq(deployRequests.environment, sql.placeholder('environment')),
  );
  const runningQuery = db.select().from(deployRequests).where(and(sameTarget, RUNNING)).prepare();
  const pendingQuery = db
    .select()
    .from(deployRequests)
    .where(and(sameTarget, eq(deployRequests.status, 'pending')))
    .orderBy(asc(deployRequests.id))
    .prepare();
  const lastStartedQuery = db
    .select()
    .from(deployRequests)
    .where(and(sameTarget, isNotNull(deployRequests.startedAt)))
    .orderBy(desc(deployRequests.startedAt), desc(deployRequests.id))
    .limit(1)
    .prepare();
  const inProgressQuery = db.select().from(deployRequests).where(RUNNING).orderBy(asc(deployRequests.id)).prepare();

  const get = (id: number) => {
    const row = byId.get({ id });
    return row && toRequest(row);
  };
  const running = (service: string, environment: string) => {
    const row = runningQuery.get({ service, environment });
    return row && toRequest(row);
  };

  const store: DeployRecords = {
    create(input, via) {
      const now = clock.now();
      const row = db
        .insert(deployRequests)
        .values({
          whereTo: null,
          undoes: null,
          requesterPerson: null,
          ...input,
          status: 'pending',
          approvals: [],
          updatedAt: now,
        })
        .returning()
        .get();
      const created = toRequest(row);
      audit.append({
        actor: input.requester,
        platform: via,
        action: `${created.kind}.requested`,
        incidentId: created.incidentId,
        before: null,
        after: { request: requestKey(created.id), ...created },
      });
      return created;
    },
    get,
    running,
    pending(service, environment) {
      return pendingQuery.all({ service, environment }).map(toRequest);
    },
    lastStarted(service, environment) {
      const row = lastStartedQuery.get({ service, environment });
      return row && toRequest(row);
    },
    inProgress() {
      return inProgressQuery.all().map(toRequest);
    },
    transition(id, guard, patch, by) {
      const before = get(id);
      if (!before || !guard.from.includes(before.status)) return undefined;
      if (guard.changeCount !== undefined && before.changeCount !== guard.changeCount) return undefined;
      let row: Row | undefined;
      try {
        row = db
          .update(deployRequests)
          .set({ ...toColumns(patch), updatedAt: clock.now(), changeCount: sql`${deployRequests.changeCount} + 1` })
          .where(
            and(
              eq(deployRequests.id, id),
              inArray(deployRequests.status, [...guard.from]),
              ...(guard.changeCount === undefined ? [] : [eq(deployRequests.changeCount, guard.changeCount)]),
            ),
          )
          .returning()
          .get();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const holder = running(before.service, before.environment);
        throw conflict(
          holder
            ? `${before.service} (${before.environment}) is being ${holder.kind === 'rollback' ? 'rolled back' : 'deployed'} by ${requestKey(holder.id)} right now: one rollout at a time per target. Try again when it has finished.`
            : `${before.service} (${before.environment}) has a rollout running: one at a time per target.`,
        );
      }
      if (!row) return undefined;
      const after = toRequest(row);
      const changed = (Object.keys(patch) as Array<keyof DeployPatch>).filter(
        (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
      );
      const pick = (request: DeployRequest) => Object.fromEntries(changed.map((key) => [key, request[key]]));
      audit.append({
        ...by,
        incidentId: after.incidentId,
        before: { request: requestKey(id), ...pick(before) },
        after: { request: requestKey(id), ...pick(after) },
      });
      return after;
    },
  };
  return atomicWrites(sqlite, store, ['create', 'transition']);
}
