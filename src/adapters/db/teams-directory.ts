// What the Teams adapter (adapters/teams) remembers in SQLite: the conversation references it has seen (to post
// proactively later: service URL, tenant, conversation) and the users (names for mentions, the
// Teams id a personal chat is opened with).
import { desc, eq } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import type { DbHandle } from './database.js';
import { teamsConversations, teamsUsers } from './schema.js';

/** A Bot Framework conversation reference as stored: the wire shape (`bot`, as botbuilder wrote it; adapters/teams converts it for the Agents SDK). */
export interface StoredReference {
  serviceUrl?: string;
  channelId?: string;
  bot?: { id: string; name?: string };
  user?: { id: string; name?: string; aadObjectId?: string };
  conversation?: { id: string; tenantId?: string; conversationType?: string; isGroup?: boolean; name?: string };
  activityId?: string;
  locale?: string;
  [key: string]: unknown;
}

export interface KnownConversation {
  id: string;
  kind: 'personal' | 'channel' | 'groupChat';
  channelId: string | null;
  teamId: string | null;
  reference: StoredReference;
}

export interface KnownUser {
  aadObjectId: string;
  teamsId: string;
  name: string | null;
  tenantId: string | null;
  personalConversationId: string | null;
}

export interface TeamsDirectory {
  rememberConversation(conversation: KnownConversation): void;
  conversation(id: string): KnownConversation | undefined;
  rememberUser(user: Omit<KnownUser, 'personalConversationId'>): void;
  setPersonalConversation(aadObjectId: string, conversationId: string): void;
  user(aadObjectId: string): KnownUser | undefined;
  /** The most recently seen reference: its service URL and tenant serve conversations only configured by id. */
  latest(): KnownConversation | undefined;
}

export function createTeamsDirectory({ db }: DbHandle, clock: Clock): TeamsDirectory {
  const toConversation = (row: typeof teamsConversations.$inferSelect): KnownConversation => ({
    id: row.id,
    kind: row.kind as KnownConversation['kind'],
    channelId: row.channelId,
    teamId: row.teamId,
    reference: row.reference as StoredReference,
  });
  return {
    rememberConversation(c) {
      const values = {
        kind: c.kind,
        channelId: c.channelId,
        teamId: c.teamId,
        reference: c.reference as Record<string, unknown>,
        updatedAt: clock.now(),
      };
      db.insert(teamsConversations)
        .values({ id: c.id, ...values })
        .onConflictDoUpdate({ target: teamsConversations.id, set: values })
        .run();
    },
    conversation(id) {
      const row = db.select().from(teamsConversations).where(eq(teamsConversations.id, id)).get();
      return row && toConversation(row);
    },
    rememberUser(u) {
      const values = { teamsId: u.teamsId, name: u.name, tenantId: u.tenantId, updatedAt: clock.now() };
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
      return (
        row && {
          aadObjectId: row.aadObjectId,
          teamsId: row.teamsId,
          name: row.name,
          tenantId: row.tenantId,
          personalConversationId: row.personalConversationId,
        }
      );
    },
    latest() {
      const row = db.select().from(teamsConversations).orderBy(desc(teamsConversations.updatedAt)).limit(1).get();
      return row && toConversation(row);
    },
  };
}
