// What the local console keeps of its chat (rooms, members, messages), on SQLite (adapters/db) or
// PostgreSQL (adapters/postgres); console-chat.ts is the logic over it. Rows come back in the shapes
// below on both.
import type { Reply } from '../../ports/reply.js';
import type { Async } from '../../ports/store.js';

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

export interface ConsoleRoom {
  id: string;
  name: string;
  /** Neutral text, like a Slack channel topic. */
  topic: string | null;
  createdAt: number;
}

export type NewConsoleMessage = Pick<ConsoleMessage, 'roomId' | 'author' | 'body' | 'createdAt'>;

export interface ConsoleRecords {
  /**
   * Adds the room `id` (named `id`), with `topic` if given, unless a room has that id or name; true when this call
   * added it (the room and its topic in one statement).
   */
  addRoom(id: string, at: number, topic?: string): boolean;
  /** The room `id`, if there is one. */
  room(id: string): ConsoleRoom | undefined;
  hasRoom(id: string): boolean;
  setTopic(roomId: string, topic: string): void;
  /** Adds the users to the room; those already in it stay as they are. */
  addMembers(roomId: string, users: readonly string[]): void;
  /**
   * The new message's id. `postKey`: a job's post (ports/chat.ts PostOnce), kept in the row for messageWithKey and
   * not shown.
   */
  addMessage(message: NewConsoleMessage & { postKey?: string }): number;
  /** The id of the room's message added with this `postKey`, if there is one. */
  messageWithKey(roomId: string, postKey: string): number | undefined;
  /** false when the room has no message `id`. */
  updateMessage(roomId: string, id: number, body: ConsoleMessage['body'], at: number): boolean;
  pin(roomId: string, id: number): void;
  /** Message `id` of the room when everyone may read it (not a private answer). */
  publicMessage(roomId: string, id: number): ConsoleMessage | undefined;
  /** Oldest first; rooms created in the same millisecond by id. */
  rooms(): ConsoleRoom[];
  /** By name. */
  members(roomId: string): string[];
  /** A room's messages in the order they were written: everyone's, and `viewer`'s private answers. */
  messages(roomId: string, viewer?: string): ConsoleMessage[];
}

export type ConsoleStore = Async<ConsoleRecords>;

/**
 * The body as stored: the message's, and the key of a job's post (kept in the body, like a private answer's reader,
 * so it needs no column of its own).
 */
export type StoredBody = ConsoleMessage['body'] & { postKey?: string };

/** The row to store for a message (a job's post with its key). */
export const toStoredMessage = ({ postKey, ...message }: NewConsoleMessage & { postKey?: string }) => ({
  ...message,
  body: (postKey === undefined ? message.body : { ...message.body, postKey }) as StoredBody,
});

/** A stored message row as the console shows it (the body is stored as the JSON the console wrote; no post key). */
export const toConsoleMessage = (row: Omit<ConsoleMessage, 'body'> & { body: unknown }): ConsoleMessage => {
  const { postKey: _key, ...body } = row.body as StoredBody;
  return { ...row, body };
};
