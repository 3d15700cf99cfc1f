// Opens the SQLite file (WAL, busy timeout, foreign keys) and applies drizzle-kit migrations.
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;
export interface DbHandle {
  db: Db;
  sqlite: Database.Database;
  close(): void;
}

export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../../migrations/sqlite');

/** `:memory:` for tests; otherwise the parent folder is created. */
export function openDatabase(path: string, options: { migrate?: boolean; busyTimeoutMs?: number } = {}): DbHandle {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  const db = drizzle(sqlite, { schema });
  if (options.migrate !== false) migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db, sqlite, close: () => sqlite.close() };
}

/**
 * `fn` made atomic: inside a caller's transaction it simply runs there (no savepoint of its own, which
 * cost a third of an audit append: a failure throws out of the caller's transaction and rolls back
 * with it); otherwise in its own transaction, taking the write lock at once (immediate), so two
 * processes wait on the busy timeout instead of failing on a lock upgrade.
 */
export function atomic<A extends unknown[], R>(sqlite: Database.Database, fn: (...args: A) => R): (...args: A) => R {
  const own = sqlite.transaction(fn);
  return (...args) => (sqlite.inTransaction ? fn(...args) : own.immediate(...args));
}

/**
 * `methods` with the named ones made atomic (above): a store's writes, each with its audit entry,
 * so a row never commits without its audit entry, even when called outside any transaction.
 */
export function atomicWrites<T extends object>(
  sqlite: Database.Database,
  methods: T,
  names: ReadonlyArray<keyof T>,
): T {
  const wrapped = { ...methods };
  for (const name of names)
    wrapped[name] = atomic(sqlite, methods[name] as (...args: unknown[]) => unknown) as T[keyof T];
  return wrapped;
}
