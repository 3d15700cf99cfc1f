// PostgreSQL (DATABASE_URL): a pg pool through drizzle, migrations applied under an advisory lock (so
// replicas starting together migrate once), and transactions that span awaits: the open one rides on
// AsyncLocalStorage, so every store call inside `transaction(fn)` uses it and a nested call joins it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
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

/**
 * A write that nothing in its transaction reads back (an audit entry, a receipt, a new incident's rows):
 * queued, and sent together with the transaction's other queued writes as one statement (data-modifying
 * CTEs), just before the next statement of the transaction or at its end. A transaction made only of
 * such writes is that one statement, without BEGIN and COMMIT: one round trip to the database.
 */
export interface QueuedWrite<T> {
  /** One INSERT, UPDATE or DELETE for every value queued for this writer, in order. */
  statement(values: T[]): SQLWrapper;
  /** What to throw instead of the database's error, when it is this write's (a request key taken before). */
  failure?(error: unknown, values: T[]): Error | undefined;
  /**
   * Nothing reads what this writes inside a transaction (the audit's pending rows): its values wait for
   * the transaction's end, or for a statement that sends the other queued writes, instead of going out
   * before every statement (a round trip of their own).
   */
  unread?: boolean;
}

export interface PgHandle {
  db: PgDb;
  pool: pg.Pool;
  /** The open transaction inside `transaction(fn)`, else the pool. */
  executor(): PgExecutor;
  /**
   * `fn` in one transaction (the caller's, when already inside one); run again on a deadlock or a
   * serialization failure, so `fn` must only touch the database. BEGIN is sent with the first
   * statement that is not a queued write, so a transaction of queued writes alone is one statement.
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
   * Queues `value` for `writer` (QueuedWrite) in the open transaction, or in one of its own. Values
   * queued under a savepoint that rolls back are dropped with it.
   */
  queueWrite<T>(writer: QueuedWrite<T>, value: T): Promise<void>;
  /**
   * A statement outside the transaction's snapshot that needs no transaction (nextval): on the open
   * transaction's connection once it has one, else on any connection of the pool, so a transaction
   * that has not begun yet holds no connection while it waits. It runs only where the transaction's
   * guards hold (in the same statement); where one does not, that guard's error is thrown instead.
   */
  outside<R extends Record<string, unknown>>(query: SQLWrapper): Promise<R[]>;
  /**
   * A condition the open transaction's queued writes will check when they are written (a request key
   * not taken), checked early by `outside` statements so they do nothing for a transaction bound to fail.
   */
  guard(holds: SQL, failure: () => Error): void;
  /**
   * A hot query built once with placeholders (drizzle's prepare), for the pool and for the open
   * transaction, and named, so each connection parses and plans it once: drizzle's query building
   * was the process's largest cost in a profile of declarations under load. Returns the one for
   * where the caller is.
   */
  prepared<Q>(name: string, build: (on: PgExecutor) => { prepare(name: string): Q }): () => Q;
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

/** A unique violation of `constraint`. */
export function violates(error: unknown, constraint: string): boolean {
  const cause = pgError(error);
  return cause?.code === '23505' && cause.constraint === constraint;
}

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);

type Queued = { writer: QueuedWrite<unknown>; value: unknown };
type QueryConfig = string | { text: string };
type Result = pg.QueryResult<Record<string, unknown>>;

/** What an open transaction carries: its connection, the hooks for after COMMIT and the queued writes. */
interface Inside {
  connection: TxConnection;
  committed: Array<() => void>;
  queued: Queued[];
  live: boolean;
  savepoints: number;
  guards: Array<{ holds: SQL; failure: () => Error }>;
}

/** The queued values grouped by writer, each writer in the order it was first queued. */
function batches(queued: Queued[]): Array<[QueuedWrite<unknown>, unknown[]]> {
  const groups = new Map<QueuedWrite<unknown>, unknown[]>();
  for (const { writer, value } of queued) {
    const group = groups.get(writer);
    if (group) group.push(value);
    else groups.set(writer, [value]);
  }
  return [...groups];
}
const ATTEMPTS = 5;
const dialect = new PgDialect();

/** The queued writes as one statement, the first ones as data-modifying CTEs of the last. */
function combined(statements: SQL[]): { text: string; values: unknown[] } {
  const last = statements.at(-1)!;
  const query =
    statements.length > 1
      ? sql`WITH ${sql.join(
          statements.slice(0, -1).map((statement, i) => sql`${sql.raw(`w${i}`)} AS (${statement})`),
          sql`, `,
        )} ${last}`
      : last;
  const { sql: text, params } = dialect.sqlToQuery(query);
  return { text, values: params };
}

/** The writer's own error for what the database refused, else the database's. */
function failureOf(error: unknown, groups: Array<[QueuedWrite<unknown>, unknown[]]>): unknown {
  for (const [writer, values] of groups) {
    const own = writer.failure?.(error, values);
    if (own) return own;
  }
  return error;
}

/**
 * One transaction's connection, taken from the pool and BEGUN at its first statement; before each
 * statement (except a rollback), the writes queued so far are sent as one statement, unless all of them
 * are writes nothing reads (QueuedWrite.unread), which wait for the end.
 */
class TxConnection {
  private client?: pg.PoolClient;
  private begun?: Promise<pg.PoolClient>;
  constructor(
    private readonly pool: pg.Pool,
    private readonly inside: () => Inside,
  ) {}

  get started(): boolean {
    return this.begun !== undefined;
  }

  private begin(): Promise<pg.PoolClient> {
    this.begun ??= (async () => {
      const client = await this.pool.connect();
      this.client = client;
      await client.query('BEGIN');
      return client;
    })();
    return this.begun;
  }

  /** Sends the queued writes; on a connection that has not begun, as one statement of its own (autocommit). */
  async flush(): Promise<void> {
    const queued = this.inside().queued;
    const groups: Array<[QueuedWrite<unknown>, unknown[]]> = [];
    const statements: SQL[] = [];
    // A writer may queue more while it builds its statement: all of it goes in this one.
    while (queued.length) {
      for (const group of batches(queued.splice(0))) {
        groups.push(group);
        statements.push(group[0].statement(group[1]).getSQL());
      }
    }
    if (statements.length === 0) return;
    const statement = combined(statements);
    try {
      if (this.started) await (await this.begin()).query(statement);
      else await this.pool.query(statement);
    } catch (error) {
      throw failureOf(error, groups);
    }
  }

  async query(config: QueryConfig, values?: unknown[]): Promise<Result> {
    const client = await this.begin();
    const text = typeof config === 'string' ? config : config.text;
    // Before a rollback nothing goes out; before a savepoint everything (what was queued before it must
    // not roll back with it); before any other statement, the queued writes once one of them may be read.
    if (
      /^\s*savepoint/i.test(text) ||
      (!/^\s*rollback/i.test(text) && this.inside().queued.some((q) => !q.writer.unread))
    )
      await this.flush();
    return client.query(config as pg.QueryConfig, values);
  }

  /** COMMIT, or the queued writes alone when no statement began the transaction. */
  async commit(): Promise<void> {
    await this.flush();
    if (this.started) await (await this.begin()).query('COMMIT');
  }

  async rollback(): Promise<void> {
    if (!this.started) return;
    try {
      await (await this.begin()).query('ROLLBACK');
    } catch {
      this.release(true);
    }
  }

  release(broken = false): void {
    const client = this.client;
    this.client = undefined;
    client?.release(broken);
  }
}

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
  /** Queries inside a transaction: drizzle over the open transaction's connection (not a pool to drizzle). */
  const tx = drizzle(
    {
      query: (config: QueryConfig, values?: unknown[]) => {
        const inside = current();
        if (!inside) return Promise.reject(new Error('a transaction query outside its transaction'));
        return inside.connection.query(config, values);
      },
    } as unknown as pg.Client,
    { schema },
  );
  const handle: PgHandle = {
    db,
    pool,
    executor: () => (current() ? tx : db),
    async transaction(fn) {
      if (current()) return fn();
      for (let attempt = 1; ; attempt++) {
        const inside: Inside = {
          connection: new TxConnection(pool, () => inside),
          committed: [],
          queued: [],
          live: true,
          savepoints: 0,
          guards: [],
        };
        try {
          const result = await open.run(inside, async () => {
            const value = await fn();
            await inside.connection.commit();
            return value;
          });
          inside.live = false;
          inside.connection.release();
          // Outside the finished transaction's context: what a hook starts is not inside it.
          for (const hook of inside.committed) open.exit(hook);
          return result;
        } catch (error) {
          inside.live = false;
          await inside.connection.rollback();
          inside.connection.release();
          const code = pgError(error)?.code;
          if (attempt >= ATTEMPTS || !code || !RETRYABLE.has(code)) throw error;
          await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
        }
      }
    },
    async savepoint(fn) {
      const outer = current();
      if (!outer) return handle.transaction(fn);
      const name = `firelane_${++outer.savepoints}`;
      // Writes queued before it go out first: they are the outer transaction's, kept if this rolls back.
      await outer.connection.query(`SAVEPOINT ${name}`);
      const marks = { committed: outer.committed.length, queued: outer.queued.length, guards: outer.guards.length };
      try {
        const value = await fn();
        await outer.connection.query(`RELEASE SAVEPOINT ${name}`);
        return value;
      } catch (error) {
        // What the savepoint queued goes with it: after-commit hooks, queued writes and guards alike.
        outer.committed.length = marks.committed;
        outer.queued.length = marks.queued;
        outer.guards.length = marks.guards;
        await outer.connection.query(`ROLLBACK TO SAVEPOINT ${name}`);
        throw error;
      }
    },
    afterCommit(fn) {
      const inside = current();
      if (inside) inside.committed.push(fn);
      else setImmediate(fn);
    },
    async queueWrite(writer, value) {
      const inside = current();
      if (!inside) return handle.transaction(() => handle.queueWrite(writer, value));
      inside.queued.push({ writer: writer as QueuedWrite<unknown>, value });
    },
    async outside<R extends Record<string, unknown>>(query: SQLWrapper) {
      const inside = current();
      const guards = inside?.guards ?? [];
      // A condition on no column of the subquery is checked first (a one-time filter): when it is
      // false, the subquery (a nextval) is not run at all.
      const guarded = guards.length
        ? sql`SELECT * FROM (${query.getSQL()}) AS q WHERE ${sql.join(
            guards.map((g) => sql`(${g.holds})`),
            sql` AND `,
          )}`
        : query.getSQL();
      const { sql: text, params } = dialect.sqlToQuery(guarded);
      const result = inside?.connection.started
        ? await inside.connection.query(text, params)
        : await pool.query(text, params);
      if (guards.length && result.rows.length === 0) {
        if (guards.length === 1) throw guards[0]!.failure();
        const { sql: which, params: values } = dialect.sqlToQuery(
          sql`SELECT ${sql.join(
            guards.map((g, i) => sql`(${g.holds}) AS ${sql.raw(`g${i}`)}`),
            sql`, `,
          )}`,
        );
        const [held] = (await pool.query(which, values)).rows as Array<Record<string, boolean>>;
        throw (guards.find((_, i) => held?.[`g${i}`] === false) ?? guards[0]!).failure();
      }
      return result.rows as R[];
    },
    guard(holds, failure) {
      current()?.guards.push({ holds, failure });
    },
    prepared(name, build) {
      const onPool = build(db).prepare(name);
      const inTransaction = build(tx).prepare(name);
      return () => (current() ? inTransaction : onPool);
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
