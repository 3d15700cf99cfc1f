import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../../../src/adapters/db/database.js';
import { createJobStore, type JobStore } from '../../../../src/adapters/db/job-store.js';
import { createManualClock, type ManualClock } from '../../../../src/ports/clock.js';

let dir: string;
let handle: DbHandle;
let clock: ManualClock;
let jobs: JobStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'firelane-jobstore-'));
  handle = openDatabase(join(dir, 'nested', 'firelane.db'));
  clock = createManualClock();
  jobs = createJobStore(handle, clock);
});
afterEach(() => {
  handle.close();
  rmSync(dir, { recursive: true, force: true });
});

const status = (key: string) => jobs.get(key)?.status;
/** The lease columns, which JobStore.get does not declare. */
const lease = (key: string) =>
  handle.sqlite
    .prepare('SELECT locked_by AS lockedBy, locked_until AS lockedUntil FROM jobs WHERE key = ?')
    .get(key) as { lockedBy: string | null; lockedUntil: number | null };

describe('job store', () => {
  it('enqueues a key once: the second enqueue is ignored and keeps the first payload', () => {
    expect(jobs.enqueue({ kind: 'k', key: 'war-room:1', payload: { n: 1 } })).toBe(true);
    expect(jobs.enqueue({ kind: 'k', key: 'war-room:1', payload: { n: 2 } })).toBe(false);
    expect(jobs.depth()).toMatchObject({ queued: 1, running: 0, dead: 0 });
    expect(jobs.get('war-room:1')).toMatchObject({
      kind: 'k',
      payload: { n: 1 },
      status: 'queued',
      attempts: 0,
      runAt: clock.now(),
    });
  });

  it('ignores a re-enqueue of a finished job too (the key is the effect, not the attempt)', () => {
    jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    jobs.complete(jobs.claimNext('w', 1000)!.id, 'w');
    expect(jobs.enqueue({ kind: 'k', key: 'a', payload: {} })).toBe(false);
    expect(status('a')).toBe('done');
  });

  it('claims only due jobs, oldest run_at first, and leases them', () => {
    const now = clock.now();
    jobs.enqueue({ kind: 'k', key: 'later', payload: {}, runAt: now + 5000 });
    jobs.enqueue({ kind: 'k', key: 'second', payload: {}, runAt: now - 10 });
    jobs.enqueue({ kind: 'k', key: 'first', payload: {}, runAt: now - 20 });

    expect(jobs.claimNext('w1', 1000)).toMatchObject({ key: 'first', attempts: 1 });
    expect(jobs.claimNext('w1', 1000)).toMatchObject({ key: 'second', attempts: 1 });
    expect(jobs.claimNext('w1', 1000)).toBeUndefined();
    expect(status('first')).toBe('running');
    expect(lease('first')).toEqual({ lockedBy: 'w1', lockedUntil: now + 1000 });
    expect(jobs.depth()).toMatchObject({ queued: 1, running: 2 });
    expect(jobs.nextRunAt()).toBe(now + 5000);

    clock.advance(5000);
    expect(jobs.claimNext('w2', 1000)).toMatchObject({ key: 'later' });
  });

  it('keeps step results in the progress of the job, across claims', () => {
    jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    const job = jobs.claimNext('w', 1000)!;
    jobs.saveStep(job.id, 'create-room', { id: 'C1', name: 'inc-1' });
    jobs.saveStep(job.id, 'post-card', '1700000000.000100');
    jobs.saveStep(job.id, 'nothing', undefined);
    jobs.retry(job.id, 'w', 'boom', clock.now());
    expect(jobs.claimNext('w', 1000)?.progress).toEqual({
      'create-room': { id: 'C1', name: 'inc-1' },
      'post-card': '1700000000.000100',
      nothing: null,
    });
  });

  it('retry puts the job back with its error; bury marks it dead', () => {
    jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    jobs.enqueue({ kind: 'k', key: 'b', payload: {} });
    const a = jobs.claimNext('w', 1000)!;
    const b = jobs.claimNext('w', 1000)!;
    jobs.retry(a.id, 'w', 'timeout', clock.now() + 3000);
    jobs.bury(b.id, 'w', 'no such channel');
    expect(jobs.get('a')).toMatchObject({
      status: 'queued',
      runAt: clock.now() + 3000,
      lastError: 'timeout',
      attempts: 1,
    });
    expect(lease('a')).toEqual({ lockedBy: null, lockedUntil: null });
    expect(jobs.get('b')).toMatchObject({ status: 'dead', lastError: 'no such channel', finishedAt: clock.now() });
    clock.advance(60_000);
    expect(jobs.depth()).toEqual({ queued: 1, running: 0, dead: 1, oldestDueAgeMs: 57_000 });
  });

  it('a retry that does not count the attempt gives it back (never below zero)', () => {
    jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    let job = jobs.claimNext('w', 1000)!;
    expect(job.attempts).toBe(1);
    jobs.retry(job.id, 'w', 'room not open yet', clock.now(), { countAttempt: false });
    expect(jobs.get('a')).toMatchObject({ status: 'queued', attempts: 0, lastError: 'room not open yet' });
    job = jobs.claimNext('w', 1000)!;
    jobs.retry(job.id, 'w', 'failed', clock.now(), { countAttempt: true });
    expect(jobs.get('a')).toMatchObject({ status: 'queued', attempts: 1 });
    handle.sqlite.prepare("UPDATE jobs SET attempts = 0, status = 'running', locked_by = 'w' WHERE key = 'a'").run();
    jobs.retry(job.id, 'w', 'waits', clock.now(), { countAttempt: false });
    expect(jobs.get('a')?.attempts).toBe(0);
  });

  it('complete, retry and bury write only while the given worker holds the job', () => {
    jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    const job = jobs.claimNext('w1', 1000)!;
    const before = jobs.get('a');
    jobs.complete(job.id, 'w2');
    jobs.retry(job.id, 'w2', 'stale', clock.now() + 5000);
    jobs.bury(job.id, 'w2', 'stale');
    expect(jobs.get('a')).toEqual(before);
    expect(lease('a').lockedBy).toBe('w1');

    // A run abandoned and requeued (here: taken over by w2) cannot overwrite the newer run's state.
    clock.advance(1000);
    expect(jobs.requeueOrphans(() => true)).toBe(1);
    const again = jobs.claimNext('w2', 1000)!;
    jobs.complete(again.id, 'w2');
    jobs.bury(job.id, 'w1', 'late failure of the abandoned run');
    jobs.retry(job.id, 'w1', 'late failure of the abandoned run', clock.now());
    expect(jobs.get('a')).toMatchObject({ status: 'done', lastError: null, attempts: 2 });
  });

  it('state(key) gives the status of the job with that key, or undefined', () => {
    expect(jobs.state('a')).toBeUndefined();
    jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    expect(jobs.state('a')).toBe('queued');
    const job = jobs.claimNext('w', 1000)!;
    expect(jobs.state('a')).toBe('running');
    jobs.bury(job.id, 'w', 'gone');
    expect(jobs.state('a')).toBe('dead');
    jobs.enqueue({ kind: 'k', key: 'b', payload: {} });
    jobs.complete(jobs.claimNext('w', 1000)!.id, 'w');
    expect(jobs.state('b')).toBe('done');
  });

  it('requeues running jobs whose lease ran out or whose worker is gone, and only those', () => {
    for (const key of ['expired', 'gone', 'alive']) jobs.enqueue({ kind: 'k', key, payload: {} });
    jobs.claimNext('short', 1000);
    jobs.claimNext('dead-worker', 60_000);
    jobs.claimNext('live-worker', 60_000);
    clock.advance(1000);
    const requeued = jobs.requeueOrphans((worker) => worker !== 'dead-worker');
    expect(requeued).toBe(2);
    expect([status('expired'), status('gone'), status('alive')]).toEqual(['queued', 'queued', 'running']);
  });

  it('extends a lease only for the worker that holds it', () => {
    jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    const job = jobs.claimNext('w1', 1000)!;
    jobs.extendLease(job.id, 'w2', clock.now() + 99_000);
    expect(lease('a').lockedUntil).toBe(clock.now() + 1000);
    jobs.extendLease(job.id, 'w1', clock.now() + 99_000);
    expect(lease('a').lockedUntil).toBe(clock.now() + 99_000);
  });

  it('leftSince: of the jobs created since a time, those not done, told apart by whether they were due', () => {
    jobs.enqueue({ kind: 'k', key: 'before', payload: {}, runAt: clock.now() + 120_000 });
    clock.advance(1000);
    const since = clock.now();
    const now = clock.now();
    jobs.enqueue({ kind: 'k', key: 'done', payload: {} });
    jobs.enqueue({ kind: 'k', key: 'due', payload: {} });
    jobs.enqueue({ kind: 'k', key: 'running', payload: {}, runAt: now - 1 });
    jobs.enqueue({ kind: 'k', key: 'retrying', payload: {}, runAt: now - 2 });
    jobs.enqueue({ kind: 'k', key: 'failed', payload: {}, runAt: now - 3 });
    jobs.enqueue({ kind: 'k', key: 'reminder', payload: {}, runAt: now + 60_000 });
    jobs.enqueue({ kind: 'k', key: 'later reminder', payload: {}, runAt: now + 90_000 });
    const claim = () => jobs.claimNext('w', 1000)!;
    const failed = claim();
    jobs.bury(failed.id, 'w', 'no such channel');
    const retrying = claim();
    jobs.retry(retrying.id, 'w', 'timeout', now + 5000);
    claim(); // running
    const done = jobs.get('done')!;
    handle.sqlite.prepare("UPDATE jobs SET status = 'done' WHERE id = ?").run(done.id);

    // 'before' is not counted; 'failed' is dead (the worker logged it); 'retrying' waits for a later time after an error.
    expect(jobs.leftSince(since)).toEqual({ unfinished: 3, scheduled: 2, firstScheduledAt: now + 60_000 });
    expect(jobs.leftSince(now + 1)).toEqual({ unfinished: 0, scheduled: 0 });
  });

  it('keeps jobs across a reopen of the database file', () => {
    jobs.enqueue({ kind: 'k', key: 'durable', payload: { incidentId: 3 } });
    handle.close();
    handle = openDatabase(join(dir, 'nested', 'firelane.db'));
    jobs = createJobStore(handle, clock);
    expect(jobs.get('durable')).toMatchObject({ status: 'queued', payload: { incidentId: 3 } });
  });
});
