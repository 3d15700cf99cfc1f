// What the Teams adapter remembers in the database (SQLite: adapters/db, PostgreSQL:
// adapters/postgres): the conversation references it has seen (to post proactively later: service
// URL, tenant, conversation) and the users (names for mentions, the Teams id a personal chat is
// opened with). The row mappers and written values below are both databases'.
import { MENTION_TOKEN, type Reply } from '../../ports/reply.js';
import type { Async } from '../../ports/store.js';
import type { NameOf } from './render.js';

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

export interface TeamsDirectoryRecords {
  rememberConversation(conversation: KnownConversation): void;
  conversation(id: string): KnownConversation | undefined;
  rememberUser(user: Omit<KnownUser, 'personalConversationId'>): void;
  setPersonalConversation(aadObjectId: string, conversationId: string): void;
  user(aadObjectId: string): KnownUser | undefined;
  /** The most recently seen reference: its service URL and tenant serve conversations only configured by id. */
  latest(): KnownConversation | undefined;
}

export type TeamsDirectory = Async<TeamsDirectoryRecords>;

/** A teams_conversations row, on either database. */
export interface ConversationRow {
  id: string;
  kind: string;
  channelId: string | null;
  teamId: string | null;
  reference: unknown;
  updatedAt: number;
}

export const toKnownConversation = (row: ConversationRow): KnownConversation => ({
  id: row.id,
  kind: row.kind as KnownConversation['kind'],
  channelId: row.channelId,
  teamId: row.teamId,
  reference: row.reference as StoredReference,
});

export const toKnownUser = (row: KnownUser): KnownUser => ({
  aadObjectId: row.aadObjectId,
  teamsId: row.teamsId,
  name: row.name,
  tenantId: row.tenantId,
  personalConversationId: row.personalConversationId,
});

/** What remembering a conversation writes (inserted with its id, or over the row with that id). */
export const conversationValues = (c: KnownConversation, now: number) => ({
  kind: c.kind,
  channelId: c.channelId,
  teamId: c.teamId,
  reference: c.reference as Record<string, unknown>,
  updatedAt: now,
});

/** What remembering a user writes (inserted with the AAD object id, or over the row with it); a known personal chat stays. */
export const userValues = (u: Omit<KnownUser, 'personalConversationId'>, now: number) => ({
  teamsId: u.teamsId,
  name: u.name,
  tenantId: u.tenantId,
  updatedAt: now,
});

/**
 * The names of the users `reply` mentions, looked up before rendering it (rendering is synchronous):
 * a mention of someone firelane has not seen in Teams stays plain text.
 */
export async function namesFor(directory: TeamsDirectory, reply: Reply): Promise<NameOf> {
  const card = reply.card;
  const texts = [
    reply.text,
    card?.title,
    card?.text,
    card?.footer,
    ...(card?.fields ?? []).flatMap((f) => [f.label, f.value]),
  ];
  const ids = new Set(texts.flatMap((text) => [...(text ?? '').matchAll(MENTION_TOKEN)].map((m) => m[1]!)));
  const names = new Map<string, string>();
  await Promise.all(
    [...ids].map(async (id) => {
      const name = (await directory.user(id))?.name;
      if (name) names.set(id, name);
    }),
  );
  return (id) => names.get(id);
}
