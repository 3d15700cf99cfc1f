// For a test file that runs on PostgreSQL: the test server started by global-setup.ts, or undefined
// (the file skips, saying why) when this machine has none. Under CI a missing server fails the file
// instead of skipping it.
import { inject } from 'vitest';
import { unavailable } from './require-tool.js';
import { createDatabase, POSTGRES_INSTALL } from './postgres-server.js';

/** The server's maintenance URL; undefined after printing why there is none (CI: throws). */
export function postgresServer(): string | undefined {
  const server = inject('postgres');
  if ('url' in server) return server.url;
  return unavailable(`No PostgreSQL server for the tests: ${server.missing}`, POSTGRES_INSTALL);
}

export { createDatabase };
