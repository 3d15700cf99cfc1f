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
  /**
   * Queues `value` for `writer`, which the open transaction (or one of its own) runs once, with every
   * value queued for it in order, as its last statements before COMMIT: a lock the writer takes (the
   * audit head) is then held for a round trip or two, not for the whole transaction. Values queued under
   * a savepoint that rolls back are dropped with it.
   */
  beforeCommit<T>(writer: (values: T[]) => Promise<void>, value: T): Promise<void>;
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

type Deferred = { writer: (values: unknown[]) => Promise<void>; value: unknown };
/** What an open transaction carries: its executor, the hooks for after COMMIT and the writes for just before it. */
interface Inside {
  tx: PgExecutor;
  committed: Array<() => void>;
  deferred: Deferred[];
  live: boolean;
}

/** The deferred values grouped by writer, each writer in the order it was first queued. */
function batches(deferred: Deferred[]): Array<[Deferred['writer'], unknown[]]> {
  const groups = new Map<Deferred['writer'], unknown[]>();
  for (const { writer, value } of deferred) {
    const group = groups.get(writer);
    if (group) group.push(value);
    else groups.set(writer, [value]);
  }
  return [...groups];
}
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
  const open = new AsyncLocalStorage<Inside>();
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
            const inside: Inside = { tx, committed, deferred: [], live: true };
            try {
              const value = await open.run(inside, fn);
              // A writer may queue more (for another writer): run until nothing is left.
              while (inside.deferred.length) {
                const queued = inside.deferred.splice(0);
                for (const [writer, values] of batches(queued)) await open.run(inside, () => writer(values));
              }
              return value;
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
      // What the savepoint queued goes if it rolls back: after-commit hooks and deferred writes alike.
      const marks = { committed: outer.committed.length, deferred: outer.deferred.length };
      try {
        return await tx.transaction(async (nested) => {
          const inside: Inside = { tx: nested, committed: outer.committed, deferred: outer.deferred, live: true };
          try {
            return await open.run(inside, fn);
          } finally {
            inside.live = false;
          }
        });
      } catch (error) {
        outer.committed.length = marks.committed;
        outer.deferred.length = marks.deferred;
        throw error;
      }
    },
    afterCommit(fn) {
      const inside = current();
      if (inside) inside.committed.push(fn);
      else setImmediate(fn);
    },
    async beforeCommit(writer, value) {
      const inside = current();
      if (!inside) return handle.transaction(() => handle.beforeCommit(writer, value));
      inside.deferred.push({ writer: writer as Deferred['writer'], value });
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
