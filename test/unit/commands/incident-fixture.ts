// A real command core for unit tests: the incident router over SQLite `:memory:` and a manual clock.
import { pino } from 'pino';
import { openDatabase, type DbHandle } from '../../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore } from '../../../src/adapters/db/sqlite-store.js';
import type { CommandInput, Platform } from '../../../src/commands/command.js';
import { incidentCommands } from '../../../src/commands/incident/index.js';
import { createRouter, type Router, type RouterResult } from '../../../src/commands/router.js';
import { DEFAULT_FILE_CONFIG, type FileConfig } from '../../../src/config.js';
import { createManualClock, type ManualClock } from '../../../src/ports/clock.js';

export interface RunOptions {
  user?: string;
  platform?: Platform;
  roomId?: string;
  idempotencyKey?: string;
  /** 'slack': the text has Slack's escaping, as the Slack adapter passes it. */
  textFormat?: CommandInput['textFormat'];
}

export interface Counts {
  incidents: number;
  timeline: number;
  jobs: number;
  receipts: number;
}

export interface IncidentFixture {
  clock: ManualClock;
  handle: DbHandle;
  store: SqliteStore;
  router: Router;
  run(text: string, options?: RunOptions): Promise<RouterResult>;
  counts(): Counts;
  /** Every job row, oldest first. */
  jobs(): Array<{ kind: string; key: string; payload: Record<string, unknown>; status: string }>;
  close(): void;
}

export function createIncidentFixture(config: FileConfig = DEFAULT_FILE_CONFIG): IncidentFixture {
  const clock = createManualClock();
  const handle = openDatabase(':memory:');
  const store = createSqliteStore(handle, clock);
  const router = createRouter({ store, clock, config }, [incidentCommands], pino({ level: 'silent' }));
  const count = (table: string) =>
    (handle.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    clock,
    handle,
    store,
    router,
    run: (text, options = {}) =>
      router.handle({
        text,
        actor: { id: options.user ?? 'alice' },
        platform: options.platform ?? 'console',
        ...(options.roomId !== undefined && { roomId: options.roomId }),
        ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
        ...(options.textFormat !== undefined && { textFormat: options.textFormat }),
      }),
    counts: () => ({
      incidents: count('incidents'),
      timeline: count('timeline_events'),
      jobs: count('jobs'),
      receipts: count('receipts'),
    }),
    jobs: () =>
      (
        handle.sqlite.prepare('SELECT kind, key, payload, status FROM jobs ORDER BY id').all() as Array<{
          kind: string;
          key: string;
          payload: string;
          status: string;
        }>
      ).map((row) => ({ ...row, payload: JSON.parse(row.payload) as Record<string, unknown> })),
    close: () => handle.close(),
  };
}
