// Which database the integration and e2e tests run firelane on: the SQLite file (the default), or
// PostgreSQL with FIRELANE_TEST_STORE=postgres. Tests that start a firelane take its database from
// here (databaseEnv): a file in the test's folder, or a fresh database on the test server
// (global-setup.ts starts it and migrates the template each one copies), dropped when the test's
// harness closes or, at the latest, after the test file (test-store-setup.ts). Tests that look into
// the database use queryDatabase (or queryOne, changeDatabase), which speak to either. Tests about the
// SQLite file itself (the serve lock, WAL checkpoints, `firelane audit` on a tampered copy) skip under
// the switch: `it.skipIf(ON_POSTGRES)(sqliteOnly(name), ...)`.
import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import pg from 'pg';
import { openDatabase } from '../../src/adapters/db/database.js';
import type { Firelane } from '../../src/app.js';
import { createDatabase, TEMPLATE_DATABASE } from './postgres-server.js';
import { postgresServer } from './postgres.js';

export type TestStore = 'sqlite' | 'postgres';

function parseTestStore(value: string | undefined): TestStore {
  const store = value?.trim().toLowerCase() || 'sqlite';
  if (store === 'sqlite' || store === 'postgres') return store;
  throw new Error(`FIRELANE_TEST_STORE: "${value}" is not a store the tests know (sqlite or postgres)`);
}

/** FIRELANE_TEST_STORE: the store every firelane a test starts runs on. */
export const TEST_STORE: TestStore = parseTestStore(process.env.FIRELANE_TEST_STORE);
export const ON_POSTGRES = TEST_STORE === 'postgres';

/**
 * For `describe.skipIf(ON_POSTGRES)` / `it.skipIf(ON_POSTGRES)` on tests about the SQLite file itself,
 * with the reason in the name: `it.skipIf(ON_POSTGRES)(sqliteOnly('...'), ...)`.
 */
export const sqliteOnly = (name: string): string => (ON_POSTGRES ? `${name} [SQLite only]` : name);

interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** The PostgreSQL databases handed out, by the folder of the test that asked. */
const databases = new Map<string, Promise<TestDatabase>>();
/** Pools of queryDatabase, by database URL. */
const pools = new Map<string, pg.Pool>();

function serverUrl(): string {
  const url = postgresServer();
  if (!url)
    throw new Error('FIRELANE_TEST_STORE=postgres, but there is no PostgreSQL server for the tests (see above why)');
  return url;
}

/**
 * The variables that give a firelane its database: DATABASE_PATH (`file` in `dir`) on SQLite;
 * DATABASE_URL on PostgreSQL, one database per `dir` (a restart in the same folder finds the same
 * data), migrated already unless `migrated: false` (then firelane migrates it, as on a first start).
 */
export async function databaseEnv(
  dir: string,
  options: { file?: string; migrated?: boolean } = {},
): Promise<Record<string, string>> {
  if (!ON_POSTGRES) return { DATABASE_PATH: join(dir, options.file ?? 'firelane.db') };
  const key = resolve(dir);
  let database = databases.get(key);
  if (!database) {
    database = createDatabase(serverUrl(), options.migrated === false ? undefined : TEMPLATE_DATABASE);
    databases.set(key, database);
  }
  return { DATABASE_URL: (await database).url };
}

/** Drops the PostgreSQL database `databaseEnv(dir)` handed out (nothing on SQLite: the folder goes with the test). */
export async function dropDatabase(dir: string): Promise<void> {
  const key = resolve(dir);
  const database = databases.get(key);
  if (!database) return;
  databases.delete(key);
  const { url, drop } = await database;
  const pool = pools.get(url);
  pools.delete(url);
  await pool?.end();
  await drop();
}

/** After a test file: drops every database it was handed and not dropped yet. */
export async function dropAllDatabases(): Promise<void> {
  for (const dir of [...databases.keys()]) await dropDatabase(dir);
  const left = [...pools.values()];
  pools.clear();
  await Promise.all(left.map((pool) => pool.end()));
}

/**
 * Whose database a raw statement runs on: a running (or closed) firelane's, or the one
 * `databaseEnv(dir)` handed out, with no firelane on it (between a stop and a restart).
 */
export type DatabaseOf = Pick<Firelane, 'storage' | 'config'> | { dir: string; file?: string };

function pgPool(url: string): pg.Pool {
  let pool = pools.get(url);
  if (!pool) {
    pool = new pg.Pool({
      connectionString: url,
      max: 2,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === pg.types.builtins.INT8
            ? Number
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    pool.on('error', () => undefined);
    pools.set(url, pool);
  }
  return pool;
}

/**
 * A raw statement, for what the store does not expose: on SQLite the firelane's connection (or the
 * file, opened for this statement); on PostgreSQL a pool of its own on the database (it works after
 * firelane closed, until the database is dropped). `?` placeholders on both; PostgreSQL's bigint
 * (count(*), times) comes back as a number. The rows it returns, and how many it changed.
 */
async function run<R>(on: DatabaseOf, text: string, params: unknown[]): Promise<{ rows: R[]; changes: number }> {
  const onSqlite = (sqlite: Database.Database) => {
    const statement = sqlite.prepare(text);
    if (statement.reader) return { rows: statement.all(...params) as R[], changes: 0 };
    return { rows: [], changes: statement.run(...params).changes };
  };
  let url: string | undefined;
  if ('dir' in on) {
    if (!ON_POSTGRES) {
      const db = openDatabase(join(on.dir, on.file ?? 'firelane.db'), { migrate: false });
      try {
        return onSqlite(db.sqlite);
      } finally {
        db.close();
      }
    }
    const database = databases.get(resolve(on.dir));
    if (!database) throw new Error(`no test database was handed out for ${on.dir}`);
    url = (await database).url;
  } else {
    if (on.storage.sqlite) return onSqlite(on.storage.sqlite.sqlite);
    url = on.config.env.databaseUrl;
    if (!url) throw new Error('this firelane has neither a SQLite file nor a DATABASE_URL');
  }
  let n = 0;
  const result = await pgPool(url).query(
    text.replace(/\?/g, () => `$${++n}`),
    params,
  );
  return { rows: result.rows as R[], changes: result.rowCount ?? 0 };
}

/** The rows of a raw query on `on`'s database (see run). */
export async function queryDatabase<R = Record<string, unknown>>(
  on: DatabaseOf,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  return (await run<R>(on, text, params)).rows;
}

/** The first row of a raw query (a count, one record), or undefined. */
export async function queryOne<R = Record<string, unknown>>(
  on: DatabaseOf,
  text: string,
  params: unknown[] = [],
): Promise<R | undefined> {
  return (await run<R>(on, text, params)).rows[0];
}

/** A raw write (UPDATE, DELETE) on `on`'s database; how many rows it changed. */
export async function changeDatabase(on: DatabaseOf, text: string, params: unknown[] = []): Promise<number> {
  return (await run(on, text, params)).changes;
}
