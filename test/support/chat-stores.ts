// The console's and Teams' storage on a store under test (stores.ts), on its database: SQLite through
// the store's gate, PostgreSQL through its handle.
import type { ConsoleStore } from '../../src/adapters/console/console-store.js';
import { createSqliteConsoleStore } from '../../src/adapters/db/console-store.js';
import { createSqliteTeamsDirectory } from '../../src/adapters/db/teams-directory.js';
import { createPgConsoleStore } from '../../src/adapters/postgres/console-store.js';
import { createPgTeamsDirectory } from '../../src/adapters/postgres/teams-directory.js';
import type { TeamsDirectory } from '../../src/adapters/teams/teams-directory.js';
import type { StoreUnderTest } from './stores.js';

export function consoleStoreOf(t: StoreUnderTest): ConsoleStore {
  return 'gate' in t.store
    ? createSqliteConsoleStore(t.sqliteHandle!, t.store.gate)
    : createPgConsoleStore(t.store.handle);
}

export function teamsDirectoryOf(t: StoreUnderTest): TeamsDirectory {
  return 'gate' in t.store
    ? createSqliteTeamsDirectory(t.sqliteHandle!, t.store.gate, t.clock)
    : createPgTeamsDirectory(t.store.handle, t.clock);
}

/**
 * A transaction another caller has open on the store, until `rollBack()`: that waits a moment (for
 * writes from outside to land, in it or after it), then ends it with an error and waits for the rollback.
 */
export async function openTransaction(t: StoreUnderTest): Promise<{ rollBack(): Promise<void> }> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const ended = t.store.transaction(async () => {
    entered();
    await held;
    throw new Error('rolled back');
  });
  ended.catch(() => undefined);
  await inside;
  return {
    async rollBack() {
      await new Promise((resolve) => setTimeout(resolve, 20));
      release();
      await ended.then(
        () => Promise.reject(new Error('the transaction committed')),
        () => undefined,
      );
    },
  };
}
