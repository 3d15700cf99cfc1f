// The outbox table's rules, the same on SQLite and PostgreSQL (adapters/postgres/job-store.ts uses
// them too): which running jobs are orphans, what a retry writes, how the queue's figures are
// counted. Drizzle expressions that both dialects run as they are.
import { and, eq, gt, isNull, sql, type Column, type SQL } from 'drizzle-orm';
import type { JobsLeft, OutboxRecords } from '../../ports/store.js';

/** A running job's lease as the sweep reads it. */
export interface Lease {
  id: number;
  lockedBy: string | null;
  lockedUntil: number | null;
}

/** A running job goes back to the queue when its lease ran out, or nobody or a dead worker holds it. */
export function isOrphan(job: Lease, now: number, isWorkerAlive: (worker: string) => boolean): boolean {
  return (job.lockedUntil ?? 0) <= now || !job.lockedBy || !isWorkerAlive(job.lockedBy);
}

/**
 * What retry() writes: the job queued again for `runAt` with its error, its lease let go; with
 * `countAttempt: false` (it only waited for something) the attempt is given back, never below zero.
 */
export function retryPatch(
  jobs: { attempts: Column },
  runAt: number,
  error: string,
  { countAttempt = true }: { countAttempt?: boolean } = {},
) {
  return {
    status: 'queued' as const,
    runAt,
    lastError: error,
    lockedBy: null,
    lockedUntil: null,
    ...(!countAttempt && {
      attempts: sql<number>`CASE WHEN ${jobs.attempts} > 0 THEN ${jobs.attempts} - 1 ELSE 0 END`,
    }),
  };
}

/** depth() from the jobs counted per status and the run_at of the oldest due queued job. */
export function toDepth(
  counts: ReadonlyArray<{ status: string; n: number }>,
  oldestDueRunAt: number | null | undefined,
  now: number,
): ReturnType<OutboxRecords['depth']> {
  const by = (status: string) => counts.find((c) => c.status === status)?.n ?? 0;
  return {
    queued: by('queued'),
    running: by('running'),
    dead: by('dead'),
    oldestDueAgeMs: oldestDueRunAt == null ? 0 : now - oldestDueRunAt,
  };
}

/**
 * The aggregates of leftSince() over the job table's columns (aggregate FILTER: SQLite 3.30 and
 * PostgreSQL). Scheduled: queued for a later time and never failed; unfinished: every other job not
 * done or dead.
 */
export function leftSinceFields(jobs: { status: Column; runAt: Column; lastError: Column }, now: number) {
  const scheduled = and(eq(jobs.status, 'queued'), gt(jobs.runAt, now), isNull(jobs.lastError)) as SQL;
  return {
    unfinished:
      sql<number>`count(*) FILTER (WHERE ${jobs.status} IN ('queued', 'running') AND NOT (${scheduled}))`.mapWith(
        Number,
      ),
    scheduled: sql<number>`count(*) FILTER (WHERE ${scheduled})`.mapWith(Number),
    firstScheduledAt: sql<number | null>`min(CASE WHEN ${scheduled} THEN ${jobs.runAt} END)`.mapWith(Number),
  };
}

export function toJobsLeft(row: { unfinished: number; scheduled: number; firstScheduledAt: number | null }): JobsLeft {
  return {
    unfinished: row.unfinished,
    scheduled: row.scheduled,
    ...(row.firstScheduledAt !== null && { firstScheduledAt: row.firstScheduledAt }),
  };
}
