// Where firelane keeps its state: the SQLite file (DATABASE_PATH, one process) or PostgreSQL
// (DATABASE_URL, any number of replicas). app.ts opens one and sees only the Store port and this
// small lifecycle: whether it answers (readiness), the hint of a burst of writes, and closing.
import type { Logger } from 'pino';
import { openDatabase, type DbHandle } from './adapters/db/database.js';
import { createCheckpointer } from './adapters/db/checkpointer.js';
import { createSqliteStore, type StoreHooks } from './adapters/db/sqlite-store.js';
import type { EnvConfig } from './config/types.js';
import { databaseLabel } from './config/env.js';
import type { Clock } from './ports/clock.js';
import type { Outbox, Store } from './ports/store.js';
import type { ConsoleStore } from './adapters/console/console-store.js';
import { createSqliteConsoleStore } from './adapters/db/console-store.js';
import type { SessionStore } from './adapters/console/session-store.js';
import { createSqliteSessionStore } from './adapters/db/session-store.js';
import { createSqliteTeamsDirectory } from './adapters/db/teams-directory.js';
import type { TeamsDirectory } from './adapters/teams/teams-directory.js';

export interface Storage {
  kind: 'sqlite' | 'postgres';
  /** For logs: the file, or the PostgreSQL URL without its password. */
  label: string;
  store: Store & { jobs: Outbox };
  /** The local console's rooms and messages. */
  console: ConsoleStore;
  /** Console sign-in's sessions and logins in progress (every replica sees every sign-in). */
  sessions: SessionStore;
  /** The Teams conversations and users seen (for proactive posts). */
  teams: TeamsDirectory;
  /**
   * Console room changes between replicas (PostgreSQL only; SQLite has one process): `changed` tells the
   * others of this one's, `onChange` hears theirs (undefined: any room may have changed).
   */
  roomChanges?: { changed(roomId: string): void; onChange(listener: (roomId: string | undefined) => void): void };
  /** The SQLite file's handle (SQLite only: the console's and Teams' tables live beside the store's). */
  sqlite?: DbHandle;
  /** A burst of writes is coming (a chat request, a reminder tick): SQLite moves checkpoints to their thread. */
  busy(): void;
  /** Whether the database answers now (readiness: a replica that cannot reach it takes no traffic). */
  ready(): Promise<boolean>;
  /** After the last request and job: waits for open transactions, then closes. */
  close(): Promise<void>;
}

/** How long readiness waits for PostgreSQL before calling the replica not ready. */
const READY_TIMEOUT_MS = 2_000;

export async function openStorage(env: EnvConfig, clock: Clock, hooks: StoreHooks, logger: Logger): Promise<Storage> {
  if (env.databaseUrl) {
    // Loaded only when used: a SQLite installation never loads the PostgreSQL driver.
    const { openPostgres } = await import('./adapters/postgres/database.js');
    const { createPostgresStore } = await import('./adapters/postgres/pg-store.js');
    const { createPgConsoleStore } = await import('./adapters/postgres/console-store.js');
    const { createPgSessionStore } = await import('./adapters/postgres/session-store.js');
    const { createPgTeamsDirectory } = await import('./adapters/postgres/teams-directory.js');
    const { createPgNotifications } = await import('./adapters/postgres/notifications.js');
    const handle = await openPostgres(env.databaseUrl);
    // This replica's LISTEN connection: other replicas' changes to incidents and console rooms.
    const notifications = createPgNotifications({ handle, url: env.databaseUrl, logger });
    const store = createPostgresStore(handle, clock, hooks, notifications);
    return {
      kind: 'postgres',
      label: databaseLabel(env.databaseUrl),
      store,
      console: createPgConsoleStore(handle),
      sessions: createPgSessionStore(handle),
      teams: createPgTeamsDirectory(handle, clock),
      roomChanges: { changed: notifications.roomChanged, onChange: notifications.onRoom },
      busy: () => undefined,
      ready: () =>
        Promise.race([
          handle.ping(),
          new Promise<boolean>((resolve) => setTimeout(resolve, READY_TIMEOUT_MS, false).unref()),
        ]),
      async close() {
        await notifications.close();
        await handle.close();
      },
    };
  }
  const db = openDatabase(env.databasePath);
  // While chat requests come in or reminder ticks write, WAL checkpoints (an fsync each) run on a thread, not in a commit here.
  const checkpointer = env.databasePath === ':memory:' ? undefined : createCheckpointer(db, env.databasePath, logger);
  const store = createSqliteStore(db, clock, hooks);
  return {
    kind: 'sqlite',
    label: env.databasePath,
    store,
    console: createSqliteConsoleStore(db, store.gate),
    sessions: createSqliteSessionStore(db, store.gate),
    teams: createSqliteTeamsDirectory(db, store.gate, clock),
    sqlite: db,
    busy: () => checkpointer?.busy(),
    ready: () => Promise.resolve(db.sqlite.open),
    async close() {
      await checkpointer?.stop();
      await store.gate.idle(); // a handler still inside a transaction finishes it first
      db.close();
    },
  };
}
