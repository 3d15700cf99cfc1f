// The outbox table on PostgreSQL, shared by every replica: the same operations as on SQLite
// (adapters/db/job-store.ts), made safe for many workers in many processes. A claim is one
// statement that skips rows another replica is claiming (FOR UPDATE SKIP LOCKED); every write of a
// running job names the worker that holds it, and the sweep requeues only the lease it saw, so a
// lease renewed meanwhile by its holder is never taken away.
import { and, asc, count, eq, gte, lte, min, sql, type Placeholder } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import type { Outbox } from '../../ports/store.js';
import type { AnyJob } from '../../ports/jobs.js';
import { isOrphan, leftSinceFields, retryPatch, toDepth, toJobsLeft } from '../db/job-table.js';
import type { PgHandle, QueuedWrite } from './database.js';
import { jobs } from './schema.js';

/** The running job held by `worker` (the guard of every write that ends or extends a run); values or placeholders. */
const heldBy = (id: number | Placeholder, worker: string | Placeholder) =>
  and(eq(jobs.id, id), eq(jobs.lockedBy, worker), eq(jobs.status, 'running'));

export function createPgJobStore(handle: PgHandle, clock: Clock, onEnqueue?: () => void): Outbox {
  const q = () => handle.executor();
  // One INSERT for all (the reminder tick's jobs for a hundred due incidents: one round trip, not a hundred).
  const enqueueMany = async (batch: readonly AnyJob[]): Promise<number> => {
    if (batch.length === 0) return 0;
    const inserted = await q()
      .insert(jobs)
      .values(rowsOf(batch))
      .onConflictDoNothing({ target: jobs.key })
      .returning({ id: jobs.id });
    if (inserted.length > 0) onEnqueue?.();
    return inserted.length;
  };
  const rowsOf = (batch: readonly AnyJob[]) => {
    const now = clock.now();
    return batch.map((job) => ({
      kind: job.kind,
      key: job.key,
      payload: job.payload as Record<string, unknown>,
      status: 'queued' as const,
      runAt: job.runAt ?? now,
      createdAt: now,
    }));
  };
  const later: QueuedWrite<AnyJob> = {
    statement: (batch) => handle.db.insert(jobs).values(rowsOf(batch)).onConflictDoNothing({ target: jobs.key }),
  };
  // The worker's statements, every job's: prepared once (database.ts, PgHandle.prepared).
  const claim = handle.prepared('job_claim', (on) => {
    // The due job longest waiting that no other replica is claiming right now. A scalar subquery
    // runs once (an InitPlan), so the UPDATE touches at most the one row it locked; the status is
    // checked again there all the same (the row lock already makes it hold).
    const next = on
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.status, 'queued'), lte(jobs.runAt, sql.placeholder('dueBy'))))
      .orderBy(asc(jobs.runAt), asc(jobs.id))
      .limit(1)
      .for('update', { skipLocked: true });
    return on
      .update(jobs)
      .set({
        status: 'running',
        attempts: sql`${jobs.attempts} + 1`,
        lockedBy: sql`${sql.placeholder('worker')}`,
        lockedUntil: sql`${sql.placeholder('until')}::bigint`,
      })
      .where(and(sql`${jobs.id} = ${next}`, eq(jobs.status, 'queued')))
      .returning({
        id: jobs.id,
        kind: jobs.kind,
        key: jobs.key,
        payload: jobs.payload,
        attempts: jobs.attempts,
        runAt: jobs.runAt,
        progress: jobs.progress,
        createdAt: jobs.createdAt,
      });
  });
  const completed = handle.prepared('job_complete', (on) =>
    on
      .update(jobs)
      .set({
        status: 'done',
        finishedAt: sql`${sql.placeholder('at')}::bigint`,
        lockedBy: null,
        lockedUntil: null,
        lastError: null,
      })
      .where(heldBy(sql.placeholder('id'), sql.placeholder('worker'))),
  );
  const stepSaved = handle.prepared('job_save_step', (on) =>
    on
      .update(jobs)
      .set({
        progress: sql`${jobs.progress} || jsonb_build_object(${sql.placeholder('step')}::text, ${sql.placeholder('result')}::jsonb)`,
      })
      .where(eq(jobs.id, sql.placeholder('id'))),
  );
  return {
    enqueue: async (job) => (await enqueueMany([job])) === 1,
    async enqueueLater(job) {
      await handle.queueWrite(later, job);
      // The worker may find nothing when the key existed: it looks and sleeps again.
      if (onEnqueue) onEnqueue();
    },
    enqueueMany,
    async claimNext(worker, leaseMs, dueBy) {
      const now = clock.now();
      const [row] = await claim().execute({ worker, until: now + leaseMs, dueBy: dueBy ?? now });
      return row;
    },
    // Finishing writes only while the worker still holds the job: a run abandoned after stop()'s
    // grace time (and requeued meanwhile) cannot overwrite the newer run's state.
    async complete(id, worker) {
      await completed().execute({ id, worker, at: clock.now() });
    },
    // As on SQLite, by id alone: a step that ran has had its effect, whoever records it. One
    // statement, so steps of one job saved at once each add their key (the row lock orders them).
    async saveStep(id, step, result) {
      await stepSaved().execute({ id, step, result: JSON.stringify(result ?? null) });
    },
    async extendLease(id, worker, until) {
      await q().update(jobs).set({ lockedUntil: until }).where(heldBy(id, worker));
    },
    async retry(id, worker, error, runAt, options = {}) {
      await q()
        .update(jobs)
        .set(retryPatch(jobs, runAt, error, options))
        .where(heldBy(id, worker));
    },
    async bury(id, worker, error) {
      await q()
        .update(jobs)
        .set({ status: 'dead', lastError: error, finishedAt: clock.now(), lockedBy: null, lockedUntil: null })
        .where(heldBy(id, worker));
    },
    async state(key) {
      const [row] = await q().select({ status: jobs.status }).from(jobs).where(eq(jobs.key, key));
      return row?.status;
    },
    async requeueOrphans(isWorkerAlive) {
      const now = clock.now();
      const db = q();
      const running = await db
        .select({ id: jobs.id, lockedBy: jobs.lockedBy, lockedUntil: jobs.lockedUntil })
        .from(jobs)
        .where(eq(jobs.status, 'running'));
      let requeued = 0;
      for (const job of running.filter((job) => isOrphan(job, now, isWorkerAlive))) {
        // Only the lease seen above: renewed since (or requeued and claimed again, or requeued by
        // another replica's sweep), the row no longer matches and stays as it is.
        const changed = await db
          .update(jobs)
          .set({ status: 'queued', lockedBy: null, lockedUntil: null })
          .where(
            and(
              eq(jobs.id, job.id),
              eq(jobs.status, 'running'),
              sql`${jobs.lockedBy} IS NOT DISTINCT FROM ${job.lockedBy}`,
              sql`${jobs.lockedUntil} IS NOT DISTINCT FROM ${job.lockedUntil}::bigint`,
            ),
          )
          .returning({ id: jobs.id });
        requeued += changed.length;
      }
      return requeued;
    },
    async depth() {
      const now = clock.now();
      const db = q();
      const counts = await db.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status);
      const [oldest] = await db
        .select({ runAt: min(jobs.runAt) })
        .from(jobs)
        .where(and(eq(jobs.status, 'queued'), lte(jobs.runAt, now)));
      return toDepth(counts, oldest?.runAt, now);
    },
    async nextRunAt() {
      const [row] = await q()
        .select({ runAt: jobs.runAt })
        .from(jobs)
        .where(eq(jobs.status, 'queued'))
        .orderBy(asc(jobs.runAt))
        .limit(1);
      return row?.runAt;
    },
    async leftSince(since) {
      const [row] = await q().select(leftSinceFields(jobs, clock.now())).from(jobs).where(gte(jobs.createdAt, since));
      return toJobsLeft(row!);
    },
    async get(key) {
      const [row] = await q().select().from(jobs).where(eq(jobs.key, key));
      return row;
    },
  };
}
