import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type DbHandle } from '../../../src/adapters/db/database.js';
import { createSqliteStore } from '../../../src/adapters/db/sqlite-store.js';
import { createMetrics } from '../../../src/metrics.js';
import {
  PermanentJobError,
  RetryLater,
  createLivenessCheck,
  createWorker,
  type JobHandler,
  type Worker,
  type WorkerOptions,
} from '../../../src/jobs/worker.js';
import { createManualClock, type ManualClock } from '../../../src/ports/clock.js';
import type { Outbox } from '../../../src/ports/store.js';

let dir: string;
let handle: DbHandle;
let clock: ManualClock;
let jobs: Outbox;
const workers: Worker[] = [];
const children: ChildProcess[] = [];
const logger = pino({ level: 'silent' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'firelane-worker-'));
  handle = openDatabase(join(dir, 'firelane.db'));
  clock = createManualClock();
  jobs = createSqliteStore(handle, clock).jobs;
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop(0)));
  for (const child of children.splice(0)) child.kill();
  handle.close();
  rmSync(dir, { recursive: true, force: true });
});

function worker(handlers: Record<string, JobHandler>, options: Partial<WorkerOptions> = {}): Worker {
  const w = createWorker({ store: jobs, handlers, logger, now: clock.now, pollMs: 60_000, ...options });
  workers.push(w);
  return w;
}

const job = async (key: string) => (await jobs.get(key))!;
/** Lets every claim and write under way finish (they settle within one turn of the event loop, before any timer). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.status).toBe(0);
  return child.pid;
}

/** A process that stays alive until the test ends. */
function livePid(): number {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

describe('running jobs', () => {
  it('drain() runs every due job once and leaves future ones queued', async () => {
    const ran: string[] = [];
    const w = worker({ note: async (payload: { n: unknown }) => void ran.push(String(payload.n)) });
    for (const n of [1, 2, 3, 4, 5, 6]) await jobs.enqueue({ kind: 'note', key: `n${n}`, payload: { n } });
    await jobs.enqueue({ kind: 'note', key: 'later', payload: { n: 'later' }, runAt: clock.now() + 60_000 });

    await w.drain();
    expect(ran.sort()).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(await job('n1')).toMatchObject({ status: 'done', attempts: 1, lockedBy: null, finishedAt: clock.now() });
    expect((await job('later')).status).toBe('queued');

    clock.advance(60_000);
    await w.drain();
    expect(ran).toContain('later');
    expect(await jobs.depth()).toMatchObject({ queued: 0, running: 0, dead: 0 });
  });

  it('the same key enqueued twice runs once', async () => {
    let runs = 0;
    const w = worker({ once: async () => void runs++ });
    await jobs.enqueue({ kind: 'once', key: 'war-room:1', payload: {} });
    await jobs.enqueue({ kind: 'once', key: 'war-room:1', payload: {} });
    await w.drain();
    await jobs.enqueue({ kind: 'once', key: 'war-room:1', payload: {} });
    await w.drain();
    expect(runs).toBe(1);
  });
});

describe('failures', () => {
  it('retries a failing job with growing backoff, then buries it as dead after maxAttempts', async () => {
    let runs = 0;
    const w = worker(
      {
        flaky: async () => {
          runs++;
          throw new Error(`upstream 503 (run ${runs})`);
        },
      },
      { maxAttempts: 3, baseDelayMs: 1_000 },
    );
    await jobs.enqueue({ kind: 'flaky', key: 'f', payload: {} });

    await w.drain();
    const first = await job('f');
    expect(first).toMatchObject({ status: 'queued', attempts: 1, lastError: 'upstream 503 (run 1)' });
    expect(first.runAt - clock.now()).toBeGreaterThanOrEqual(800);
    expect(first.runAt - clock.now()).toBeLessThanOrEqual(1_200);

    await w.drain();
    expect(runs).toBe(1); // not due yet

    clock.set(first.runAt);
    await w.drain();
    const second = await job('f');
    expect(second).toMatchObject({ status: 'queued', attempts: 2, lastError: 'upstream 503 (run 2)' });
    expect(second.runAt - clock.now()).toBeGreaterThanOrEqual(1_600);
    expect(second.runAt - clock.now()).toBeLessThanOrEqual(2_400);

    clock.set(second.runAt);
    await w.drain();
    expect(await job('f')).toMatchObject({
      status: 'dead',
      attempts: 3,
      lastError: 'upstream 503 (run 3)',
      lockedBy: null,
    });

    clock.advance(24 * 3_600_000);
    await w.drain();
    expect(runs).toBe(3);
  });

  it('caps the backoff at maxDelayMs', async () => {
    const w = worker(
      { flaky: async () => Promise.reject(new Error('nope')) },
      { maxAttempts: 20, baseDelayMs: 1_000, maxDelayMs: 5_000 },
    );
    await jobs.enqueue({ kind: 'flaky', key: 'f', payload: {} });
    for (let i = 0; i < 8; i++) {
      clock.set((await job('f')).runAt);
      await w.drain();
    }
    expect((await job('f')).attempts).toBe(8);
    expect((await job('f')).runAt - clock.now()).toBeLessThanOrEqual(6_000);
  });

  it('honours retryAfterMs on any error, and RetryLater (which does not use up an attempt)', async () => {
    let runs = 0;
    const w = worker({
      limited: async () => {
        runs++;
        if (runs === 1) throw Object.assign(new Error('ratelimited'), { retryAfterMs: 7_000 });
        if (runs === 2) throw new RetryLater('room not open yet', 2_500);
      },
    });
    await jobs.enqueue({ kind: 'limited', key: 'l', payload: {} });

    await w.drain();
    expect(await job('l')).toMatchObject({
      status: 'queued',
      runAt: clock.now() + 7_000,
      lastError: 'ratelimited',
      attempts: 1,
    });
    clock.advance(6_999);
    await w.drain();
    expect(runs).toBe(1);
    clock.advance(1);
    await w.drain();
    expect(await job('l')).toMatchObject({
      status: 'queued',
      runAt: clock.now() + 2_500,
      lastError: 'room not open yet',
      attempts: 1,
    });
    clock.advance(2_500);
    await w.drain();
    expect(runs).toBe(3);
    expect(await job('l')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('waiting with RetryLater never buries a job, however often, and a later real failure still counts', async () => {
    let runs = 0;
    const w = worker(
      {
        waits: async () => {
          runs++;
          if (runs <= 10) throw new RetryLater('the war room is not open yet', 1_000);
          if (runs === 11) throw new Error('upstream 503');
        },
      },
      { maxAttempts: 2, baseDelayMs: 1_000 },
    );
    await jobs.enqueue({ kind: 'waits', key: 'w', payload: {} });
    for (let i = 0; i < 10; i++) {
      clock.set((await job('w')).runAt);
      await w.drain();
      expect(await job('w')).toMatchObject({ status: 'queued', attempts: 0 });
    }
    clock.set((await job('w')).runAt);
    await w.drain();
    expect(await job('w')).toMatchObject({ status: 'queued', attempts: 1, lastError: 'upstream 503' });
    clock.set((await job('w')).runAt);
    await w.drain();
    expect(runs).toBe(12);
    expect(await job('w')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('PermanentJobError buries the job at once', async () => {
    let runs = 0;
    const w = worker({
      doomed: async () => {
        runs++;
        throw new PermanentJobError('channel_not_found');
      },
    });
    await jobs.enqueue({ kind: 'doomed', key: 'd', payload: {} });
    await w.drain();
    clock.advance(3_600_000);
    await w.drain();
    expect(runs).toBe(1);
    expect(await job('d')).toMatchObject({ status: 'dead', attempts: 1, lastError: 'channel_not_found' });
  });

  it('buries a job of a kind nobody handles', async () => {
    const w = worker({});
    await jobs.enqueue({ kind: 'mystery', key: 'm', payload: {} });
    await w.drain();
    expect(await job('m')).toMatchObject({ status: 'dead', lastError: 'no handler for job kind mystery' });
  });

  it('counts jobs of kinds it has no handler for (nor `constructor` and friends) as kind "unknown" in the metrics', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const w = worker({ note: async () => {} }, { metrics });
    await jobs.enqueue({ kind: 'note', key: 'n', payload: {} });
    for (let i = 0; i < 20; i++) await jobs.enqueue({ kind: `made-up-${i}`, key: `m${i}`, payload: {} });
    await jobs.enqueue({ kind: 'constructor', key: 'c', payload: {} });
    await w.drain();
    expect(await job('c')).toMatchObject({ status: 'dead', lastError: 'no handler for job kind constructor' });
    const lines = (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('firelane_jobs_total{'));
    expect(lines.sort()).toEqual([
      'firelane_jobs_total{kind="note",outcome="done"} 1',
      'firelane_jobs_total{kind="unknown",outcome="dead"} 21',
    ]);
  });

  /** A pino logger at `level` whose lines land, parsed, in `lines`. */
  function capturedLog(level: string) {
    const lines: Array<Record<string, unknown>> = [];
    return {
      lines,
      logger: pino(
        { level },
        { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
      ),
    };
  }

  it('logs a retry and a burial with the job, its key, the attempt and the incident; a job that succeeds logs nothing at info', async () => {
    const { lines, logger } = capturedLog('info');
    let runs = 0;
    const w = worker(
      {
        fine: async () => {},
        flaky: async () => {
          runs++;
          throw new Error(runs === 1 ? 'Slack answered 503' : 'still down');
        },
      },
      { logger, maxAttempts: 2 },
    );
    await jobs.enqueue({ kind: 'fine', key: 'f', payload: { incidentId: 7 } });
    await w.drain();
    expect(lines).toEqual([]);

    await jobs.enqueue({ kind: 'flaky', key: 'war-room:7', payload: { incidentId: 7 } });
    await w.drain();
    clock.advance(3_600_000);
    await w.drain();
    expect(
      lines.map((l) => [
        l.level,
        l.msg,
        l.job,
        l.jobKey,
        l.attempt,
        l.incident,
        (l.err as { message?: string } | undefined)?.message,
      ]),
    ).toEqual([
      [40, 'job failed; will retry', 'flaky', 'war-room:7', 1, 'INC-7', 'Slack answered 503'],
      [50, 'job failed for good', 'flaky', 'war-room:7', 2, 'INC-7', 'still down'],
    ]);
  });

  it('at debug level a job that succeeds logs "job done" with its bindings', async () => {
    const { lines, logger } = capturedLog('debug');
    const w = worker({ fine: async () => {} }, { logger });
    await jobs.enqueue({ kind: 'fine', key: 'war-room:3', payload: { incidentId: 3 } });
    await w.drain();
    expect(lines.filter((l) => l.msg === 'job done')).toEqual([
      expect.objectContaining({ level: 20, job: 'fine', jobKey: 'war-room:3', attempt: 1, incident: 'INC-3' }),
    ]);
  });
});

describe('steps', () => {
  it('a step that finished is not run again on retry; its stored result is returned', async () => {
    const roomCreations: number[] = [];
    const seen: unknown[] = [];
    let attempt = 0;
    const w = worker({
      'open-room': async (_payload, { step }) => {
        attempt++;
        const room = await step('create-room', async () => {
          roomCreations.push(attempt);
          return { id: 'C0ROOM', name: 'inc-1-x' };
        });
        seen.push(room);
        if (attempt === 1) throw Object.assign(new Error('post failed'), { retryAfterMs: 1_000 });
        await step('post-card', async () => '1700000000.0001');
      },
    });
    await jobs.enqueue({ kind: 'open-room', key: 'war-room:1', payload: {} });

    await w.drain();
    expect(await job('war-room:1')).toMatchObject({
      status: 'queued',
      attempts: 1,
      lastError: 'post failed',
      progress: { 'create-room': { id: 'C0ROOM', name: 'inc-1-x' } },
    });

    clock.advance(1_000);
    await w.drain();
    expect(roomCreations).toEqual([1]);
    expect(seen).toEqual([
      { id: 'C0ROOM', name: 'inc-1-x' },
      { id: 'C0ROOM', name: 'inc-1-x' },
    ]);
    expect(await job('war-room:1')).toMatchObject({
      status: 'done',
      attempts: 2,
      progress: { 'create-room': { id: 'C0ROOM', name: 'inc-1-x' }, 'post-card': '1700000000.0001' },
    });
  });

  it('a step that failed runs again on retry', async () => {
    let calls = 0;
    const w = worker({
      j: async (_p, { step }) => {
        await step('flaky', async () => {
          calls++;
          if (calls === 1) throw new RetryLater('once', 10);
          return 'ok';
        });
      },
    });
    await jobs.enqueue({ kind: 'j', key: 'j', payload: {} });
    await w.drain();
    clock.advance(10);
    await w.drain();
    expect(calls).toBe(2);
    expect(await job('j')).toMatchObject({ status: 'done', progress: { flaky: 'ok' } });
  });

  it('gives each step its post key (job key, creation, step), looked for only once a run may have made it', async () => {
    const seen: Array<[string, boolean]> = [];
    let runs = 0;
    const w = worker({
      j: async (_p, { step }) => {
        runs++;
        // The first run only waits (no effect, no attempt used); the second fails after its post.
        if (runs === 1) throw new RetryLater('the war room is not open yet', 10);
        await step('post', async (once) => void seen.push([once.key, once.retried]));
        await step('topic', async (once) => {
          seen.push([once.key, once.retried]);
          if (runs === 2) throw new Error('the answer was lost');
        });
      },
    });
    const createdAt = clock.now();
    await jobs.enqueue({ kind: 'j', key: 'remind:1:900000', payload: {} });
    await w.drain();
    clock.advance(10);
    await w.drain();
    clock.advance(60_000);
    await w.drain();
    expect(seen).toEqual([
      [`remind:1:900000@${createdAt}/post`, false],
      [`remind:1:900000@${createdAt}/topic`, false],
      [`remind:1:900000@${createdAt}/topic`, true],
    ]);
    expect(await job('remind:1:900000')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('a job whose process died mid-run is a retry to its next run: its steps look for their effects', async () => {
    const seen: boolean[] = [];
    await jobs.enqueue({ kind: 'j', key: 'r', payload: {} });
    await jobs.claimNext(`${hostname()}:${deadPid()}:deadbeef`, 60_000);
    const w = worker({ j: async (_p, { step }) => void (await step('post', async (once) => seen.push(once.retried))) });
    w.start();
    await vi.waitFor(async () => expect((await job('r')).status).toBe('done'));
    expect(seen).toEqual([true]);
  });

  it('refuses a step name that could break the stored progress, for good', async () => {
    const w = worker({ j: async (_p, { step }) => void (await step('a"]) bad', async () => 1)) });
    await jobs.enqueue({ kind: 'j', key: 'j', payload: {} });
    await w.drain();
    expect(await job('j')).toMatchObject({ status: 'dead', lastError: 'bad step name a"]) bad' });
  });
});

describe('restarts and leases', () => {
  it('a job left running by a process that is gone is requeued on start() and runs once', async () => {
    let runs = 0;
    await jobs.enqueue({ kind: 'once', key: 'r', payload: {} });
    await jobs.claimNext(`${hostname()}:${deadPid()}:deadbeef`, 60_000);
    expect(await job('r')).toMatchObject({ status: 'running', attempts: 1 });

    const w = worker({ once: async () => void runs++ });
    w.start();
    await vi.waitFor(async () => expect((await job('r')).status).toBe('done'));

    // Another worker starting later, and more draining, do not run it again.
    const other = worker({ once: async () => void runs++ });
    other.start();
    await other.drain();
    await w.drain();
    expect(runs).toBe(1);
    expect(await job('r')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('a job left running by a stopped worker of this same process is requeued on start()', async () => {
    let runs = 0;
    await jobs.enqueue({ kind: 'once', key: 'r', payload: {} });
    await jobs.claimNext(`${hostname()}:${process.pid}:oldworkr`, 60_000);
    const w = worker({ once: async () => void runs++ });
    w.start();
    await vi.waitFor(async () => expect((await job('r')).status).toBe('done'));
    expect(runs).toBe(1);
  });

  it('does not steal a job leased by a live worker, on this host or another, while the lease holds', async () => {
    let runs = 0;
    await jobs.enqueue({ kind: 'once', key: 'local', payload: {} });
    await jobs.enqueue({ kind: 'once', key: 'remote', payload: {} });
    await jobs.claimNext(`${hostname()}:${livePid()}:c0ffee00`, 60_000);
    await jobs.claimNext('some-other-host:4242:c0ffee01', 60_000);

    const w = worker({ once: async () => void runs++ });
    w.start();
    await w.drain();
    expect(runs).toBe(0);
    expect([(await job('local')).status, (await job('remote')).status]).toEqual(['running', 'running']);
    await w.stop(0);

    // Once the lease has run out, the next start takes them over.
    clock.advance(60_000);
    const next = worker({ once: async () => void runs++ });
    next.start();
    await vi.waitFor(async () =>
      expect([(await job('local')).status, (await job('remote')).status]).toEqual(['done', 'done']),
    );
    expect(runs).toBe(2);
  });

  it('sweeps for orphaned jobs while running too, every leaseMs / 2, not only at start()', async () => {
    let runs = 0;
    const w = worker({ once: async () => void runs++ }, { pollMs: 5, leaseMs: 60_000 });
    w.start();
    // Left running by a process that died after this worker started.
    await jobs.enqueue({ kind: 'once', key: 'r', payload: {} });
    await jobs.claimNext(`${hostname()}:${deadPid()}:deadbeef`, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 60)); // many polls, but the sweep is not due yet
    expect((await job('r')).status).toBe('running');
    expect(runs).toBe(0);

    clock.advance(30_000);
    await vi.waitFor(async () => expect((await job('r')).status).toBe('done'));
    expect(runs).toBe(1);
  });

  it('createLivenessCheck: other hosts are trusted, dead pids are not, own workers by id', () => {
    const live = new Set([`${hostname()}:${process.pid}:mine`]);
    const alive = createLivenessCheck(live);
    expect(alive('elsewhere:1:x')).toBe(true);
    expect(alive(`${hostname()}:${deadPid()}:x`)).toBe(false);
    expect(alive(`${hostname()}:${livePid()}:x`)).toBe(true);
    expect(alive(`${hostname()}:${process.pid}:mine`)).toBe(true);
    expect(alive(`${hostname()}:${process.pid}:stopped`)).toBe(false);
  });

  it('createLivenessCheck: a process of another user (kill(pid, 0) fails with EPERM) is alive', () => {
    const alive = createLivenessCheck(new Set());
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    try {
      expect(alive(`${hostname()}:4242:x`)).toBe(true);
      kill.mockImplementation(() => {
        throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
      });
      expect(alive(`${hostname()}:4242:x`)).toBe(false);
    } finally {
      kill.mockRestore();
    }
    // pid 1 always exists: alive whether or not we may signal it.
    expect(alive(`${hostname()}:1:x`)).toBe(true);
  });
});

describe('stop()', () => {
  it('waits for a running job to finish within the grace time', async () => {
    let finish: (() => void) | undefined;
    const w = worker({ slow: () => new Promise<void>((done) => (finish = done)) });
    await jobs.enqueue({ kind: 'slow', key: 's', payload: {} });
    w.start();
    await vi.waitFor(() => expect(finish).toBeTypeOf('function'));
    setTimeout(() => finish!(), 30);
    const before = performance.now();
    await w.stop(5_000);
    expect(performance.now() - before).toBeLessThan(4_000);
    expect((await job('s')).status).toBe('done');
  });

  it('gives up after the grace time and leaves the job running (for the next start to requeue)', async () => {
    let finish!: () => void;
    const w = worker({ stuck: () => new Promise<void>((done) => (finish = done)) });
    await jobs.enqueue({ kind: 'stuck', key: 's', payload: {} });
    w.start();
    await vi.waitFor(() => expect(finish).toBeTypeOf('function'));
    const before = performance.now();
    await w.stop(50);
    expect(performance.now() - before).toBeGreaterThanOrEqual(40);
    expect((await job('s')).status).toBe('running');

    // The next worker in this process sees the stopped worker as gone.
    let reruns = 0;
    const next = worker({ stuck: async () => void reruns++ });
    next.start();
    await vi.waitFor(async () => expect((await job('s')).status).toBe('done'));
    expect(reruns).toBe(1);
    finish();
    await new Promise((resolve) => setTimeout(resolve, 10)); // let the abandoned run settle before the database closes
    expect((await job('s')).status).toBe('done');
  });

  it('an abandoned run that fails late does not overwrite the state of the run that replaced it', async () => {
    let fail!: (error: Error) => void;
    const w = worker({ stuck: () => new Promise<void>((_, reject) => (fail = reject)) });
    await jobs.enqueue({ kind: 'stuck', key: 's', payload: {} });
    w.start();
    await vi.waitFor(() => expect(fail).toBeTypeOf('function'));
    await w.stop(20);

    const next = worker({ stuck: async () => undefined });
    next.start();
    await vi.waitFor(async () => expect((await job('s')).status).toBe('done'));
    const done = await job('s');
    fail(new Error('late failure'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await job('s')).toEqual(done);
    expect(await job('s')).toMatchObject({ status: 'done', lastError: null, lockedBy: null });
  });

  it('claims nothing after stop()', async () => {
    let runs = 0;
    const w = worker({ j: async () => void runs++ });
    w.start();
    await w.stop(0);
    await jobs.enqueue({ kind: 'j', key: 'j', payload: {} });
    w.wake();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runs).toBe(0);
    expect((await job('j')).status).toBe('queued');
  });
});

describe('worker: jobs yield to acknowledgements', () => {
  it('while busy starts only jobs due for yieldMs; when idle again (wakeHeldBack), the rest', async () => {
    const ran: string[] = [];
    let busy = true;
    const w = worker(
      { k: async (payload: { name: unknown }) => void ran.push(String(payload.name)) },
      { busy: () => busy, yieldMs: 1_000 },
    );
    await jobs.enqueue({ kind: 'k', key: 'old', payload: { name: 'old' }, runAt: clock.now() - 1_500 });
    await jobs.enqueue({ kind: 'k', key: 'new', payload: { name: 'new' }, runAt: clock.now() - 200 });
    w.start();
    await vi.waitFor(async () => expect((await job('old')).status).toBe('done'));
    await new Promise((resolve) => setTimeout(resolve, 120)); // the held-back job is looked at again meanwhile
    expect(ran).toEqual(['old']);
    expect((await job('new')).status).toBe('queued');
    busy = false;
    w.wakeHeldBack();
    await vi.waitFor(async () => expect((await job('new')).status).toBe('done'));
    expect(ran).toEqual(['old', 'new']);
  });

  it('wakeHeldBack looks at the queue only when a claim while busy came back empty', async () => {
    let busy = false;
    const w = worker({ k: async () => {} }, { busy: () => busy, yieldMs: 1_000 });
    const claims = vi.spyOn(jobs, 'claimNext');
    w.start();
    // start() looks at the queue asynchronously: let that pass end before counting.
    await vi.waitFor(() => expect(claims.mock.calls.length).toBeGreaterThan(0));
    await settle();
    const afterStart = claims.mock.calls.length;
    expect(afterStart).toBeGreaterThan(0);
    // Nothing was held back (the last claim was not busy): the end of a busy period costs no query.
    w.wakeHeldBack();
    w.wakeHeldBack();
    await settle();
    expect(claims.mock.calls.length).toBe(afterStart);
    // A job queued while busy is held back; the end of the busy period starts it.
    busy = true;
    await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    w.wake();
    await settle(); // the claim made while busy has come back empty
    expect((await job('a')).status).toBe('queued');
    busy = false;
    w.wakeHeldBack();
    // Claimed right here (within this turn of the event loop), not by the held-back timer 50 ms later.
    await settle();
    expect((await job('a')).status).not.toBe('queued');
    await vi.waitFor(async () => expect((await job('a')).status).toBe('done'));
    // That claim (not busy) found the queue empty afterwards: the next end of a busy period is free again.
    await vi.waitFor(async () => expect(await claims.mock.results.at(-1)?.value).toBeUndefined());
    const settled = claims.mock.calls.length;
    w.wakeHeldBack();
    await settle();
    expect(claims.mock.calls.length).toBe(settled);
  });

  it('a job held back while busy starts once it has waited yieldMs, even if requests keep coming', async () => {
    const w = worker({ k: async () => {} }, { busy: () => true, yieldMs: 1_000 });
    await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    w.start();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await job('a')).status).toBe('queued');
    clock.advance(1_000);
    await vi.waitFor(async () => expect((await job('a')).status).toBe('done'));
  });

  it('drain (tests, the CLI) does not yield', async () => {
    const w = worker({ k: async () => {} }, { busy: () => true, yieldMs: 60_000 });
    await jobs.enqueue({ kind: 'k', key: 'a', payload: {} });
    await w.drain();
    expect((await job('a')).status).toBe('done');
  });
});
