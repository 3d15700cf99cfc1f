// Runs outbox jobs: claims due rows with a lease, retries failures with backoff, survives restarts.
// Delivery is at-least-once; every job handler makes its steps idempotent (it records each step's
// result and skips what is done), which together give each external effect exactly once. The gap
// between an effect and its record (a crash, a lost answer) is closed per effect: a chat post
// carries its step's key and a retry finds it (ports/chat.ts PostOnce); a war room is found by its mark.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { incidentKey } from '../domain/incident.js';
import type { PostOnce } from '../ports/chat.js';
import type { JobContext, JobRow } from '../ports/jobs.js';
import type { Outbox } from '../ports/store.js';
import type { Metrics } from '../metrics.js';

export type { JobContext } from '../ports/jobs.js';

/** A handler of one kind of job; its payload's shape comes from the catalogue (ports/jobs.ts). */
export type JobHandler = (payload: never, context: JobContext) => Promise<void>;

const STEP_NAME = /^[a-z0-9][a-z0-9:._-]{0,80}$/i;

/**
 * Throw (or attach `retryAfterMs` to any error) to ask for a retry no sooner than that. RetryLater
 * only waits: its attempt is given back, so throw it before the run has made any effect (a post).
 */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** Throw to give up on a job at once: retrying cannot help. */
export class PermanentJobError extends Error {
  readonly permanent = true;
}

export interface WorkerOptions {
  store: Outbox;
  handlers: Record<string, JobHandler>;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
  concurrency?: number;
  pollMs?: number;
  leaseMs?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * True while requests are being acknowledged. Jobs then yield to them: only jobs due for
   * `yieldMs` or longer are started (acknowledgements have 3 s; war rooms can start a moment later).
   */
  busy?: () => boolean;
  yieldMs?: number;
  /** Called after a job failed for good (e.g. to reconcile what it left half done). Must not throw. */
  onBuried?: (job: { id: number; kind: string; key: string }, reason: string) => void | Promise<void>;
}

export interface Worker {
  readonly id: string;
  start(): void;
  /** Stops claiming; waits up to graceMs for running jobs; unfinished ones are requeued on next start. */
  stop(graceMs?: number): Promise<void>;
  /** Look for due work now instead of at the next poll. */
  wake(): void;
  /**
   * The busy period is over: start the jobs that yielded to it. Looks at the queue only if a claim
   * while busy came back empty (a job may have been held back); otherwise the next poll is soon enough.
   */
  wakeHeldBack(): void;
  /** Runs due jobs until none is due (tests, CLI). */
  drain(timeoutMs?: number): Promise<void>;
}

const PROCESS_TAG = `${hostname()}:${process.pid}`;

/** Whether the worker that holds a lease still exists (same host: its pid lives and it is not a stopped worker of ours). */
export function createLivenessCheck(liveIds: Set<string>) {
  return (worker: string): boolean => {
    const [host, pid] = worker.split(':');
    if (host !== hostname()) return true; // another machine: trust its lease
    if (Number(pid) === process.pid) return liveIds.has(worker);
    try {
      process.kill(Number(pid), 0);
      return true;
    } catch (error) {
      // EPERM: the process exists but belongs to another user.
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
}

const liveWorkers = new Set<string>();

export function createWorker(options: WorkerOptions): Worker {
  const {
    store,
    handlers,
    logger,
    metrics,
    now = Date.now,
    concurrency = 4,
    pollMs = 500,
    leaseMs = 60_000,
    maxAttempts = 12,
    baseDelayMs = 1_000,
    maxDelayMs = 5 * 60_000,
    yieldMs = 1_000,
  } = options;
  const id = `${PROCESS_TAG}:${randomUUID().slice(0, 8)}`;
  const running = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  let draining = false;
  /** Set when a claim while busy came back empty: a due job may be waiting for the busy period to end. */
  let heldBackTimer: NodeJS.Timeout | undefined;

  function backoff(job: JobRow, error: unknown): number {
    const hinted = (error as { retryAfterMs?: unknown })?.retryAfterMs;
    if (typeof hinted === 'number' && hinted > 0) return hinted;
    const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, job.attempts - 1));
    return Math.round(exponential * (0.8 + Math.random() * 0.4));
  }

  async function run(job: JobRow): Promise<void> {
    // Only the worker's own handler names (not `constructor` and friends); the metric's label likewise.
    const handler = Object.hasOwn(handlers, job.kind) ? handlers[job.kind] : undefined;
    const kind = handler ? job.kind : 'unknown';
    const incidentId = (job.payload as { incidentId?: unknown } | null)?.incidentId;
    // Made when first used: most jobs end without a line at info. (A pino child per job was 8% of the
    // worker's own CPU in a profile of 300 declarations; under 1% of the process's, too little to time.)
    let jobLog: Logger | undefined;
    const log = () =>
      (jobLog ??= logger.child({
        job: job.kind,
        jobKey: job.key,
        attempt: job.attempts,
        ...(typeof incidentId === 'number' && { incident: incidentKey(incidentId) }),
      }));
    const started = now();
    const renew = setInterval(
      () =>
        store
          .extendLease(job.id, id, now() + leaseMs)
          .catch((error: unknown) => log().warn({ err: error }, 'could not renew the lease')),
      Math.max(1000, leaseMs / 3),
    );
    renew.unref();
    try {
      if (!handler) throw new PermanentJobError(`no handler for job kind ${job.kind}`);
      const progress = { ...job.progress };
      // Every claim counts an attempt (one that only waited gives it back): past the first, an earlier
      // run may have made a step's effect without recording it, so the effect is looked for first.
      const retried = job.attempts > 1;
      const step = async <T>(name: string, fn: (once: PostOnce) => Promise<T>): Promise<T> => {
        if (!STEP_NAME.test(name)) throw new PermanentJobError(`bad step name ${name}`);
        if (name in progress) return progress[name] as T;
        const result = await fn({ key: `${job.key}@${job.createdAt}/${name}`, retried });
        await store.saveStep(job.id, name, result);
        progress[name] = result ?? null;
        return result;
      };
      await handler(job.payload as never, { job, step });
      await store.complete(job.id, id);
      metrics?.jobsTotal.inc({ kind, outcome: 'done' });
      if (logger.isLevelEnabled('debug')) log().debug({ ms: now() - started }, 'job done');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const permanent = (error as { permanent?: unknown })?.permanent === true;
      if (error instanceof RetryLater) {
        // Waiting for something else (e.g. the war room) is not a failure: it does not use up attempts.
        await store.retry(job.id, id, message, now() + error.retryAfterMs, { countAttempt: false });
        if (logger.isLevelEnabled('debug')) log().debug({ retryInMs: error.retryAfterMs }, `job waits: ${message}`);
      } else if (permanent || job.attempts >= maxAttempts) {
        await store.bury(job.id, id, message);
        metrics?.jobsTotal.inc({ kind, outcome: 'dead' });
        log().error({ err: error }, 'job failed for good');
        try {
          await options.onBuried?.(job, message);
        } catch (hookError) {
          log().error({ err: hookError }, 'onBuried failed');
        }
      } else {
        const delay = backoff(job, error);
        await store.retry(job.id, id, message, now() + delay);
        metrics?.jobsTotal.inc({ kind, outcome: 'retry' });
        log().warn({ err: error, retryInMs: delay }, 'job failed; will retry');
      }
    } finally {
      clearInterval(renew);
    }
  }

  /** The pass that is claiming now, if one is; a call meanwhile asks it to look once more. */
  let pumping: Promise<void> | undefined;
  let pumpAgain = false;

  /** Claims and starts due jobs up to the concurrency limit. */
  function pump(): Promise<void> {
    if (pumping) {
      pumpAgain = true;
      return pumping;
    }
    pumping = (async () => {
      await Promise.resolve(); // `pumping` is set before the pass can end
      try {
        do {
          pumpAgain = false;
          await claimWhileRoom();
        } while (pumpAgain && !stopped);
      } catch (error) {
        logger.error({ err: error }, 'could not claim jobs');
      } finally {
        // In the same turn as the last look at pumpAgain: a call after it starts a new pass.
        pumping = undefined;
      }
    })();
    return pumping;
  }

  async function claimWhileRoom(): Promise<void> {
    while (!stopped && running.size < concurrency) {
      const yielding = !draining && options.busy?.() === true;
      const job = await store.claimNext(id, leaseMs, yielding ? now() - yieldMs : undefined);
      if (!job) {
        // Jobs held back for acknowledgements start when they are done (wakeHeldBack) or have waited long enough.
        if (yielding && !heldBackTimer)
          heldBackTimer = setTimeout(() => ((heldBackTimer = undefined), void pump()), Math.min(50, yieldMs)).unref();
        return;
      }
      const task = run(job)
        .catch((error: unknown) => logger.error({ err: error, job: job.kind }, 'could not record how a job ended'))
        .finally(() => {
          running.delete(task);
          if (!stopped) void pump();
        });
      running.add(task);
    }
  }

  let lastSweep = 0;
  /** Jobs left running by a worker that died (another process, e.g. a killed `firelane run`) go back to the queue. */
  async function sweep(): Promise<void> {
    lastSweep = now();
    try {
      const requeued = await store.requeueOrphans(createLivenessCheck(liveWorkers));
      if (requeued) logger.info({ requeued }, 'requeued jobs whose worker is gone or whose lease ran out');
    } catch (error) {
      logger.error({ err: error }, 'could not requeue orphaned jobs');
    }
  }

  function schedule(): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      void (async () => {
        if (now() - lastSweep >= leaseMs / 2) await sweep();
        await pump();
        schedule();
      })();
    }, pollMs);
    timer.unref();
  }

  return {
    id,
    start() {
      if (!stopped) return;
      stopped = false;
      liveWorkers.add(id);
      void sweep().then(pump);
      schedule();
    },
    async stop(graceMs = 10_000) {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(heldBackTimer);
      heldBackTimer = undefined;
      await pumping; // a claim under way when we stopped may still start its job
      const all = Promise.allSettled([...running]);
      const timeout = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([all, timeout]);
      liveWorkers.delete(id);
    },
    wake() {
      if (!stopped) void pump();
    },
    wakeHeldBack() {
      // What the held-back timer would do, now: nothing is pending when no claim was held back.
      if (stopped || !heldBackTimer) return;
      clearTimeout(heldBackTimer);
      heldBackTimer = undefined;
      void pump();
    },
    async drain(timeoutMs = 10_000) {
      const wasStopped = stopped;
      stopped = false;
      draining = true;
      liveWorkers.add(id);
      const deadline = now() + timeoutMs;
      try {
        for (;;) {
          await pump();
          if (running.size === 0) break;
          await Promise.race([...running]);
          if (now() > deadline) break;
        }
      } finally {
        draining = false;
        stopped = wasStopped;
        if (wasStopped) liveWorkers.delete(id);
      }
    },
  };
}
