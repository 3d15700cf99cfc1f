// The job table shared by several replicas (each its own pool, as separate processes would have):
// claims, lease renewals and sweeps that race each other, and the real worker on two replicas.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../../../src/adapters/postgres/pg-store.js';
import { createWorker, type JobHandler, type Worker, type WorkerOptions } from '../../../../src/jobs/worker.js';
import type { JobRow, Outbox } from '../../../../src/ports/store.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

const postgres = dialects().find((dialect) => dialect.name === 'postgres');
const logger = pino({ level: 'silent' });

/** Polls `condition` until it holds (or fails after `ms`). */
async function waitFor(condition: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not so after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(!postgres)('job store on PostgreSQL replicas', () => {
  let a: StoreUnderTest;
  let b: StoreUnderTest;
  const workers: Worker[] = [];

  beforeEach(async () => {
    a = await postgres!.open();
    b = await a.replica!();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop(0)));
    await b.close();
    await a.close();
  });

  const jobsOf = (t: StoreUnderTest): Outbox => t.store.jobs;
  const pool = (t: StoreUnderTest) => (t.store as PostgresStore).handle.pool;
  const now = () => a.clock.now();
  const lease = async (key: string) =>
    (
      await a.query<{ status: string; lockedBy: string | null; lockedUntil: number | null }>(
        'SELECT status, locked_by AS "lockedBy", locked_until AS "lockedUntil" FROM jobs WHERE key = ?',
        [key],
      )
    )[0]!;
  /** Statements of this database waiting for a row lock. */
  const waitingOnLocks = async () =>
    Number(
      (
        await a.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
      )[0]!.n,
    );
  const enqueueMany = async (n: number, prefix = 'job') => {
    for (let i = 0; i < n; i++) await jobsOf(a).enqueue({ kind: 'k', key: `${prefix}-${i}`, payload: { i } });
  };

  it('a job one replica enqueues, the other sees and claims', async () => {
    await jobsOf(a).enqueue({ kind: 'k', key: 'x', payload: { n: 1 } });
    expect(await jobsOf(b).state('x')).toBe('queued');
    expect(await jobsOf(b).claimNext('wb', 1000)).toMatchObject({ key: 'x', payload: { n: 1 } });
    expect(await jobsOf(a).claimNext('wa', 1000)).toBeUndefined();
  });

  it('every job is claimed exactly once by 2 replicas × 4 loops claiming at once (200 jobs)', async () => {
    await enqueueMany(200);
    const claims: Array<{ worker: string; job: JobRow }> = [];
    const loop = async (t: StoreUnderTest, worker: string) => {
      for (let job = await jobsOf(t).claimNext(worker, 60_000); job; job = await jobsOf(t).claimNext(worker, 60_000)) {
        claims.push({ worker, job });
      }
    };
    await Promise.all([a, b].flatMap((t, r) => [0, 1, 2, 3].map((l) => loop(t, `replica${r}-loop${l}`))));

    expect(claims).toHaveLength(200);
    expect(new Set(claims.map((c) => c.job.key)).size).toBe(200);
    expect(new Set(claims.map((c) => c.worker)).size).toBeGreaterThan(1);
    expect(claims.every((c) => c.job.attempts === 1)).toBe(true);
    const rows = await a.query<{ key: string; lockedBy: string; attempts: number; status: string }>(
      'SELECT key, locked_by AS "lockedBy", attempts, status FROM jobs',
    );
    const holder = new Map(claims.map((c) => [c.job.key, c.worker]));
    expect(
      rows.every((row) => row.status === 'running' && row.attempts === 1 && holder.get(row.key) === row.lockedBy),
    ).toBe(true);
    expect(await jobsOf(b).depth()).toEqual({ queued: 0, running: 200, dead: 0, oldestDueAgeMs: 0 });
  });

  it("a lease renewed by replica A is not requeued by replica B's sweep that read it expired", async () => {
    await jobsOf(a).enqueue({ kind: 'k', key: 'x', payload: {} });
    const job = (await jobsOf(a).claimNext('wa', 1000))!;
    a.clock.advance(1000); // expired, as B's sweep will read it

    // A renews inside a transaction held open, so B's sweep reads the old lease and then waits on the row.
    let commit!: () => void;
    const mayCommit = new Promise<void>((resolve) => (commit = resolve));
    let renewed!: () => void;
    const renewedInside = new Promise<void>((resolve) => (renewed = resolve));
    const renewal = a.store.transaction(async () => {
      await jobsOf(a).extendLease(job.id, 'wa', now() + 60_000);
      renewed();
      await mayCommit;
    });
    await renewedInside;
    const sweep = jobsOf(b).requeueOrphans(() => true);
    await waitFor(async () => (await waitingOnLocks()) === 1);
    commit();
    await renewal;

    expect(await sweep).toBe(0);
    expect(await lease('x')).toEqual({ status: 'running', lockedBy: 'wa', lockedUntil: now() + 60_000 });
    // A's run goes on: it can finish the job.
    await jobsOf(a).complete(job.id, 'wa');
    expect(await jobsOf(b).state('x')).toBe('done');
  });

  it('an expired lease is requeued once even when two replicas sweep at once', async () => {
    await enqueueMany(50);
    for (let i = 0; i < 50; i++) await jobsOf(i % 2 ? a : b).claimNext(`w${i}`, 1000);
    a.clock.advance(1000);

    // Both sweeps read all 50 expired leases before either may requeue one: a third connection holds the rows.
    const holder = await pool(a).connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT id FROM jobs WHERE status = 'running' FOR UPDATE");
      const sweeps = Promise.all([jobsOf(a).requeueOrphans(() => true), jobsOf(b).requeueOrphans(() => true)]);
      await waitFor(async () => (await waitingOnLocks()) === 2);
      await holder.query('COMMIT');
      const [byA, byB] = await sweeps;
      expect(byA + byB).toBe(50);
    } finally {
      holder.release();
    }
    expect(await jobsOf(a).depth()).toMatchObject({ queued: 50, running: 0 });
    const again = new Set<string>();
    for (let job = await jobsOf(b).claimNext('wb', 60_000); job; job = await jobsOf(b).claimNext('wb', 60_000)) {
      expect(job.attempts).toBe(2);
      again.add(job.key);
    }
    expect(again.size).toBe(50);
  });

  it('a job requeued and claimed again in between is left alone by a sweep that saw the old lease', async () => {
    await jobsOf(a).enqueue({ kind: 'k', key: 'x', payload: {} });
    await jobsOf(a).claimNext('wa', 1000);
    a.clock.advance(1000);

    const holder = await pool(a).connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT id FROM jobs WHERE key = 'x' FOR UPDATE");
      const sweep = jobsOf(b).requeueOrphans(() => true);
      await waitFor(async () => (await waitingOnLocks()) === 1);
      // Meanwhile (as far as B's sweep knows) A's own sweep requeued it and A claimed it again.
      await holder.query(
        "UPDATE jobs SET locked_by = 'wa2', locked_until = $1, attempts = attempts + 1 WHERE key = 'x'",
        [now() + 60_000],
      );
      await holder.query('COMMIT');
      expect(await sweep).toBe(0);
    } finally {
      holder.release();
    }
    expect(await lease('x')).toEqual({ status: 'running', lockedBy: 'wa2', lockedUntil: now() + 60_000 });
  });

  describe('the worker (jobs/worker.ts) on two replicas', () => {
    const worker = (t: StoreUnderTest, handlers: Record<string, JobHandler>, options: Partial<WorkerOptions> = {}) => {
      const w = createWorker({ store: jobsOf(t), handlers, logger, now: t.clock.now, pollMs: 10, ...options });
      workers.push(w);
      return w;
    };
    const allDone = async (n: number) =>
      Number((await a.query<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE status = 'done'"))[0]!.n) === n;

    it('two workers on two replicas run 150 jobs, each handler exactly once', async () => {
      const runs = new Map<string, number>();
      let inFlight = 0;
      let mostInFlight = 0;
      const handlers = {
        k: async (payload: { i: number }, { job, step }) => {
          runs.set(job.key, (runs.get(job.key) ?? 0) + 1);
          mostInFlight = Math.max(mostInFlight, ++inFlight);
          await step('work', async () => {
            await new Promise((resolve) => setTimeout(resolve, payload.i % 5));
            return payload.i;
          });
          inFlight--;
        },
      } satisfies Record<string, JobHandler>;
      await enqueueMany(100);
      const workerA = worker(a, handlers);
      const workerB = worker(b, handlers);
      workerA.start();
      workerB.start();
      // More arrive while they run, through either replica.
      for (let i = 100; i < 150; i++)
        await jobsOf(i % 2 ? a : b).enqueue({ kind: 'k', key: `job-${i}`, payload: { i } });

      await waitFor(() => allDone(150));
      expect(runs.size).toBe(150);
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      expect(mostInFlight).toBeGreaterThan(1);
      const rows = await a.query<{ attempts: number; progress: { work: number }; payload: { i: number } }>(
        'SELECT attempts, progress, payload FROM jobs',
      );
      expect(rows.every((row) => row.attempts === 1 && row.progress.work === row.payload.i)).toBe(true);
      expect(await jobsOf(b).depth()).toEqual({ queued: 0, running: 0, dead: 0, oldestDueAgeMs: 0 });
    });

    it('a replica that dies mid-job (its connections gone) loses the job to the other once its lease runs out', async () => {
      const leaseMs = 10_000;
      const ran: string[] = [];
      let hang = true;
      let unblock!: () => void;
      const hung = new Promise<void>((resolve) => (unblock = resolve));
      const handlers = {
        k: async (_payload: never, { job }) => {
          ran.push(job.key);
          if (hang) {
            hang = false;
            await hung; // the replica dies while this runs
          }
        },
      } satisfies Record<string, JobHandler>;
      const doomed = await a.replica!();
      const dying = worker(doomed, handlers, { leaseMs });
      await jobsOf(a).enqueue({ kind: 'k', key: 'x', payload: {} });
      dying.start();
      await waitFor(() => ran.length === 1);
      await doomed.close(); // its pool ends: no renewals, no completion from here on

      const survivor = worker(b, handlers, { leaseMs });
      survivor.start();
      // Until the lease runs out, the job stays with the dead replica (the other cannot tell it is dead).
      b.clock.advance(leaseMs - 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ran).toEqual(['x']);
      expect(await jobsOf(b).state('x')).toBe('running');

      // It sweeps every leaseMs / 2 (the last sweep just now found the lease holding): the job is
      // back within 1.5 × leaseMs of the last renewal, at worst.
      b.clock.advance(leaseMs / 2);
      await waitFor(async () => (await jobsOf(b).state('x')) === 'done');
      expect(ran).toEqual(['x', 'x']);
      expect(await jobsOf(b).get('x')).toMatchObject({ status: 'done', attempts: 2 });
      unblock();
    });
  });
});
