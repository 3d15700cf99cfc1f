// What firelane needs from a chat platform (Slack, Teams, the local console).
import type { Reply } from './reply.js';

export interface RoomRef {
  id: string;
  name: string;
}

/** Thrown by createRoom when the name is in use; the caller picks another. */
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
   * as a thread of that channel; Slack and the console ignore it).
   */
  createRoom(name: string, options?: { origin?: string }): Promise<RoomRef>;
  invite(roomId: string, userIds: string[]): Promise<InviteResult>;
  /** Returns the message id (Slack: ts). */
  post(roomId: string, message: Reply): Promise<string>;
  update(roomId: string, messageId: string, message: Reply): Promise<void>;
  /** Pinning a pinned message is fine. */
  pin(roomId: string, messageId: string): Promise<void>;
  /** A message of the conversation as neutral text, or undefined when it is gone. */
  readMessage(roomId: string, messageId: string): Promise<{ text: string; author: string } | undefined>;
  /** Shares a text file in the conversation; returns the file's id. DeliveryRefused when the conversation takes nothing. */
  uploadFile(roomId: string, file: { filename: string; title: string; content: string }): Promise<string>;
}
