import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../src/adapters/db/database.js';
import { createJobStore } from '../../../../src/adapters/db/job-store.js';
import { createManualClock } from '../../../../src/ports/clock.js';
import type { Outbox } from '../../../../src/ports/store.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

for (const dialect of dialects()) {
  describe(`job store on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    let jobs: Outbox;
    /** This test's wake-ups (a hook of the test before may still fire as this one starts). */
    let wakes: { n: number };

    beforeEach(async () => {
      const mine = { n: 0 };
      wakes = mine;
      t = await dialect.open({ hooks: { onEnqueue: () => void mine.n++ } });
      jobs = t.store.jobs;
    });
    afterEach(() => t.close());

    const now = () => t.clock.now();
    const status = async (key: string) => (await jobs.get(key))?.status;
    /** The lease columns, which the store's get does not declare. */
    const lease = async (key: string) =>
      (
        await t.query<{ lockedBy: string | null; lockedUntil: number | null }>(
          'SELECT locked_by AS "lockedBy", locked_until AS "lockedUntil" FROM jobs WHERE key = ?',
          [key],
        )
      )[0]!;
    const claim = async (worker = 'w', leaseMs = 1000) => (await jobs.claimNext(worker, leaseMs))!;
    /** The hooks run soon after the enqueue's transaction has ended (a turn or two of the event loop). */
    const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

    it('enqueues a key once: the second enqueue is ignored and keeps the first payload', async () => {
      expect(await jobs.enqueue({ kind: 'k', key: 'war-room:1', payload: { n: 1 } })).toBe(true);
      expect(await jobs.enqueue({ kind: 'k', key: 'war-room:1', payload: { n: 2 } })).toBe(false);
      expect(await jobs.depth()).toMatchObject({ queued: 1, running: 0, dead: 0 });
      expect(await jobs.get('war-room:1')).toMatchObject({
        kind: 'k',
        payload: { n: 1 },
        status: 'queued',
        attempts: 0,
        runAt: now(),
      });
    });

    it('enqueues many at once: keys already there (or twice in the batch) are skipped, and the count says how many were added', async () => {
      await jobs.enqueue({ kind: 'k', key: 'remind:1:100', payload: { n: 0 } });
      const added = await jobs.enqueueMany([
        { kind: 'k', key: 'remind:1:100', payload: { n: 1 } },
        { kind: 'k', key: 'remind:2:100', payload: { n: 2 } },
        { kind: 'e', key: 'escalate:2:100', payload: { n: 3 }, runAt: now() + 5_000 },
        { kind: 'k', key: 'remind:2:100', payload: { n: 4 } },
      ]);
      expect(added).toBe(2);
      expect(await jobs.enqueueMany([])).toBe(0);
      expect(await jobs.get('remind:1:100')).toMatchObject({ payload: { n: 0 } });
      expect(await jobs.get('remind:2:100')).toMatchObject({ kind: 'k', payload: { n: 2 }, runAt: now() });
      expect(await jobs.get('escalate:2:100')).toMatchObject({ kind: 'e', payload: { n: 3 }, runAt: now() + 5_000 });
      expect(await jobs.depth()).toMatchObject({ queued: 3 });
    });

    it('wakes the worker (onEnqueue) only for a job added, once its transaction has ended', async () => {
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      await settle();
      expect(wakes.n).toBe(1);

      await t.store.transaction(async () => {
        await jobs.enqueue({ kind: 'k', key: 'b', payload: {} });
        await settle();
        expect(wakes.n).toBe(1);
      });
      await settle();
      expect(wakes.n).toBe(2);

      await expect(
        t.store.transaction(async () => {
          await jobs.enqueue({ kind: 'k', key: 'c', payload: {} });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await jobs.state('c')).toBeUndefined();
    });

    it('ignores a re-enqueue of a finished job too (the key is the effect, not the attempt)', async () => {
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      await jobs.complete((await claim()).id, 'w');
      expect(await jobs.enqueue({ kind: 'k', key: 'a', payload: {} })).toBe(false);
      expect(await status('a')).toBe('done');
    });

    it('claims only due jobs, oldest run_at first, and leases them', async () => {
      const at = now();
      await jobs.enqueue({ kind: 'k', key: 'later', payload: {}, runAt: at + 5000 });
      await jobs.enqueue({ kind: 'k', key: 'second', payload: {}, runAt: at - 10 });
      await jobs.enqueue({ kind: 'k', key: 'first', payload: {}, runAt: at - 20 });

      expect(await jobs.claimNext('w1', 1000)).toMatchObject({ key: 'first', attempts: 1 });
      expect(await jobs.claimNext('w1', 1000)).toMatchObject({ key: 'second', attempts: 1 });
      expect(await jobs.claimNext('w1', 1000)).toBeUndefined();
      expect(await status('first')).toBe('running');
      expect(await lease('first')).toEqual({ lockedBy: 'w1', lockedUntil: at + 1000 });
      expect(await jobs.depth()).toMatchObject({ queued: 1, running: 2 });
      expect(await jobs.nextRunAt()).toBe(at + 5000);

      t.clock.advance(5000);
      expect(await jobs.claimNext('w2', 1000)).toMatchObject({ key: 'later' });
    });

    it('returns the claimed job whole: payload, progress, run_at and created_at as stored', async () => {
      const runAt = now() - 5;
      const createdAt = now();
      await jobs.enqueue({
        kind: 'note',
        key: 'a',
        payload: { incidentId: 7, text: 'ü "quoted"', list: [1, null] },
        runAt,
      });
      expect(await claim()).toEqual({
        id: expect.any(Number) as number,
        kind: 'note',
        key: 'a',
        payload: { incidentId: 7, text: 'ü "quoted"', list: [1, null] },
        attempts: 1,
        runAt,
        progress: {},
        createdAt,
      });
    });

    it('claims by `dueBy` only jobs due by then (ties by id), and leases from now', async () => {
      const at = now();
      await jobs.enqueue({ kind: 'k', key: 'old', payload: {}, runAt: at - 2000 });
      await jobs.enqueue({ kind: 'k', key: 'old too', payload: {}, runAt: at - 2000 });
      await jobs.enqueue({ kind: 'k', key: 'fresh', payload: {}, runAt: at - 500 });
      expect(await jobs.claimNext('w', 1000, at - 1000)).toMatchObject({ key: 'old' });
      expect(await jobs.claimNext('w', 1000, at - 2000)).toMatchObject({ key: 'old too' });
      expect(await jobs.claimNext('w', 1000, at - 1000)).toBeUndefined();
      expect(await lease('old')).toEqual({ lockedBy: 'w', lockedUntil: at + 1000 });
      expect(await jobs.claimNext('w', 1000, at)).toMatchObject({ key: 'fresh' });
    });

    it('keeps step results in the progress of the job, across claims', async () => {
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      const job = await claim();
      await jobs.saveStep(job.id, 'create-room', { id: 'C1', name: 'inc-1' });
      await jobs.saveStep(job.id, 'post-card', '1700000000.000100');
      await jobs.saveStep(job.id, 'nothing', undefined);
      await jobs.saveStep(job.id, 'deploy.github:v1', 12.5);
      await jobs.retry(job.id, 'w', 'boom', now());
      expect((await claim()).progress).toEqual({
        'create-room': { id: 'C1', name: 'inc-1' },
        'post-card': '1700000000.000100',
        nothing: null,
        'deploy.github:v1': 12.5,
      });
    });

    it('steps of one job saved at once all land (none overwrites another)', async () => {
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      const job = await claim();
      const names = Array.from({ length: 20 }, (_, i) => `step-${i}`);
      await Promise.all(names.map((name, i) => jobs.saveStep(job.id, name, { i })));
      await jobs.saveStep(job.id, 'step-0', 'again');
      const { progress } = (await jobs.get('a'))!;
      expect(Object.keys(progress).sort()).toEqual([...names].sort());
      expect(progress['step-0']).toBe('again');
      expect(progress['step-19']).toEqual({ i: 19 });
    });

    it('retry puts the job back with its error; bury marks it dead', async () => {
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      await jobs.enqueue({ kind: 'k', key: 'b', payload: {} });
      const a = await claim();
      const b = await claim();
      await jobs.retry(a.id, 'w', 'timeout', now() + 3000);
      await jobs.bury(b.id, 'w', 'no such channel');
      expect(await jobs.get('a')).toMatchObject({
        status: 'queued',
        runAt: now() + 3000,
        lastError: 'timeout',
        attempts: 1,
      });
      expect(await lease('a')).toEqual({ lockedBy: null, lockedUntil: null });
      expect(await jobs.get('b')).toMatchObject({ status: 'dead', lastError: 'no such channel', finishedAt: now() });
      t.clock.advance(60_000);
      expect(await jobs.depth()).toEqual({ queued: 1, running: 0, dead: 1, oldestDueAgeMs: 57_000 });
    });

    it('a retry that does not count the attempt gives it back (never below zero)', async () => {
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      let job = await claim();
      expect(job.attempts).toBe(1);
      await jobs.retry(job.id, 'w', 'room not open yet', now(), { countAttempt: false });
      expect(await jobs.get('a')).toMatchObject({ status: 'queued', attempts: 0, lastError: 'room not open yet' });
      job = await claim();
      await jobs.retry(job.id, 'w', 'failed', now(), { countAttempt: true });
      expect(await jobs.get('a')).toMatchObject({ status: 'queued', attempts: 1 });
      await t.query("UPDATE jobs SET attempts = 0, status = 'running', locked_by = 'w' WHERE key = 'a' RETURNING id");
      await jobs.retry(job.id, 'w', 'waits', now(), { countAttempt: false });
      expect((await jobs.get('a'))?.attempts).toBe(0);
    });

    it('complete, retry and bury write only while the given worker holds the job', async () => {
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      const job = await claim('w1');
      const before = await jobs.get('a');
      await jobs.complete(job.id, 'w2');
      await jobs.retry(job.id, 'w2', 'stale', now() + 5000);
      await jobs.bury(job.id, 'w2', 'stale');
      expect(await jobs.get('a')).toEqual(before);
      expect((await lease('a')).lockedBy).toBe('w1');

      // A run abandoned and requeued (here: taken over by w2) cannot overwrite the newer run's state.
      t.clock.advance(1000);
      expect(await jobs.requeueOrphans(() => true)).toBe(1);
      const again = await claim('w2');
      await jobs.complete(again.id, 'w2');
      await jobs.bury(job.id, 'w1', 'late failure of the abandoned run');
      await jobs.retry(job.id, 'w1', 'late failure of the abandoned run', now());
      expect(await jobs.get('a')).toMatchObject({ status: 'done', lastError: null, attempts: 2 });
      // Nor can the abandoned run finish it again, or take its lease back.
      await jobs.complete(job.id, 'w2');
      await jobs.extendLease(job.id, 'w2', now() + 60_000);
      expect(await lease('a')).toEqual({ lockedBy: null, lockedUntil: null });
    });

    it('state(key) gives the status of the job with that key, or undefined', async () => {
      expect(await jobs.state('a')).toBeUndefined();
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      expect(await jobs.state('a')).toBe('queued');
      const job = await claim();
      expect(await jobs.state('a')).toBe('running');
      await jobs.bury(job.id, 'w', 'gone');
      expect(await jobs.state('a')).toBe('dead');
      await jobs.enqueue({ kind: 'k', key: 'b', payload: {} });
      await jobs.complete((await claim()).id, 'w');
      expect(await jobs.state('b')).toBe('done');
    });

    it('requeues running jobs whose lease ran out or whose worker is gone, and only those', async () => {
      for (const key of ['expired', 'gone', 'alive']) await jobs.enqueue({ kind: 'k', key, payload: {} });
      await jobs.claimNext('short', 1000);
      await jobs.claimNext('dead-worker', 60_000);
      await jobs.claimNext('live-worker', 60_000);
      t.clock.advance(1000);
      const asked: string[] = [];
      const requeued = await jobs.requeueOrphans((worker) => (asked.push(worker), worker !== 'dead-worker'));
      expect(requeued).toBe(2);
      expect([await status('expired'), await status('gone'), await status('alive')]).toEqual([
        'queued',
        'queued',
        'running',
      ]);
      expect(await lease('gone')).toEqual({ lockedBy: null, lockedUntil: null });
      // An expired lease is requeued without asking about its worker.
      expect(asked.sort()).toEqual(['dead-worker', 'live-worker']);
      expect(await jobs.requeueOrphans(() => true)).toBe(0);
    });

    it('extends a lease only for the worker that holds it', async () => {
      await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
      const job = await claim('w1');
      await jobs.extendLease(job.id, 'w2', now() + 99_000);
      expect((await lease('a')).lockedUntil).toBe(now() + 1000);
      await jobs.extendLease(job.id, 'w1', now() + 99_000);
      expect((await lease('a')).lockedUntil).toBe(now() + 99_000);
      t.clock.advance(1000);
      expect(await jobs.requeueOrphans(() => true)).toBe(0);
    });

    it('depth and nextRunAt of an empty queue', async () => {
      expect(await jobs.depth()).toEqual({ queued: 0, running: 0, dead: 0, oldestDueAgeMs: 0 });
      expect(await jobs.nextRunAt()).toBeUndefined();
      expect(await jobs.leftSince(0)).toEqual({ unfinished: 0, scheduled: 0 });
      expect(await jobs.get('none')).toBeUndefined();
    });

    it('leftSince: of the jobs created since a time, those not done, told apart by whether they were due', async () => {
      await jobs.enqueue({ kind: 'k', key: 'before', payload: {}, runAt: now() + 120_000 });
      t.clock.advance(1000);
      const since = now();
      const at = now();
      await jobs.enqueue({ kind: 'k', key: 'done', payload: {} });
      await jobs.enqueue({ kind: 'k', key: 'due', payload: {} });
      await jobs.enqueue({ kind: 'k', key: 'running', payload: {}, runAt: at - 1 });
      await jobs.enqueue({ kind: 'k', key: 'retrying', payload: {}, runAt: at - 2 });
      await jobs.enqueue({ kind: 'k', key: 'failed', payload: {}, runAt: at - 3 });
      await jobs.enqueue({ kind: 'k', key: 'reminder', payload: {}, runAt: at + 60_000 });
      await jobs.enqueue({ kind: 'k', key: 'later reminder', payload: {}, runAt: at + 90_000 });
      const failed = await claim();
      await jobs.bury(failed.id, 'w', 'no such channel');
      const retrying = await claim();
      await jobs.retry(retrying.id, 'w', 'timeout', at + 5000);
      await claim(); // running
      const done = (await jobs.get('done'))!;
      await t.query("UPDATE jobs SET status = 'done' WHERE id = ? RETURNING id", [done.id]);

      // 'before' is not counted; 'failed' is dead (the worker logged it); 'retrying' waits for a later time after an error.
      expect(await jobs.leftSince(since)).toEqual({ unfinished: 3, scheduled: 2, firstScheduledAt: at + 60_000 });
      expect(await jobs.leftSince(at + 1)).toEqual({ unfinished: 0, scheduled: 0 });
    });
  });
}

describe('job store on a SQLite file', () => {
  let dir: string;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'firelane-jobstore-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps jobs across a reopen of the database file', () => {
    const clock = createManualClock();
    let handle = openDatabase(join(dir, 'nested', 'firelane.db'));
    createJobStore(handle, clock).enqueue({ kind: 'k', key: 'durable', payload: { incidentId: 3 } });
    handle.close();
    handle = openDatabase(join(dir, 'nested', 'firelane.db'));
    expect(createJobStore(handle, clock).get('durable')).toMatchObject({
      status: 'queued',
      payload: { incidentId: 3 },
    });
    handle.close();
  });
});
