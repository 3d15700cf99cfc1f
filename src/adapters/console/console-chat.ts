// The ChatPort of the local console and the CLI: rooms and messages kept in the database
// (console-store.ts: SQLite or PostgreSQL), and what the web console reads and writes besides.
import { MAX_ROOM_NAME } from '../../domain/incident.js';
import type { Reply } from '../../ports/reply.js';
import { RoomNameTaken, roomMark, type ChatPort } from '../../ports/chat.js';
import type { Clock } from '../../ports/clock.js';
import type { ConsoleMessage, ConsoleRoom, ConsoleStore } from './console-store.js';

export const CONSOLE_ANNOUNCE_ROOM = 'incidents';
export const CONSOLE_ESCALATION_ROOM = 'escalations';

/** A message id as the ChatPort hands it back (the stored id as text); anything else names no message. */
const toId = (messageId: string): number | undefined => {
  const id = Number(messageId);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
};

export function createConsoleChat(
  store: ConsoleStore,
  clock: Clock,
  options: { announceRoom?: string; escalationRoom?: string; onChange?: (roomId: string) => void } = {},
) {
  const announceRoom = options.announceRoom ?? CONSOLE_ANNOUNCE_ROOM;
  const escalationRoom = options.escalationRoom ?? CONSOLE_ESCALATION_ROOM;
  const changed = (roomId: string) => options.onChange?.(roomId);
  const ensureRoom = async (id: string) => {
    await store.addRoom(id, clock.now());
  };

  // The announcement and escalation rooms exist from the start (on SQLite at once, through the gate).
  // Every call waits for them; a failure is the first caller's to see, and the next call tries again.
  let opened: Promise<void> | undefined;
  const ready = () =>
    (opened ??= Promise.all([announceRoom, escalationRoom].map(ensureRoom)).then(
      () => undefined,
      (error: unknown) => {
        opened = undefined;
        throw error;
      },
    ));
  ready().catch(() => undefined);

  /** The shared rooms first among rooms of the same millisecond (they are made together, at the start). */
  const rank = (room: ConsoleRoom) => (room.id === announceRoom ? 0 : room.id === escalationRoom ? 1 : 2);

  const chat: ChatPort = {
    announceRoom,
    escalationRoom,
    async setTopic(roomId, topic) {
      await ready();
      await ensureRoom(roomId);
      await store.setTopic(roomId, topic);
      changed(roomId);
    },
    async createRoom(name, createOptions) {
      await ready();
      // An incident's room is made with its mark as the topic, in the same statement, so a room of that name
      // carrying the mark is the one an earlier try made (the process died before the job recorded it). People can
      // open rooms of any name by posting in them: those have no mark and only make the job take the next name.
      // The topic job replaces the mark with the incident's topic once the room is recorded.
      const mark = createOptions?.incident && roomMark(createOptions.incident);
      if (!(await store.addRoom(name, clock.now(), mark))) {
        const existing = mark === undefined ? undefined : await store.room(name);
        if (mark === undefined || !existing?.topic?.includes(mark)) throw new RoomNameTaken(name);
        return { id: name, name };
      }
      changed(name);
      return { id: name, name };
    },
    async invite(roomId, userIds) {
      await ready();
      await store.addMembers(roomId, userIds);
      return { failed: [] };
    },
    async post(roomId, message, postOptions) {
      await ready();
      await ensureRoom(roomId);
      // A message and its key are written together: a retry whose earlier try wrote it (the process died before the
      // job recorded the id) finds it. The first try of a job does not look.
      const once = postOptions?.once;
      const posted = once?.retried ? await store.messageWithKey(roomId, once.key) : undefined;
      if (posted !== undefined) return String(posted);
      const id = await store.addMessage({
        roomId,
        author: 'firelane',
        body: message,
        createdAt: clock.now(),
        ...(once && { postKey: once.key }),
      });
      changed(roomId);
      return String(id);
    },
    async update(roomId, messageId, message) {
      await ready();
      const id = toId(messageId);
      const updated = id !== undefined && (await store.updateMessage(roomId, id, message, clock.now()));
      if (!updated) throw new Error(`console message ${messageId} not found in ${roomId}`);
      changed(roomId);
    },
    async pin(roomId, messageId) {
      await ready();
      const id = toId(messageId);
      if (id !== undefined) await store.pin(roomId, id);
      changed(roomId);
    },
    async readMessage(roomId, messageId) {
      await ready();
      const id = toId(messageId);
      const message = id === undefined ? undefined : await store.publicMessage(roomId, id);
      return message && { text: message.body.text, author: message.author };
    },
    async uploadFile(roomId, file) {
      await ready();
      await ensureRoom(roomId);
      const body: ConsoleMessage['body'] = { visibility: 'channel', text: `📄 ${file.filename}`, file };
      const id = await store.addMessage({ roomId, author: 'firelane', body, createdAt: clock.now() });
      changed(roomId);
      return String(id);
    },
  };

  return {
    chat,
    /** A line someone typed in the console, shown in the room under their name. */
    async say(roomId: string, author: string, text: string): Promise<void> {
      await ready();
      await ensureRoom(roomId);
      await store.addMessage({ roomId, author, body: { visibility: 'channel', text }, createdAt: clock.now() });
      changed(roomId);
    },
    /**
     * firelane's answer to `user` alone (Slack's ephemeral message), kept in the room among the
     * others, so that it stays where it happened, also after a reload.
     */
    async tell(roomId: string, user: string, reply: Reply): Promise<void> {
      await ready();
      // Unlike a post, a private answer opens no room: outside one, it is only in the command's response.
      if (!(await store.hasRoom(roomId))) return;
      const body: ConsoleMessage['body'] = { ...reply, visibleTo: user };
      await store.addMessage({ roomId, author: 'firelane', body, createdAt: clock.now() });
      changed(roomId);
    },
    /**
     * Whether `roomId` names a room firelane made (a war room, a deploy card's room, one it posted in)
     * or the console's own (announcements, escalations). People choose among these; typing in any other
     * would open it (a post opens the room it goes to).
     */
    async isRoom(roomId: string): Promise<boolean> {
      if (roomId === announceRoom || roomId === escalationRoom) return true;
      if (roomId.length > MAX_ROOM_NAME) return false;
      await ready();
      return await store.hasRoom(roomId);
    },
    /** Oldest first. */
    async rooms(): Promise<ConsoleRoom[]> {
      await ready();
      return (await store.rooms()).sort((a, b) => a.createdAt - b.createdAt || rank(a) - rank(b));
    },
    async members(roomId: string): Promise<string[]> {
      await ready();
      return store.members(roomId);
    },
    /** A room's messages in the order they were written: everyone's, and `viewer`'s private answers. */
    async messages(roomId: string, viewer?: string): Promise<ConsoleMessage[]> {
      await ready();
      return store.messages(roomId, viewer);
    },
  };
}
export type ConsoleChat = ReturnType<typeof createConsoleChat>;
