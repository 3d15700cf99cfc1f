// The bench's PostgreSQL (issue 27): one throw-away server for the whole run, started with
// test/support/postgres-server.ts but durable as a production server runs (fsync, synchronous_commit
// and full_page_writes on; BENCH_POSTGRES_FSYNC=off gives the tests' faster server), and one fresh
// database per measurement. When no server can be started, why not: the PostgreSQL figures then say
// so and the SQLite ones still print.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Firelane } from '../src/app.js';
import type { PostgresStore } from '../src/adapters/postgres/pg-store.js';
import { createDatabase, postgresMissing, startPostgres } from '../test/support/postgres-server.js';

export interface BenchPostgres {
  /** The server's maintenance database. */
  url: string;
  /** Version and durability settings, for RESULTS.md. */
  description: string;
  /** The server's synchronous_commit: whether a commit waits for the WAL's fsync. */
  synchronousCommit: string;
  /** A new, empty database on the server (firelane migrates it when it opens it). */
  database(): Promise<{ url: string; drop(): Promise<void> }>;
  /** CPU time of the whole server so far (postmaster, backends, exited backends), ms; undefined for a server not ours. */
  cpuMs(): number | undefined;
  /** The server's processes now (none for a server not ours): section 1 pins them to a core of their own. */
  pids(): number[];
  stop(): void;
}

export type PostgresForBench = BenchPostgres | { missing: string };

export const postgresAvailable = (pg: PostgresForBench): pg is BenchPostgres => 'url' in pg;

/** user + system CPU of a process (and, with `children`, of its exited children it waited for), ms. */
function cpuOfPid(pid: number, children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 0, utime 11, stime 12, cutime 13, cstime 14 (clock ticks, 100 a second).
    const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
    return ticks * 10;
  } catch {
    return 0; // exited meanwhile: its time is in the parent's cutime now
  }
}

/** The server's processes: the postmaster and its children (the backends, the WAL writer...). */
function serverPids(postmaster: number): number[] {
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** The server's CPU time: the postmaster with its reaped children, plus the live backends (its children). */
function serverCpuMs(postmaster: number): number {
  const [, ...children] = serverPids(postmaster);
  return children.reduce((total, pid) => total + cpuOfPid(pid), cpuOfPid(postmaster, true));
}

export async function startBenchPostgres(): Promise<PostgresForBench> {
  if (process.env.BENCH_POSTGRES === 'off') return { missing: 'BENCH_POSTGRES=off' };
  const missing = postgresMissing();
  if (missing) return { missing };
  const ours = !process.env.FIRELANE_TEST_DATABASE_URL;
  const durable = process.env.BENCH_POSTGRES_FSYNC !== 'off';
  let server: Awaited<ReturnType<typeof startPostgres>>;
  try {
    server = await startPostgres({ durable });
  } catch (error) {
    return {
      missing: `the server did not start: ${String(error instanceof Error ? error.message : error).split('\n')[0]}`,
    };
  }
  const client = new pg.Client({ connectionString: server.url });
  try {
    await client.connect();
    const show = async (name: string) => String((await client.query(`SHOW ${name}`)).rows[0][name]);
    const settings: string[] = [];
    for (const name of ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers'])
      settings.push(await show(name));
    let postmaster: number | undefined;
    if (ours) {
      const dataDirectory = await show('data_directory');
      postmaster = Number(readFileSync(join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);
    }
    const [version, fsync, synchronousCommit, fullPageWrites, sharedBuffers] = settings;
    const where = ours
      ? 'a throw-away server on this machine (test/support/postgres-server.ts), over TCP on 127.0.0.1'
      : 'the server of FIRELANE_TEST_DATABASE_URL';
    return {
      url: server.url,
      description: `PostgreSQL ${version}, ${where}; fsync ${fsync}, synchronous_commit ${synchronousCommit}, full_page_writes ${fullPageWrites}, shared_buffers ${sharedBuffers}`,
      synchronousCommit: synchronousCommit!,
      database: () => createDatabase(server.url),
      cpuMs: () => (postmaster === undefined ? undefined : serverCpuMs(postmaster)),
      pids: () => (postmaster === undefined ? [] : serverPids(postmaster)),
      stop: () => server.stop(),
    };
  } catch (error) {
    server.stop();
    return { missing: `the server did not answer: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Due or running jobs in a database, as the bench's idle checks read them (`waitForJobs`). */
export type DueJobs = (now: number) => Promise<number>;

const DUE_SQL = `SELECT count(*) AS n FROM jobs WHERE (status = 'queued' AND run_at <= $1) OR status = 'running'`;

export function pgDueJobs(pool: pg.Pool): DueJobs {
  return async (now) => Number((await pool.query<{ n: string }>(DUE_SQL, [now])).rows[0]!.n);
}

export function sqliteDueJobs(db: Database.Database): DueJobs {
  const statement = db.prepare(DUE_SQL.replace('$1', '?'));
  return (now) => Promise.resolve((statement.get(now) as { n: number }).n);
}

/** The due-jobs count of an in-process firelane, on whichever database it runs. */
export function dueJobsOf(firelane: Firelane): DueJobs {
  if (firelane.db) return sqliteDueJobs(firelane.db.sqlite);
  return pgDueJobs((firelane.store as PostgresStore).handle.pool);
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;

/**
 * The floor under every write: one single-row INSERT committed on its own, N times, on each database
 * as firelane opens it (SQLite: WAL, synchronous NORMAL, which does not fsync at commit; PostgreSQL:
 * the server's settings, which with synchronous_commit on wait for the WAL's fsync).
 */
export async function commitBaseline(
  sqlitePath: string,
  postgres: PostgresForBench,
  n = 200,
): Promise<{ sqlite: { p50: number; p99: number }; postgres?: { p50: number; p99: number } }> {
  const db = new Database(sqlitePath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO bench_commit (at) VALUES (?)');
  const lite: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t = performance.now();
    insert.run(Date.now());
    if (i >= 20) lite.push(performance.now() - t);
  }
  db.close();
  const result: Awaited<ReturnType<typeof commitBaseline>> = {
    sqlite: { p50: percentile(lite, 50), p99: percentile(lite, 99) },
  };
  if (!postgresAvailable(postgres)) return result;
  const database = await postgres.database();
  const client = new pg.Client({ connectionString: database.url });
  try {
    await client.connect();
    await client.query('CREATE TABLE bench_commit (id serial PRIMARY KEY, at bigint NOT NULL)');
    const times: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const t = performance.now();
      await client.query('INSERT INTO bench_commit (at) VALUES ($1)', [Date.now()]);
      if (i >= 20) times.push(performance.now() - t);
    }
    result.postgres = { p50: percentile(times, 50), p99: percentile(times, 99) };
  } finally {
    await client.end();
    await database.drop();
  }
  return result;
}
