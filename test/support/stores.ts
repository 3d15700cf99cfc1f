// The store on each database firelane runs on, for tests that must hold on both: SQLite always,
// PostgreSQL when the test server is there (postgres.ts; under CI it must be). Each `open()` gives a
// fresh, migrated database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRow } from '../../src/adapters/audit-chain.js';
import { openDatabase, type DbHandle } from '../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore, type StoreHooks } from '../../src/adapters/db/sqlite-store.js';
import { openPostgres } from '../../src/adapters/postgres/database.js';
import { createPostgresStore, type PostgresStore } from '../../src/adapters/postgres/pg-store.js';
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
   * PostgreSQL only: another replica on the same database (a pool of its own, like a second
   * process), with the same clock. Its close() ends only its pool; close it before this one.
   */
  replica?(options?: { hooks?: StoreHooks }): Promise<StoreUnderTest>;
  /** SQLite only: the database's handle (the console's and Teams' tables are beside the store's). */
  sqliteHandle?: DbHandle;
}

export interface Dialect {
  name: DialectName;
  open(options?: { hooks?: StoreHooks; clock?: ManualClock }): Promise<StoreUnderTest>;
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

/** A store on its own pool to the database at `url` (one replica); `close` ends the pool. */
async function pgReplica(url: string, clock: ManualClock, hooks?: StoreHooks): Promise<StoreUnderTest> {
  const handle = await openPostgres(url, { migrate: false });
  const store = createPostgresStore(handle, clock, hooks);
  return {
    dialect: 'postgres',
    store,
    clock,
    async query<R>(text: string, params: unknown[] = []) {
      let n = 0;
      const numbered = text.replace(/\?/g, () => `$${++n}`);
      return (await handle.pool.query(numbered, params)).rows as R[];
    },
    close: () => handle.close(),
    replica: (options = {}) => pgReplica(url, clock, options.hooks),
  };
}

function postgres(serverUrl: string): Dialect {
  return {
    name: 'postgres',
    async open({ hooks, clock = createManualClock() } = {}) {
      const database = await createDatabase(serverUrl, TEMPLATE_DATABASE);
      const first = await pgReplica(database.url, clock, hooks);
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
