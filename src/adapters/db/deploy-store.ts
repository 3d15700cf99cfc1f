// Deploy and rollback requests on SQLite: guarded status changes, the per-service rollout lock, audit.
import { and, asc, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { RUNNING_STATUSES } from '../../domain/deploy-request.js';
import type { Clock } from '../../ports/clock.js';
import type { AuditRecords, DeployRecords } from '../../ports/store.js';
import {
  guardHolds,
  healthSignalEntry,
  newRequestRow,
  requestedEntry,
  rolloutConflict,
  toColumns,
  takesHealthSignal,
  toRequest,
  transitionEntry,
  type DeployRow,
} from '../deploy-records.js';
import { atomicWrites, type DbHandle } from './database.js';
import { deployHealthSignals, deployRequests } from './schema.js';

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
  // Read at every look of a health window.
  const signalQuery = db
    .select({ reason: deployHealthSignals.reason })
    .from(deployHealthSignals)
    .where(eq(deployHealthSignals.requestId, sql.placeholder('id')))
    .prepare();

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
      const row = db.insert(deployRequests).values(newRequestRow(input, clock.now())).returning().get();
      const created = toRequest(row);
      audit.append(requestedEntry(created, via));
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
    // A SQLite transaction holds the whole database (the store's gate runs one at a time).
    holdTarget() {},
    transition(id, guard, patch, by) {
      const before = get(id);
      if (!guardHolds(before, guard)) return undefined;
      let row: DeployRow | undefined;
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
        throw rolloutConflict(before, running(before.service, before.environment));
      }
      if (!row) return undefined;
      const after = toRequest(row);
      audit.append(transitionEntry(before, after, patch, by));
      return after;
    },
    signalHealth(id, reason, by, at) {
      const request = get(id);
      if (!takesHealthSignal(request)) return false;
      const added = db
        .insert(deployHealthSignals)
        .values({ requestId: id, reason, actor: by.actor, at })
        .onConflictDoNothing()
        .returning()
        .get();
      if (!added) return false;
      audit.append(healthSignalEntry(request, reason, by));
      return true;
    },
    healthSignal(id) {
      return signalQuery.get({ id })?.reason;
    },
  };
  return atomicWrites(sqlite, store, ['create', 'transition', 'signalHealth']);
}
