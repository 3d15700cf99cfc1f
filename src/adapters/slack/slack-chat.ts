// The ChatPort on Slack's Web API. Slack's error codes become firelane's errors here.
import type { WebClient } from '@slack/web-api';
import type { InviteResult, ChatPort, RoomRef } from '../../ports/chat.js';
import { DeliveryRefused, RoomNameTaken } from '../../ports/chat.js';
import type { Reply } from '../../ports/reply.js';
import type { Metrics } from '../../metrics.js';
import { renderSlack, toTopic } from './render.js';
import { FirelaneError, type ErrorCode } from '../../errors.js';
import { fromSlackText } from './to-command.js';

/** Errors that mean Slack will not deliver to that channel, however often we retry. */
const UNDELIVERABLE = new Set([
  'not_in_channel',
  'channel_not_found',
  'is_archived',
  'restricted_action',
  'method_not_supported_for_channel_type',
  'missing_scope',
]);

/** Errors about a single user in an invite: skip that user, invite the others. */
const PER_USER_INVITE_ERRORS = new Set([
  'user_not_found',
  'user_is_restricted',
  'user_is_ultra_restricted',
  'cant_invite',
  'user_disabled',
  'invalid_users',
  'cant_invite_self',
]);

/** Slack's answers that are not outages: a retry gets the same answer. */
const ANSWERS: Record<string, ErrorCode> = {
  name_taken: 'conflict',
  already_in_channel: 'conflict',
  already_pinned: 'conflict',
  channel_not_found: 'not_found',
  user_not_found: 'not_found',
  message_not_found: 'not_found',
  not_in_channel: 'forbidden',
  is_archived: 'forbidden',
  restricted_action: 'forbidden',
  missing_scope: 'forbidden',
  method_not_supported_for_channel_type: 'forbidden',
};

/** The Slack code of an error this adapter threw (`name_taken`), if it is one. */
const slackReason = (error: unknown) => (error instanceof FirelaneError ? (error.reason ?? '') : '');

/** The Slack error code (`name_taken`), or the HTTP/rate-limit code of the WebClient error. */
export function slackErrorCode(error: unknown): string {
  const e = error as { code?: string; data?: { error?: string }; statusCode?: number };
  if (e?.code === 'slack_webapi_platform_error') return e.data?.error ?? 'unknown_error';
  if (e?.code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  if (e?.code === 'slack_webapi_http_error') return `http_${e.statusCode ?? 'error'}`;
  return e?.code ?? 'request_error';
}

export function createSlackChat(options: {
  client: WebClient;
  announceChannel?: string;
  escalationChannel?: string;
  botUserId: string;
  metrics?: Metrics;
}): ChatPort {
  const { client, botUserId, metrics } = options;

  /** Calls Slack; rate limits carry Retry-After into the job's backoff; every failure is counted. */
  async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const code = slackErrorCode(error);
      metrics?.upstreamErrors.inc({ service: 'slack', status: code });
      const retryAfter = (error as { retryAfter?: number }).retryAfter;
      throw new FirelaneError(ANSWERS[code] ?? 'upstream', `Slack ${method} failed: ${code}`, {
        reason: code,
        ...(typeof retryAfter === 'number' && { retryAfterMs: retryAfter * 1000 }),
      });
    }
  }

  async function inviteAll(channel: string, users: string[]): Promise<InviteResult> {
    try {
      await call('conversations.invite', () => client.conversations.invite({ channel, users: users.join(',') }));
      return { failed: [] };
    } catch (error) {
      const code = slackReason(error);
      if (code === 'already_in_channel') return { failed: [] };
      if (!PER_USER_INVITE_ERRORS.has(code) || users.length === 1) {
        if (users.length === 1 && PER_USER_INVITE_ERRORS.has(code))
          return { failed: [{ userId: users[0]!, reason: code }] };
        throw error;
      }
      // One bad user fails the whole call: invite one by one to seat everyone else.
      const failed: InviteResult['failed'] = [];
      for (const user of users) failed.push(...(await inviteAll(channel, [user])).failed);
      return { failed };
    }
  }

  return {
    announceRoom: options.announceChannel,
    escalationRoom: options.escalationChannel,
    async setTopic(roomId, topic) {
      await call('conversations.setTopic', () =>
        client.conversations.setTopic({ channel: roomId, topic: toTopic(topic) }),
      );
    },
    async createRoom(name): Promise<RoomRef> {
      try {
        const result = await call('conversations.create', () =>
          client.conversations.create({ name, is_private: false }),
        );
        return { id: result.channel!.id!, name: result.channel!.name ?? name };
      } catch (error) {
        if (slackReason(error) === 'name_taken') throw new RoomNameTaken(name);
        throw error;
      }
    },
    async invite(roomId, userIds) {
      const users = [...new Set(userIds)].filter((u) => u !== botUserId);
      return users.length ? inviteAll(roomId, users) : { failed: [] };
    },
    async post(roomId, message: Reply) {
      const send = () =>
        call('chat.postMessage', () => client.chat.postMessage({ channel: roomId, ...renderSlack(message) }));
      try {
        return (await send()).ts!;
      } catch (error) {
        const code = slackReason(error);
        if (code !== 'not_in_channel') throw UNDELIVERABLE.has(code) ? new DeliveryRefused(roomId, code) : error;
      }
      // Not a member (e.g. the announcement channel): join a public channel once, then post.
      try {
        await call('conversations.join', () => client.conversations.join({ channel: roomId }));
        return (await send()).ts!;
      } catch (error) {
        const code = slackReason(error);
        throw UNDELIVERABLE.has(code) ? new DeliveryRefused(roomId, `${code}; invite the bot to the channel`) : error;
      }
    },
    async update(roomId, messageId, message) {
      await call('chat.update', () => client.chat.update({ channel: roomId, ts: messageId, ...renderSlack(message) }));
    },
    async readMessage(roomId, messageId) {
      const result = await call('conversations.history', () =>
        client.conversations.history({ channel: roomId, latest: messageId, inclusive: true, limit: 1 }),
      );
      const message = result.messages?.find((m) => m.ts === messageId);
      return (
        message && { text: fromSlackText(message.text ?? ''), author: message.user ?? message.bot_id ?? 'unknown' }
      );
    },
    async pin(roomId, messageId) {
      try {
        await call('pins.add', () => client.pins.add({ channel: roomId, timestamp: messageId }));
      } catch (error) {
        if (slackReason(error) !== 'already_pinned') throw error;
      }
    },
    async uploadFile(roomId, file) {
      // filesUploadV2 runs files.getUploadURLExternal, the upload and files.completeUploadExternal (which shares it in the channel).
      try {
        const result = await call('files.uploadV2', () =>
          client.filesUploadV2({
            channel_id: roomId,
            filename: file.filename,
            title: file.title,
            content: file.content,
          }),
        );
        return result.files[0]?.files?.[0]?.id ?? '';
      } catch (error) {
        const code = slackReason(error);
        throw UNDELIVERABLE.has(code) ? new DeliveryRefused(roomId, code) : error;
      }
    },
  };
}
