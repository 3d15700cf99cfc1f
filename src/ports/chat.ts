// What firelane needs from a chat platform (Slack, Teams, the local console).
import type { Reply } from './reply.js';

export interface RoomRef {
  id: string;
  name: string;
}

/**
 * The incident a war room is made for. A platform keeps it with the room (Slack: in the channel's purpose; the
 * console: as the room's first topic; Teams: in firelane's record of the thread), so that a creation repeated after
 * its answer was lost finds the room it made instead of opening a second.
 */
export interface RoomOwner {
  /** The incident's key: `INC-7`. */
  key: string;
  /**
   * When it was declared (epoch ms): tells it from an incident with the same key elsewhere (another installation on
   * the same workspace, a database started over), and no room created before it can be its.
   */
  declaredAt: number;
}

/**
 * The mark of the incident's war room, as people read it: `War room of INC-7, declared 2026-12-07 13:51:07 UTC`.
 * A room is the incident's when its mark contains this (people may add to it).
 */
export const roomMark = (owner: RoomOwner): string =>
  `War room of ${owner.key}, declared ${new Date(owner.declaredAt).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

/** Thrown by createRoom when the name is in use (by a room not provably this incident's); the caller picks another. */
export class RoomNameTaken extends Error {
  constructor(readonly roomName: string) {
    super(`a room named ${roomName} exists`);
  }
}

/** The platform will not deliver to this conversation (bot not a member, archived, gone): retrying cannot help. */
export class DeliveryRefused extends Error {
  constructor(
    readonly roomId: string,
    readonly reason: string,
  ) {
    super(`cannot post in ${roomId}: ${reason}`);
  }
}

/**
 * Makes a post findable again, so that a repeat of it whose first answer was lost (the process died after the
 * platform posted it, a reset connection, a 500 from a gateway) returns the message already posted instead of posting
 * a second. The outbox worker gives one to every step of a job (jobs/worker.ts).
 */
export interface PostOnce {
  /** Names this one post for good: the job's key and creation time, and its step. Never the same for two posts. */
  key: string;
  /**
   * An earlier try may have posted it: look for it first. False on a job's first run, which then costs no more than
   * a post without a key.
   */
  retried: boolean;
}

export interface InviteResult {
  /** Users that could not be invited and why (unknown user, deactivated, ...). */
  failed: Array<{ userId: string; reason: string }>;
}

export interface ChatPort {
  /** Where declarations and resolutions are announced, if anywhere. */
  readonly announceRoom: string | undefined;
  /** Where missed updates escalate, if anywhere. */
  readonly escalationRoom: string | undefined;
  /** The conversation's topic (neutral text; platforms without topics may keep it elsewhere). */
  setTopic(roomId: string, topic: string): Promise<void>;
  /**
   * A new conversation for an incident. `origin`: where it was declared (Teams opens the war room
   * as a thread of that channel; Slack and the console ignore it). `incident`: whose room it is; the
   * room is marked with it, and when this incident's room exists already (made by an earlier call
   * whose answer was lost: a crash, a reset connection), that room is returned instead of a new one.
   * Only a room the platform can prove is this incident's is returned; any other room of that name
   * throws RoomNameTaken, as without `incident`.
   */
  createRoom(name: string, options?: { origin?: string; incident?: RoomOwner }): Promise<RoomRef>;
  invite(roomId: string, userIds: string[]): Promise<InviteResult>;
  /**
   * Returns the message id (Slack: ts). `once`: the post carries its key, and when `once.retried`, the message of an
   * earlier try with that key is returned if the platform shows it (Slack and the console do; Teams cannot read its
   * channels without Graph, so there a repeat still posts again).
   */
  post(roomId: string, message: Reply, options?: { once?: PostOnce }): Promise<string>;
  update(roomId: string, messageId: string, message: Reply): Promise<void>;
  /** Pinning a pinned message is fine. */
  pin(roomId: string, messageId: string): Promise<void>;
  /** A message of the conversation as neutral text, or undefined when it is gone. */
  readMessage(roomId: string, messageId: string): Promise<{ text: string; author: string } | undefined>;
  /** Shares a text file in the conversation; returns the file's id. DeliveryRefused when the conversation takes nothing. */
  uploadFile(roomId: string, file: { filename: string; title: string; content: string }): Promise<string>;
}
