// A throw-away PostgreSQL server for the tests: started once per test run (global-setup.ts), one fresh
// database per test file (freshDatabase). PostgreSQL refuses to run as root, so as root the server
// runs as the `postgres` user. FIRELANE_TEST_DATABASE_URL points the tests at a server of your own
// instead (its user must be allowed to create databases).
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

export const POSTGRES_INSTALL = 'apt-get install -y postgresql';

export interface PostgresServer {
  /** The server's maintenance database: create and drop test databases through it. */
  url: string;
  stop(): void;
}

function executable(name: string): string | undefined {
  // Debian keeps the server's programs out of PATH, under /usr/lib/postgresql/<version>/bin.
  const versions = (() => {
    try {
      return readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    } catch {
      return [];
    }
  })();
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...versions.map((v) => `/usr/lib/postgresql/${v}/bin`)];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Why no server can be started here, or undefined when one can. */
export function postgresMissing(): string | undefined {
  if (process.env.FIRELANE_TEST_DATABASE_URL) return undefined;
  const missing = ['initdb', 'pg_ctl'].filter((name) => !executable(name));
  if (missing.length > 0) return `${missing.join(' and ')} not found (install PostgreSQL: ${POSTGRES_INSTALL})`;
  if (process.getuid?.() === 0 && spawnSync('id', ['postgres']).status !== 0)
    return 'running as root and there is no postgres user to run the server as';
  return undefined;
}

export interface StartOptions {
  /**
   * PostgreSQL's own durability settings (fsync, synchronous_commit, full_page_writes on), as a
   * production server runs: the benchmarks. Default false: the tests' faster server without them.
   */
  durable?: boolean;
}

export async function startPostgres(options: StartOptions = {}): Promise<PostgresServer> {
  const given = process.env.FIRELANE_TEST_DATABASE_URL;
  if (given) return { url: given, stop: () => undefined };
  const initdb = executable('initdb')!;
  const pgCtl = executable('pg_ctl')!;
  const dir = mkdtempSync(join(tmpdir(), 'firelane-pg-'));
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString()) : undefined;
  const gid = asRoot ? Number(execFileSync('id', ['-g', 'postgres']).toString()) : undefined;
  if (uid !== undefined && gid !== undefined) chownSync(dir, uid, gid);
  const run = (file: string, args: string[]) => {
    const quoted = [file, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
    const result = asRoot
      ? spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', quoted], { encoding: 'utf8' })
      : spawnSync(file, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  };
  const port = await freePort();
  const data = join(dir, 'data');
  run(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  // Durability is not what the tests look at: fsync off makes the server several times faster here
  // (the benchmarks ask for a durable one).
  const fast = options.durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  const serverOptions = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1${fast} -c max_connections=300`;
  run(pgCtl, ['-D', data, '-o', serverOptions, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The database global-setup migrates once; each test's database is a copy of it. */
export const TEMPLATE_DATABASE = 'firelane_template';

/**
 * A new database on the server (a copy of `template` when given: migrated already, made in tens of
 * milliseconds); `drop` removes it, closing what is still connected.
 */
export async function createDatabase(
  serverUrl: string,
  template?: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
