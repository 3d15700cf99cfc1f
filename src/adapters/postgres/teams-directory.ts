// The Teams adapter's directory (adapters/teams/teams-directory.ts) on PostgreSQL: upserts (ON
// CONFLICT ... DO UPDATE), so replicas remembering the same conversation or user at once both succeed,
// the later write winning; every statement on the caller's open transaction when there is one.
import { desc, eq } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import {
  conversationValues,
  toKnownConversation,
  toKnownUser,
  userValues,
  type TeamsDirectory,
} from '../teams/teams-directory.js';
import type { PgHandle } from './database.js';
import { teamsConversations, teamsUsers } from './schema.js';

export function createPgTeamsDirectory(handle: PgHandle, clock: Clock): TeamsDirectory {
  const q = () => handle.executor();
  return {
    async rememberConversation(c) {
      const values = conversationValues(c, clock.now());
      await q()
        .insert(teamsConversations)
        .values({ id: c.id, ...values })
        .onConflictDoUpdate({ target: teamsConversations.id, set: values });
    },
    async conversation(id) {
      const [row] = await q().select().from(teamsConversations).where(eq(teamsConversations.id, id));
      return row && toKnownConversation(row);
    },
    async rememberUser(u) {
      const values = userValues(u, clock.now());
      await q()
        .insert(teamsUsers)
        .values({ aadObjectId: u.aadObjectId, ...values })
        .onConflictDoUpdate({ target: teamsUsers.aadObjectId, set: values });
    },
    async setPersonalConversation(aadObjectId, conversationId) {
      await q()
        .update(teamsUsers)
        .set({ personalConversationId: conversationId, updatedAt: clock.now() })
        .where(eq(teamsUsers.aadObjectId, aadObjectId));
    },
    async user(aadObjectId) {
      const [row] = await q().select().from(teamsUsers).where(eq(teamsUsers.aadObjectId, aadObjectId));
      return row && toKnownUser(row);
    },
    async latest() {
      const [row] = await q().select().from(teamsConversations).orderBy(desc(teamsConversations.updatedAt)).limit(1);
      return row && toKnownConversation(row);
    },
  };
}
