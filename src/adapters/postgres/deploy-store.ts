// Deploy and rollback requests on PostgreSQL: guarded status changes, the per-service rollout lock,
// audit; the same answers as on SQLite (adapters/db/deploy-store.ts), for any number of replicas.
// A transition locks the request's row (SELECT ... FOR UPDATE), so the guard is checked and the audit's
// "before" read on the row as it is, and the UPDATE keeps the guard in its WHERE. The rollout lock is
// the partial unique index deploy_requests_running_idx: a second approval of the same target waits for
// the first's transaction and then violates it, which becomes a conflict naming the holder.
import { and, asc, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { RUNNING_STATUSES, type RequestStatus } from '../../domain/deploy-request.js';
import type { Clock } from '../../ports/clock.js';
import type { AuditLog, DeployStore } from '../../ports/store.js';
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
import { violates, type PgHandle } from './database.js';
import { deployHealthSignals, deployRequests } from './schema.js';

const ROLLOUT_LOCK = 'deploy_requests_running_idx';
/** The first key of the advisory locks on a target (service and environment): "dplt" in ASCII. */
const TARGET_LOCKS = 0x64706c74;

const holdsLock = (status: RequestStatus | undefined) =>
  status !== undefined && (RUNNING_STATUSES as readonly RequestStatus[]).includes(status);

export function createPgDeployStore(handle: PgHandle, audit: AuditLog, clock: Clock): DeployStore {
  const select = () => handle.executor().select().from(deployRequests);
  const sameTarget = (service: string, environment: string) =>
    and(eq(deployRequests.service, service), eq(deployRequests.environment, environment));
  const running = inArray(deployRequests.status, [...RUNNING_STATUSES]);
  const first = (rows: DeployRow[]) => rows[0] && toRequest(rows[0]);

  const store: DeployStore = {
    create: (input, via) =>
      handle.transaction(async () => {
        const [row] = await handle
          .executor()
          .insert(deployRequests)
          .values(newRequestRow(input, clock.now()))
          .returning();
        const created = toRequest(row!);
        await audit.append(requestedEntry(created, via));
        return created;
      }),
    get: async (id) => first(await select().where(eq(deployRequests.id, id))),
    running: async (service, environment) =>
      first(await select().where(and(sameTarget(service, environment), running))),
    pending: async (service, environment) =>
      (
        await select()
          .where(and(sameTarget(service, environment), eq(deployRequests.status, 'pending')))
          .orderBy(asc(deployRequests.id))
      ).map(toRequest),
    lastStarted: async (service, environment) =>
      first(
        await select()
          .where(and(sameTarget(service, environment), isNotNull(deployRequests.startedAt)))
          .orderBy(desc(deployRequests.startedAt), desc(deployRequests.id))
          .limit(1),
      ),
    inProgress: async () => (await select().where(running).orderBy(asc(deployRequests.id))).map(toRequest),
    // Released at COMMIT or ROLLBACK; a transaction waiting here then reads what the first one wrote.
    holdTarget: async (service, environment) => {
      await handle
        .executor()
        .execute(sql`SELECT pg_advisory_xact_lock(${TARGET_LOCKS}, hashtext(${`${service}\n${environment}`}))`);
    },
    transition: (id, guard, patch, by) =>
      handle.transaction(async () => {
        const before = first(await select().where(eq(deployRequests.id, id)).for('update'));
        if (!guardHolds(before, guard)) return undefined;
        const update = () =>
          handle
            .executor()
            .update(deployRequests)
            .set({ ...toColumns(patch), updatedAt: clock.now(), changeCount: sql`${deployRequests.changeCount} + 1` })
            .where(
              and(
                eq(deployRequests.id, id),
                inArray(deployRequests.status, [...guard.from]),
                ...(guard.changeCount === undefined ? [] : [eq(deployRequests.changeCount, guard.changeCount)]),
              ),
            )
            .returning();
        let rows: DeployRow[];
        try {
          // Only a change into a running status can take the rollout lock; that one runs under a
          // savepoint, so the violation leaves the caller's transaction usable (PostgreSQL would
          // otherwise abort all of it), as SQLite's does.
          rows = holdsLock(patch.status) ? await handle.savepoint(update) : await update();
        } catch (error) {
          if (!violates(error, ROLLOUT_LOCK)) throw error;
          throw rolloutConflict(before, await store.running(before.service, before.environment));
        }
        const after = first(rows);
        if (!after) return undefined;
        await audit.append(transitionEntry(before, after, patch, by));
        return after;
      }),
    // The request's row is read FOR SHARE: a transition finishing it waits, so no signal is recorded
    // for a deploy that has just finished (it would be harmless, but the audit would say otherwise).
    signalHealth: (id, reason, by, at) =>
      handle.transaction(async () => {
        const request = first(await select().where(eq(deployRequests.id, id)).for('share'));
        if (!takesHealthSignal(request)) return false;
        const added = await handle
          .executor()
          .insert(deployHealthSignals)
          .values({ requestId: id, reason, actor: by.actor, at })
          .onConflictDoNothing()
          .returning({ requestId: deployHealthSignals.requestId });
        if (!added.length) return false;
        await audit.append(healthSignalEntry(request, reason, by));
        return true;
      }),
    healthSignal: async (id) =>
      (
        await handle
          .executor()
          .select({ reason: deployHealthSignals.reason })
          .from(deployHealthSignals)
          .where(eq(deployHealthSignals.requestId, id))
      )[0]?.reason,
  };
  return store;
}
