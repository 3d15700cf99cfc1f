// The Teams adapter's directory (adapters/teams/teams-directory.ts) on SQLite. Every statement goes
// through the store's gate, so none lands inside another caller's open transaction.
import { desc, eq } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import {
  conversationValues,
  toKnownConversation,
  toKnownUser,
  userValues,
  type TeamsDirectory,
  type TeamsDirectoryRecords,
} from '../teams/teams-directory.js';
import type { DbHandle } from './database.js';
import { teamsConversations, teamsUsers } from './schema.js';
import { gated, type SqliteGate } from './sqlite-gate.js';

function createTeamsRecords({ db }: DbHandle, clock: Clock): TeamsDirectoryRecords {
  return {
    rememberConversation(c) {
      const values = conversationValues(c, clock.now());
      db.insert(teamsConversations)
        .values({ id: c.id, ...values })
        .onConflictDoUpdate({ target: teamsConversations.id, set: values })
        .run();
    },
    conversation(id) {
      const row = db.select().from(teamsConversations).where(eq(teamsConversations.id, id)).get();
      return row && toKnownConversation(row);
    },
    rememberUser(u) {
      const values = userValues(u, clock.now());
      db.insert(teamsUsers)
        .values({ aadObjectId: u.aadObjectId, ...values })
        .onConflictDoUpdate({ target: teamsUsers.aadObjectId, set: values })
        .run();
    },
    setPersonalConversation(aadObjectId, conversationId) {
      db.update(teamsUsers)
        .set({ personalConversationId: conversationId, updatedAt: clock.now() })
        .where(eq(teamsUsers.aadObjectId, aadObjectId))
        .run();
    },
    user(aadObjectId) {
      const row = db.select().from(teamsUsers).where(eq(teamsUsers.aadObjectId, aadObjectId)).get();
      return row && toKnownUser(row);
    },
    latest() {
      const row = db.select().from(teamsConversations).orderBy(desc(teamsConversations.updatedAt)).limit(1).get();
      return row && toKnownConversation(row);
    },
  };
}

/** The Teams directory in this SQLite database, through `gate` (the store's: createSqliteStore(...).gate). */
export function createSqliteTeamsDirectory(handle: DbHandle, gate: SqliteGate, clock: Clock): TeamsDirectory {
  return gated(createTeamsRecords(handle, clock), gate);
}
