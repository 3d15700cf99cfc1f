// Console sign-in's sessions and logins on SQLite (session-store.ts in adapters/console says what is
// kept): rows under the SHA-256 of their id, every statement through the store's gate.
import { and, desc, eq, gt, lte, notInArray } from 'drizzle-orm';
import type { SessionRecords, SessionStore } from '../console/session-store.js';
import { idHash, sessionRow, toStoredSession } from '../console/session-store.js';
import type { DbHandle } from './database.js';
import { consoleLogins, consoleSessions } from './schema.js';
import { gated, type SqliteGate } from './sqlite-gate.js';

function createSessionRecords({ db }: DbHandle): SessionRecords {
  return {
    addSession(id, session) {
      db.insert(consoleSessions).values(sessionRow(id, session)).run();
    },
    session(id, now) {
      const row = db
        .select()
        .from(consoleSessions)
        .where(and(eq(consoleSessions.idHash, idHash(id)), gt(consoleSessions.expiresAt, now)))
        .get();
      if (!row) return undefined;
      const { idHash: _hash, ...session } = row;
      return toStoredSession(session);
    },
    endSession(id) {
      db.delete(consoleSessions)
        .where(eq(consoleSessions.idHash, idHash(id)))
        .run();
    },
    pruneSessions(now, keep) {
      db.delete(consoleSessions).where(lte(consoleSessions.expiresAt, now)).run();
      const newest = db
        .select({ idHash: consoleSessions.idHash })
        .from(consoleSessions)
        .orderBy(desc(consoleSessions.expiresAt))
        .limit(keep);
      db.delete(consoleSessions).where(notInArray(consoleSessions.idHash, newest)).run();
    },
    addLogin(id, login) {
      db.insert(consoleLogins)
        .values({ idHash: idHash(id), ...login })
        .run();
    },
    takeLogin(id, now) {
      const row = db
        .delete(consoleLogins)
        .where(eq(consoleLogins.idHash, idHash(id)))
        .returning({
          verifier: consoleLogins.verifier,
          state: consoleLogins.state,
          nonce: consoleLogins.nonce,
          expiresAt: consoleLogins.expiresAt,
        })
        .get();
      return row && row.expiresAt > now ? row : undefined;
    },
    pruneLogins(now, keep) {
      db.delete(consoleLogins).where(lte(consoleLogins.expiresAt, now)).run();
      const newest = db
        .select({ idHash: consoleLogins.idHash })
        .from(consoleLogins)
        .orderBy(desc(consoleLogins.expiresAt))
        .limit(keep);
      db.delete(consoleLogins).where(notInArray(consoleLogins.idHash, newest)).run();
    },
  };
}

/** Console sign-in's sessions in this SQLite database, through `gate` (the store's: createSqliteStore(...).gate). */
export function createSqliteSessionStore(handle: DbHandle, gate: SqliteGate): SessionStore {
  return gated(createSessionRecords(handle), gate);
}
