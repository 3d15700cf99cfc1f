// The ChatPort of the local console and the CLI: rooms and messages stored in SQLite.
import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import type { Reply } from '../../ports/reply.js';
import { RoomNameTaken, type ChatPort } from '../../ports/chat.js';
import type { Clock } from '../../ports/clock.js';
import type { DbHandle } from '../db/database.js';
import { consoleMembers, consoleMessages, consoleRooms } from '../db/schema.js';

export const CONSOLE_ANNOUNCE_ROOM = 'incidents';
export const CONSOLE_ESCALATION_ROOM = 'escalations';

/** A file shared in a console room (a postmortem): kept whole, so the console can show or offer it. */
export interface ConsoleFile {
  filename: string;
  title: string;
  content: string;
}

export interface ConsoleMessage {
  id: number;
  roomId: string;
  author: string;
  /** The neutral reply; a shared file also carries the file, a private answer the one person who sees it. */
  body: Reply & { file?: ConsoleFile; visibleTo?: string };
  pinned: boolean;
  createdAt: number;
  updatedAt: number | null;
}

export function createConsoleChat(
  { db }: DbHandle,
  clock: Clock,
  options: { announceRoom?: string; escalationRoom?: string; onChange?: (roomId: string) => void } = {},
) {
  const announceRoom = options.announceRoom ?? CONSOLE_ANNOUNCE_ROOM;
  const escalationRoom = options.escalationRoom ?? CONSOLE_ESCALATION_ROOM;
  const changed = (roomId: string) => options.onChange?.(roomId);
  // Kept in the body, like a file, so private answers need no column of their own in the schema.
  const visibleTo = sql<string | null>`json_extract(${consoleMessages.body}, '$.visibleTo')`;

  function ensureRoom(id: string): void {
    db.insert(consoleRooms).values({ id, name: id, createdAt: clock.now() }).onConflictDoNothing().run();
  }
  ensureRoom(announceRoom);
  ensureRoom(escalationRoom);

  const chat: ChatPort = {
    announceRoom,
    escalationRoom,
    async setTopic(roomId, topic) {
      ensureRoom(roomId);
      db.update(consoleRooms).set({ topic }).where(eq(consoleRooms.id, roomId)).run();
      changed(roomId);
    },
    async createRoom(name) {
      const inserted = db
        .insert(consoleRooms)
        .values({ id: name, name, createdAt: clock.now() })
        .onConflictDoNothing()
        .run();
      if (inserted.changes === 0) throw new RoomNameTaken(name);
      changed(name);
      return { id: name, name };
    },
    async invite(roomId, userIds) {
      for (const user of userIds) db.insert(consoleMembers).values({ roomId, user }).onConflictDoNothing().run();
      return { failed: [] };
    },
    async post(roomId, message) {
      ensureRoom(roomId);
      const row = db
        .insert(consoleMessages)
        .values({ roomId, author: 'firelane', body: message, createdAt: clock.now() })
        .returning()
        .get();
      changed(roomId);
      return String(row.id);
    },
    async update(roomId, messageId, message) {
      const result = db
        .update(consoleMessages)
        .set({ body: message, updatedAt: clock.now() })
        .where(and(eq(consoleMessages.id, Number(messageId)), eq(consoleMessages.roomId, roomId)))
        .run();
      if (result.changes === 0) throw new Error(`console message ${messageId} not found in ${roomId}`);
      changed(roomId);
    },
    async pin(roomId, messageId) {
      db.update(consoleMessages)
        .set({ pinned: true })
        .where(and(eq(consoleMessages.id, Number(messageId)), eq(consoleMessages.roomId, roomId)))
        .run();
      changed(roomId);
    },
    async readMessage(roomId, messageId) {
      const row = db
        .select()
        .from(consoleMessages)
        .where(and(eq(consoleMessages.id, Number(messageId)), eq(consoleMessages.roomId, roomId), isNull(visibleTo)))
        .get();
      return row && { text: (row.body as Reply).text, author: row.author };
    },
    async uploadFile(roomId, file) {
      ensureRoom(roomId);
      const body: ConsoleMessage['body'] = { visibility: 'channel', text: `📄 ${file.filename}`, file };
      const row = db
        .insert(consoleMessages)
        .values({ roomId, author: 'firelane', body, createdAt: clock.now() })
        .returning()
        .get();
      changed(roomId);
      return String(row.id);
    },
  };

  return {
    chat,
    /** A line someone typed in the console, shown in the room under their name. */
    say(roomId: string, author: string, text: string): void {
      ensureRoom(roomId);
      db.insert(consoleMessages)
        .values({ roomId, author, body: { visibility: 'channel', text }, createdAt: clock.now() })
        .run();
      changed(roomId);
    },
    /**
     * firelane's answer to `user` alone (Slack's ephemeral message), kept in the room among the
     * others, so that it stays where it happened, also after a reload.
     */
    tell(roomId: string, user: string, reply: Reply): void {
      // Unlike a post, a private answer opens no room: outside one, it is only in the command's response.
      if (!db.select({ id: consoleRooms.id }).from(consoleRooms).where(eq(consoleRooms.id, roomId)).get()) return;
      const body: ConsoleMessage['body'] = { ...reply, visibleTo: user };
      db.insert(consoleMessages).values({ roomId, author: 'firelane', body, createdAt: clock.now() }).run();
      changed(roomId);
    },
    rooms: () => db.select().from(consoleRooms).orderBy(asc(consoleRooms.createdAt)).all(),
    members: (roomId: string) =>
      db
        .select({ user: consoleMembers.user })
        .from(consoleMembers)
        .where(eq(consoleMembers.roomId, roomId))
        .all()
        .map((m) => m.user),
    /** A room's messages in the order they were written: everyone's, and `viewer`'s private answers. */
    messages: (roomId: string, viewer?: string): ConsoleMessage[] => {
      const readable = viewer === undefined ? isNull(visibleTo) : or(isNull(visibleTo), eq(visibleTo, viewer));
      return db
        .select()
        .from(consoleMessages)
        .where(and(eq(consoleMessages.roomId, roomId), readable))
        .orderBy(asc(consoleMessages.id))
        .all() as ConsoleMessage[];
    },
  };
}
export type ConsoleChat = ReturnType<typeof createConsoleChat>;
