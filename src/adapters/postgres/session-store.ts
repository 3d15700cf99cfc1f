// Console sign-in's sessions and logins on PostgreSQL (session-store.ts in adapters/console says what
// is kept): rows under the SHA-256 of their id, shared by every replica on the database. A login is
// taken with DELETE ... RETURNING, so of two replicas handed the same callback only one gets it.
import { and, desc, eq, gt, lte, notInArray } from 'drizzle-orm';
import type { SessionStore } from '../console/session-store.js';
import { idHash, sessionRow, toStoredSession } from '../console/session-store.js';
import type { PgHandle } from './database.js';
import { consoleLogins, consoleSessions } from './schema.js';

export function createPgSessionStore(handle: PgHandle): SessionStore {
  const q = () => handle.executor();
  return {
    async addSession(id, session) {
      await q().insert(consoleSessions).values(sessionRow(id, session));
    },
    async session(id, now) {
      const [row] = await q()
        .select()
        .from(consoleSessions)
        .where(and(eq(consoleSessions.idHash, idHash(id)), gt(consoleSessions.expiresAt, now)));
      if (!row) return undefined;
      const { idHash: _hash, ...session } = row;
      return toStoredSession(session);
    },
    async endSession(id) {
      await q()
        .delete(consoleSessions)
        .where(eq(consoleSessions.idHash, idHash(id)));
    },
    async pruneSessions(now, keep) {
      await q().delete(consoleSessions).where(lte(consoleSessions.expiresAt, now));
      const newest = q()
        .select({ idHash: consoleSessions.idHash })
        .from(consoleSessions)
        .orderBy(desc(consoleSessions.expiresAt))
        .limit(keep);
      await q().delete(consoleSessions).where(notInArray(consoleSessions.idHash, newest));
    },
    async addLogin(id, login) {
      await q()
        .insert(consoleLogins)
        .values({ idHash: idHash(id), ...login });
    },
    async takeLogin(id, now) {
      const [row] = await q()
        .delete(consoleLogins)
        .where(eq(consoleLogins.idHash, idHash(id)))
        .returning({
          verifier: consoleLogins.verifier,
          state: consoleLogins.state,
          nonce: consoleLogins.nonce,
          expiresAt: consoleLogins.expiresAt,
        });
      return row && row.expiresAt > now ? row : undefined;
    },
    async pruneLogins(now, keep) {
      await q().delete(consoleLogins).where(lte(consoleLogins.expiresAt, now));
      const newest = q()
        .select({ idHash: consoleLogins.idHash })
        .from(consoleLogins)
        .orderBy(desc(consoleLogins.expiresAt))
        .limit(keep);
      await q().delete(consoleLogins).where(notInArray(consoleLogins.idHash, newest));
    },
  };
}
