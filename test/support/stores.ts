// The store on each database firelane runs on, for tests that must hold on both: SQLite always,
// PostgreSQL when the test server is there (postgres.ts; under CI it must be). Each `open()` gives a
// fresh, migrated database.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AuditRow } from '../../src/adapters/audit-chain.js';
import { openDatabase, type DbHandle } from '../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore, type StoreHooks } from '../../src/adapters/db/sqlite-store.js';
import { openPostgres } from '../../src/adapters/postgres/database.js';
import { createPostgresStore, type PostgresStore } from '../../src/adapters/postgres/pg-store.js';
import {
  CHANGES_CHANNEL,
  createPgNotifications,
  type PgNotifications,
  type PgNotificationsOptions,
} from '../../src/adapters/postgres/notifications.js';
import { createManualClock, type ManualClock } from '../../src/ports/clock.js';
import { createDatabase, postgresServer } from './postgres.js';
import { TEMPLATE_DATABASE } from './postgres-server.js';

export type DialectName = 'sqlite' | 'postgres';

export interface StoreUnderTest {
  dialect: DialectName;
  store: SqliteStore | PostgresStore;
  clock: ManualClock;
  /** A raw query for what the store does not expose (`?` placeholders on both). */
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
  /**
   * PostgreSQL only: another replica on the same database (a pool and a LISTEN connection of its own,
   * like a second process), with the same clock. Its close() ends only its own; close it before this one.
   */
  replica?(options?: { hooks?: StoreHooks; listen?: ListenOptions }): Promise<StoreUnderTest>;
  /** PostgreSQL only: this replica's LISTEN connection (the store keeps the open incidents while it listens). */
  notifications?: PgNotifications;
  /**
   * PostgreSQL only: resolves once this replica has heard of every change committed before the call
   * (another replica's reaches it in milliseconds, not at once).
   */
  caughtUp?(): Promise<void>;
  /** SQLite only: the database's handle (the console's and Teams' tables are beside the store's). */
  sqliteHandle?: DbHandle;
}

/** How a PostgreSQL replica's LISTEN connection behaves (where it connects, its logger, its waits); the pool's database, silent and the defaults unless given. */
export type ListenOptions = Partial<Pick<PgNotificationsOptions, 'url' | 'logger' | 'retryMs' | 'checkMs'>>;

export interface Dialect {
  name: DialectName;
  open(options?: { hooks?: StoreHooks; clock?: ManualClock; listen?: ListenOptions }): Promise<StoreUnderTest>;
}

const sqlite: Dialect = {
  name: 'sqlite',
  async open({ hooks, clock = createManualClock() } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'firelane-store-'));
    const handle = openDatabase(join(dir, 'firelane.db'));
    const store = createSqliteStore(handle, clock, hooks);
    return {
      dialect: 'sqlite',
      store,
      clock,
      sqliteHandle: handle,
      query: async <R>(text: string, params: unknown[] = []) =>
        store.gate.run(() => handle.sqlite.prepare(text).all(...params) as R[]),
      async close() {
        await store.gate.idle();
        handle.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** A store on its own pool and LISTEN connection to the database at `url` (one replica); `close` ends both. */
async function pgReplica(
  url: string,
  clock: ManualClock,
  hooks?: StoreHooks,
  listen: ListenOptions = {},
): Promise<StoreUnderTest> {
  const handle = await openPostgres(url, { migrate: false });
  const notifications = createPgNotifications({ handle, url, logger: pino({ level: 'silent' }), ...listen });
  const store = createPostgresStore(handle, clock, hooks, notifications);
  // Notifications arrive in commit order: once a marker sent now is heard, so is every earlier change.
  // Hearing that restarts (undefined) drops every copy, which is as good.
  const markers = new Map<string, () => void>();
  notifications.onRoom((roomId) => {
    for (const [marker, heard] of markers)
      if (roomId === undefined || roomId === marker) {
        markers.delete(marker);
        heard();
      }
  });
  return {
    dialect: 'postgres',
    store,
    clock,
    notifications,
    async query<R>(text: string, params: unknown[] = []) {
      let n = 0;
      const numbered = text.replace(/\?/g, () => `$${++n}`);
      return (await handle.pool.query(numbered, params)).rows as R[];
    },
    async caughtUp() {
      if (!notifications.listening()) return; // the store reads the database meanwhile
      const marker = `caught-up-${randomUUID()}`;
      const heard = new Promise<void>((resolve) => markers.set(marker, resolve));
      await handle.pool.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, `room ${'0'.repeat(16)} ${marker}`]);
      await heard;
    },
    async close() {
      await notifications.close();
      await handle.close();
    },
    replica: (options = {}) => pgReplica(url, clock, options.hooks, options.listen),
  };
}

function postgres(serverUrl: string): Dialect {
  return {
    name: 'postgres',
    async open({ hooks, clock = createManualClock(), listen } = {}) {
      const database = await createDatabase(serverUrl, TEMPLATE_DATABASE);
      const first = await pgReplica(database.url, clock, hooks, listen);
      return {
        ...first,
        async close() {
          await first.close();
          await database.drop();
        },
      };
    },
  };
}

/** SQLite, and PostgreSQL when there is a test server (else a printed reason; CI fails instead). */
export function dialects(): Dialect[] {
  const server = postgresServer();
  return server ? [sqlite, postgres(server)] : [sqlite];
}

/** The audit log's rows, oldest first, on either database (SQLite iterates them, PostgreSQL streams them). */
export async function auditRows(t: Pick<StoreUnderTest, 'store'>): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  for await (const row of await t.store.audit.rows()) rows.push(row);
  return rows;
}
