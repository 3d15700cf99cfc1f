// Once per test run: builds dist/ (the process-level tests start `node dist/main.js` like production)
// and starts a throw-away PostgreSQL server for the tests that run on PostgreSQL (postgres.ts).
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { migratePostgres } from '../../src/adapters/postgres/database.js';
import { postgresMissing, startPostgres, TEMPLATE_DATABASE } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test server's maintenance database URL, or why there is none. */
    postgres: { url: string } | { missing: string };
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  // FIRELANE_TEST_BUILD=0: dist/ is left as it is (for running unit tests while the tree does not compile).
  if (process.env.FIRELANE_TEST_BUILD !== '0')
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      stdio: 'inherit',
    });
  const missing = postgresMissing();
  if (missing) {
    project.provide('postgres', { missing });
    return () => undefined;
  }
  const server = await startPostgres();
  try {
    await migrateTemplate(server.url);
  } catch (error) {
    server.stop();
    throw error;
  }
  project.provide('postgres', { url: server.url });
  return () => server.stop();
}

/** The migrated database every PostgreSQL test copies (CREATE DATABASE ... TEMPLATE). */
async function migrateTemplate(serverUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE}`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${TEMPLATE_DATABASE}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  try {
    await migratePostgres(pool);
  } finally {
    await pool.end();
  }
}
