// The console's chat on SQLite (console-store.ts in adapters/console says what is kept). Every
// statement goes through the store's gate, so none lands inside another caller's open transaction.
import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import type { ConsoleRecords, ConsoleStore } from '../console/console-store.js';
import { toConsoleMessage, toStoredMessage } from '../console/console-store.js';
import type { DbHandle } from './database.js';
import { consoleMembers, consoleMessages, consoleRooms } from './schema.js';
import { gated, type SqliteGate } from './sqlite-gate.js';

// Kept in the body, like a file, so private answers need no column of their own in the schema.
const visibleTo = sql<string | null>`json_extract(${consoleMessages.body}, '$.visibleTo')`;
const postKey = sql<string | null>`json_extract(${consoleMessages.body}, '$.postKey')`;

function createConsoleRecords({ db }: DbHandle): ConsoleRecords {
  const ofRoom = (roomId: string, id: number) => and(eq(consoleMessages.id, id), eq(consoleMessages.roomId, roomId));
  return {
    addRoom(id, at, topic) {
      return (
        db
          .insert(consoleRooms)
          .values({ id, name: id, createdAt: at, ...(topic !== undefined && { topic }) })
          .onConflictDoNothing()
          .run().changes === 1
      );
    },
    room(id) {
      return db.select().from(consoleRooms).where(eq(consoleRooms.id, id)).get();
    },
    hasRoom(id) {
      return db.select({ id: consoleRooms.id }).from(consoleRooms).where(eq(consoleRooms.id, id)).get() !== undefined;
    },
    setTopic(roomId, topic) {
      db.update(consoleRooms).set({ topic }).where(eq(consoleRooms.id, roomId)).run();
    },
    addMembers(roomId, users) {
      for (const user of users) db.insert(consoleMembers).values({ roomId, user }).onConflictDoNothing().run();
    },
    addMessage(message) {
      return db.insert(consoleMessages).values(toStoredMessage(message)).returning({ id: consoleMessages.id }).get().id;
    },
    messageWithKey(roomId, key) {
      return db
        .select({ id: consoleMessages.id })
        .from(consoleMessages)
        .where(and(eq(consoleMessages.roomId, roomId), eq(postKey, key)))
        .get()?.id;
    },
    updateMessage(roomId, id, body, at) {
      return db.update(consoleMessages).set({ body, updatedAt: at }).where(ofRoom(roomId, id)).run().changes > 0;
    },
    pin(roomId, id) {
      db.update(consoleMessages).set({ pinned: true }).where(ofRoom(roomId, id)).run();
    },
    publicMessage(roomId, id) {
      const row = db
        .select()
        .from(consoleMessages)
        .where(and(ofRoom(roomId, id), isNull(visibleTo)))
        .get();
      return row && toConsoleMessage(row);
    },
    rooms() {
      return db.select().from(consoleRooms).orderBy(asc(consoleRooms.createdAt), asc(consoleRooms.id)).all();
    },
    members(roomId) {
      return db
        .select({ user: consoleMembers.user })
        .from(consoleMembers)
        .where(eq(consoleMembers.roomId, roomId))
        .orderBy(asc(consoleMembers.user))
        .all()
        .map((m) => m.user);
    },
    messages(roomId, viewer) {
      const readable = viewer === undefined ? isNull(visibleTo) : or(isNull(visibleTo), eq(visibleTo, viewer));
      return db
        .select()
        .from(consoleMessages)
        .where(and(eq(consoleMessages.roomId, roomId), readable))
        .orderBy(asc(consoleMessages.id))
        .all()
        .map(toConsoleMessage);
    },
  };
}

/** The console's chat in this SQLite database, through `gate` (the store's: createSqliteStore(...).gate). */
export function createSqliteConsoleStore(handle: DbHandle, gate: SqliteGate): ConsoleStore {
  return gated(createConsoleRecords(handle), gate);
}
