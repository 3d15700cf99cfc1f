// The console's chat on PostgreSQL (console-store.ts in adapters/console says what is kept): every
// statement on the open transaction when the caller is inside one, else on the pool. Rooms and
// members are added with ON CONFLICT, so replicas adding the same one at once both succeed.
import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import type { ConsoleStore } from '../console/console-store.js';
import { toConsoleMessage, toStoredMessage } from '../console/console-store.js';
import type { PgHandle } from './database.js';
import { consoleMembers, consoleMessages, consoleRooms } from './schema.js';

// Kept in the body, like a file, so private answers need no column of their own in the schema.
const visibleTo = sql<string | null>`(${consoleMessages.body} ->> 'visibleTo')`;
const postKey = sql<string | null>`(${consoleMessages.body} ->> 'postKey')`;
/** Message ids are integers (serial): anything larger names no message. */
const MAX_ID = 2_147_483_647;

export function createPgConsoleStore(handle: PgHandle): ConsoleStore {
  const q = () => handle.executor();
  const ofRoom = (roomId: string, id: number) => and(eq(consoleMessages.id, id), eq(consoleMessages.roomId, roomId));
  return {
    async addRoom(id, at, topic) {
      const added = await q()
        .insert(consoleRooms)
        .values({ id, name: id, createdAt: at, ...(topic !== undefined && { topic }) })
        .onConflictDoNothing()
        .returning({ id: consoleRooms.id });
      return added.length === 1;
    },
    async room(id) {
      const [row] = await q().select().from(consoleRooms).where(eq(consoleRooms.id, id));
      return row;
    },
    async hasRoom(id) {
      const rows = await q().select({ id: consoleRooms.id }).from(consoleRooms).where(eq(consoleRooms.id, id));
      return rows.length > 0;
    },
    async setTopic(roomId, topic) {
      await q().update(consoleRooms).set({ topic }).where(eq(consoleRooms.id, roomId));
    },
    async addMembers(roomId, users) {
      if (users.length === 0) return;
      await q()
        .insert(consoleMembers)
        .values(users.map((user) => ({ roomId, user })))
        .onConflictDoNothing();
    },
    async addMessage(message) {
      const [row] = await q()
        .insert(consoleMessages)
        .values(toStoredMessage(message))
        .returning({ id: consoleMessages.id });
      return row!.id;
    },
    async messageWithKey(roomId, key) {
      const [row] = await q()
        .select({ id: consoleMessages.id })
        .from(consoleMessages)
        .where(and(eq(consoleMessages.roomId, roomId), eq(postKey, key)));
      return row?.id;
    },
    async updateMessage(roomId, id, body, at) {
      if (id > MAX_ID) return false;
      const updated = await q()
        .update(consoleMessages)
        .set({ body, updatedAt: at })
        .where(ofRoom(roomId, id))
        .returning({ id: consoleMessages.id });
      return updated.length > 0;
    },
    async pin(roomId, id) {
      if (id > MAX_ID) return;
      await q().update(consoleMessages).set({ pinned: true }).where(ofRoom(roomId, id));
    },
    async publicMessage(roomId, id) {
      if (id > MAX_ID) return undefined;
      const [row] = await q()
        .select()
        .from(consoleMessages)
        .where(and(ofRoom(roomId, id), isNull(visibleTo)));
      return row && toConsoleMessage(row);
    },
    async rooms() {
      return q().select().from(consoleRooms).orderBy(asc(consoleRooms.createdAt), asc(consoleRooms.id));
    },
    async members(roomId) {
      const rows = await q()
        .select({ user: consoleMembers.user })
        .from(consoleMembers)
        .where(eq(consoleMembers.roomId, roomId))
        .orderBy(asc(consoleMembers.user));
      return rows.map((m) => m.user);
    },
    async messages(roomId, viewer) {
      const readable = viewer === undefined ? isNull(visibleTo) : or(isNull(visibleTo), eq(visibleTo, viewer));
      const rows = await q()
        .select()
        .from(consoleMessages)
        .where(and(eq(consoleMessages.roomId, roomId), readable))
        .orderBy(asc(consoleMessages.id));
      return rows.map(toConsoleMessage);
    },
  };
}
