// WAL checkpoints on a thread of their own. SQLite's automatic checkpoint runs inside whichever
// commit pushes the WAL past 1,000 pages: it copies the pages into the database file and fsyncs it,
// blocking the event loop that acknowledges chat requests for milliseconds (the mixed bench: p99
// 66 -> 47-56 ms and 15% more requests a second without it). While chat requests come in or
// reminder ticks write (the scheduler bench: worst tick p90 14.8-15.4 -> 11.9-13.5 ms), the
// server's connection does not checkpoint; a worker thread with its own connection runs a PASSIVE
// checkpoint (it never blocks readers or writers) every `intervalMs`. When the thread stops (idle,
// shutdown) or fails, the connection checkpoints itself again, as SQLite does by default.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DbHandle } from './database.js';

const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

/** The thread's code (CommonJS, run with `eval`, so it works from dist/ and from the TypeScript sources alike). */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
// Quiet unless it fails: a message a second would keep the main isolate from ever looking idle.
const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') { clearInterval(timer); db.close(); parentPort.close(); }
});
parentPort.postMessage({ ready: true });
`;

export interface Checkpointer {
  /**
   * Writes are coming (chat requests, a reminder tick): the thread runs from now until `idleMs` pass without this
   * (an idle firelane keeps no thread and SQLite's own checkpoints, which then block nobody).
   */
  busy(): void;
  /** True while the thread runs (the connection does not checkpoint then). */
  running(): boolean;
  /** Resolves when the thread (if any) has started, or has failed over to the connection's own checkpoints. */
  started(): Promise<void>;
  stop(): Promise<void>;
}

export function createCheckpointer(
  handle: DbHandle,
  path: string,
  logger: Logger,
  options: { intervalMs?: number; idleMs?: number } = {},
): Checkpointer {
  const { sqlite } = handle;
  const { intervalMs = 1000, idleMs = 15_000 } = options;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  let thread: { worker: Worker; started: Promise<void> } | undefined;
  let lastBusy = 0;
  let idleTimer: NodeJS.Timeout | undefined;

  const selfCheckpoints = () => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
  };

  function start(): void {
    sqlite.pragma('wal_autocheckpoint = 0');
    const worker = new Worker(THREAD, {
      eval: true,
      workerData: { driver, path, intervalMs },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    worker.unref();
    const started = new Promise<void>((resolve) => {
      worker.once('message', () => resolve()); // ready
      worker.once('error', (error) => {
        logger.warn(
          { err: error },
          'background WAL checkpoints failed; the database connection checkpoints itself again',
        );
        resolve();
      });
      worker.once('exit', () => {
        if (thread?.worker === worker) thread = undefined;
        if (!thread) selfCheckpoints(); // (a newer thread may run already)
        resolve();
      });
    });
    thread = { worker, started };
    idleTimer = setInterval(
      () => {
        if (Date.now() - lastBusy >= idleMs) void stopThread();
      },
      Math.min(idleMs, 5_000),
    ).unref();
  }

  async function stopThread(): Promise<void> {
    const current = thread;
    clearInterval(idleTimer);
    if (!current) return;
    thread = undefined;
    current.worker.ref();
    const exited = new Promise<void>((resolve) => current.worker.once('exit', () => resolve()));
    current.worker.postMessage('stop');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await current.worker.terminate();
    selfCheckpoints();
  }

  return {
    busy() {
      lastBusy = Date.now();
      if (!thread && sqlite.open) start();
    },
    running: () => thread !== undefined,
    started: () => thread?.started ?? Promise.resolve(),
    stop: stopThread,
  };
}
