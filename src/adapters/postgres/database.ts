// PostgreSQL (DATABASE_URL): a pg pool through drizzle, migrations applied under an advisory lock (so
// replicas starting together migrate once), and transactions that span awaits: the open one rides on
// AsyncLocalStorage, so every store call inside `transaction(fn)` uses it and a nested call joins it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from './schema.js';

export type PgDb = NodePgDatabase<typeof schema>;
/** What a store query runs on: the pool, or the open transaction. */
export type PgExecutor = Pick<PgDb, 'select' | 'insert' | 'update' | 'delete' | 'execute'>;

export const POSTGRES_MIGRATIONS_FOLDER = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../migrations/postgres',
);

/** pg_advisory_lock key held while migrating ("firelane" in ASCII, as a number). */
const MIGRATION_LOCK = 0x6669_7265_6c61;

export interface PgHandle {
  db: PgDb;
  pool: pg.Pool;
  /** The open transaction inside `transaction(fn)`, else the pool. */
  executor(): PgExecutor;
  /**
   * `fn` in one transaction (the caller's, when already inside one); run again on a deadlock or a
   * serialization failure, so `fn` must only touch the database.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * `fn` under a savepoint of the open transaction (or in a transaction of its own): when it throws
   * (a unique violation, say), only its own statements roll back and the transaction stays usable.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` after the open transaction commits (not at all if it rolls back); with none open, soon. */
  afterCommit(fn: () => void): void;
  /** Whether a query answers now (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface PgOptions {
  migrate?: boolean;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

/** The driver's error (SQLSTATE code, constraint) inside what drizzle threw (it wraps it as `cause`). */
export function pgError(error: unknown): { code?: string; constraint?: string } | undefined {
  const e = error as { code?: string; constraint?: string; cause?: { code?: string; constraint?: string } } | undefined;
  return e?.code === undefined ? e?.cause : e;
}

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const ATTEMPTS = 5;

export async function openPostgres(url: string, options: PgOptions = {}): Promise<PgHandle> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    // A statement stuck behind a lock for this long is a bug or an outage, not a queue.
    statement_timeout: 30_000,
    application_name: 'firelane',
    // bigint columns (times in milliseconds, counts) as numbers, not strings: all stay below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection the server dropped (a restart, a failover) must not crash the process; the
  // next query opens a new one.
  pool.on('error', () => undefined);
  const db = drizzle(pool, { schema });
  if (options.migrate !== false) await migratePostgres(pool);

  // The open transaction of this async context. `live` turns false when it ends: work started inside
  // it that outlives it (a timer, a woken worker) must not use its connection, which is back in the pool.
  const open = new AsyncLocalStorage<{ tx: PgExecutor; committed: Array<() => void>; live: boolean }>();
  const current = () => {
    const inside = open.getStore();
    return inside?.live ? inside : undefined;
  };
  const handle: PgHandle = {
    db,
    pool,
    executor: () => current()?.tx ?? db,
    async transaction(fn) {
      if (current()) return fn();
      for (let attempt = 1; ; attempt++) {
        const committed: Array<() => void> = [];
        try {
          const result = await db.transaction(async (tx) => {
            const inside = { tx, committed, live: true };
            try {
              return await open.run(inside, fn);
            } finally {
              inside.live = false;
            }
          });
          // Outside the finished transaction's context: what a hook starts is not inside it.
          for (const hook of committed) open.exit(hook);
          return result;
        } catch (error) {
          const code = pgError(error)?.code;
          if (attempt >= ATTEMPTS || !code || !RETRYABLE.has(code)) throw error;
          await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
        }
      }
    },
    async savepoint(fn) {
      const outer = current();
      if (!outer) return handle.transaction(fn);
      const tx = outer.tx as PgExecutor & { transaction<T>(f: (nested: PgExecutor) => Promise<T>): Promise<T> };
      return tx.transaction(async (nested) => {
        const inside = { tx: nested, committed: outer.committed, live: true };
        try {
          return await open.run(inside, fn);
        } finally {
          inside.live = false;
        }
      });
    },
    afterCommit(fn) {
      const inside = current();
      if (inside) inside.committed.push(fn);
      else setImmediate(fn);
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
  };
  return handle;
}

/** Applies migrations/postgres, one process at a time (the others wait on the advisory lock, then find nothing to do). */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(drizzle(client, { schema }), { migrationsFolder: POSTGRES_MIGRATIONS_FOLDER });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
