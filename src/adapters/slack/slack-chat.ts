// The ChatPort on Slack's Web API. Slack's error codes become firelane's errors here.
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { InviteResult, ChatPort, PostOnce, RoomOwner, RoomRef } from '../../ports/chat.js';
import { DeliveryRefused, RoomNameTaken, roomMark } from '../../ports/chat.js';
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

/**
 * How far Slack's clock (a channel's `created`) may be behind firelane's (an incident's declaration) for an unmarked
 * channel to count as created after the declaration.
 */
const CLOCK_SKEW_MS = 60_000;
/** Channels per page of users.conversations (Slack recommends no more than 200). */
const LIST_PAGE = 200;
/** The message metadata of a post that carries its key (PostOnce); an event type takes letters, digits, _ and -. */
const POST_EVENT = 'firelane_post';
/** Messages per page of conversations.history when a retry looks for its post. */
const HISTORY_PAGE = 100;
/**
 * How many pages of a room's newest messages a retry looks through for its post. The retry comes seconds after the
 * lost post (the job's first backoff, or a dead replica's lease running out), minutes at the most (the backoff's cap
 * is 5 minutes), and no war room gets 200 top-level messages in that time; past that the post is made again, as it
 * was before posts carried keys. A bound, because a channel's whole history can be long and the look is a tier-3 call.
 */
const HISTORY_PAGES = 2;

/** What users.conversations tells of a channel, as far as finding a war room again needs it. */
interface ListedChannel {
  id?: string;
  name?: string;
  creator?: string;
  created?: number;
  is_archived?: boolean;
  purpose?: { value?: string };
}

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
  logger?: Logger;
}): ChatPort {
  const { client, botUserId, metrics, logger } = options;

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

  /**
   * The channel's purpose says whose war room it is. Never fails: a failure leaves it unsaid (counted and logged),
   * the room matters more; and an unmarked room of this incident is still recognised (findOwnRoom).
   */
  async function mark(channel: string, owner: RoomOwner): Promise<void> {
    try {
      await call('conversations.setPurpose', () =>
        client.conversations.setPurpose({ channel, purpose: `${roomMark(owner)} (opened by firelane)` }),
      );
    } catch (error) {
      logger?.warn({ err: error, room: channel }, 'could not set the war room’s purpose');
    }
  }

  /**
   * The live (not archived) public channel of that name among the bot's own, page by page; undefined when there is
   * none. The bot is in every channel it created, and in far fewer channels than a large workspace has: looking
   * among them (users.conversations, rate tier 3) takes a page or a few, where conversations.list (tier 2) would
   * page through every channel of the workspace.
   */
  async function findChannel(name: string): Promise<ListedChannel | undefined> {
    let cursor: string | undefined;
    do {
      const page = await call('users.conversations', () =>
        client.users.conversations({
          types: 'public_channel',
          exclude_archived: true,
          limit: LIST_PAGE,
          ...(cursor && { cursor }),
        }),
      );
      const found = (page.channels as ListedChannel[] | undefined)?.find((c) => c.name === name);
      if (found) return found;
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return undefined;
  }

  /**
   * The channel named `name` when it is provably this incident's war room, made by an earlier createRoom whose
   * answer was lost. What an on-call engineer expects is one war room, and never to be pulled into a room that is
   * not this incident's; so a channel is taken only when all of these hold:
   *  - firelane's bot created it (`creator`; people cannot create channels as the bot), is still in it, and it is not
   *    archived;
   *  - its purpose carries this incident's mark (key and declaration time, which firelane sets as soon as Slack has
   *    answered), or, when the answer was lost before firelane could set the purpose, it has no purpose at all and was
   *    created after this incident was declared (a channel firelane made for an incident INC-7 of another
   *    installation or of a database started over is older, or carries that incident's mark).
   * Anything else (a person's channel, one marked for another incident, an unmarked one from before the
   * declaration, or the lookup refused for want of the channels:read scope) leads to the next free name, as before.
   */
  async function findOwnRoom(name: string, owner: RoomOwner): Promise<RoomRef | undefined> {
    if (!botUserId) return undefined; // auth.test failed at start-up: nothing tells the bot's channels apart
    let channel: ListedChannel | undefined;
    try {
      channel = await findChannel(name);
    } catch (error) {
      if (slackReason(error) !== 'missing_scope') throw error; // a retry of the job looks again
      logger?.warn(
        { room: name },
        'Slack refused users.conversations (missing_scope): add the channels:read scope to the Slack app, so that a war room whose creation was interrupted is found again instead of opening a second one',
      );
      return undefined;
    }
    if (!channel?.id || channel.creator !== botUserId || channel.is_archived) return undefined;
    const purpose = channel.purpose?.value ?? '';
    if (purpose) return purpose.includes(roomMark(owner)) ? { id: channel.id, name } : undefined;
    if ((channel.created ?? 0) * 1000 < owner.declaredAt - CLOCK_SKEW_MS) return undefined;
    void mark(channel.id, owner);
    logger?.info({ room: channel.id, name }, 'found the war room Slack created before its answer was lost');
    return { id: channel.id, name };
  }

  /**
   * The ts of the bot's own message carrying `key` among the channel's newest messages (HISTORY_PAGES), made by an
   * earlier try whose answer was lost; undefined when there is none. Only the bot's message counts: any app can attach
   * metadata, and another one could copy a key it saw. A look-up Slack refuses for good (the bot is not in the
   * channel, so the earlier try did not post there; or, in a private channel, the groups:history scope is missing)
   * finds nothing and the post is made, at worst a second time, as before.
   */
  async function findPost(channel: string, key: string): Promise<string | undefined> {
    if (!botUserId) return undefined; // auth.test failed at start-up: nothing tells the bot's messages apart
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      let result;
      try {
        result = await call('conversations.history', () =>
          client.conversations.history({
            channel,
            limit: HISTORY_PAGE,
            include_all_metadata: true,
            ...(cursor && { cursor }),
          }),
        );
      } catch (error) {
        const code = slackReason(error);
        if (!UNDELIVERABLE.has(code)) throw error; // a retry of the job looks again
        if (code === 'missing_scope')
          logger?.warn(
            { room: channel },
            'Slack refused conversations.history (missing_scope): add the groups:history scope to the Slack app for private channels, so that a post whose answer was lost is found instead of made again',
          );
        return undefined;
      }
      const found = result.messages?.find(
        (m) =>
          m.user === botUserId &&
          m.metadata?.event_type === POST_EVENT &&
          (m.metadata.event_payload as { key?: unknown } | undefined)?.key === key,
      );
      if (found?.ts) return found.ts;
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  return {
    announceRoom: options.announceChannel,
    escalationRoom: options.escalationChannel,
    async setTopic(roomId, topic) {
      await call('conversations.setTopic', () =>
        client.conversations.setTopic({ channel: roomId, topic: toTopic(topic) }),
      );
    },
    async createRoom(name, createOptions): Promise<RoomRef> {
      const owner = createOptions?.incident;
      let room: RoomRef;
      try {
        const result = await call('conversations.create', () =>
          client.conversations.create({ name, is_private: false }),
        );
        room = { id: result.channel!.id!, name: result.channel!.name ?? name };
      } catch (error) {
        if (slackReason(error) !== 'name_taken') throw error;
        // Taken: perhaps by the room an earlier try created, whose answer never arrived.
        const own = owner && (await findOwnRoom(name, owner));
        if (own) return own;
        throw new RoomNameTaken(name);
      }
      // Not awaited: the purpose is set while the job invites, posts the card and announces, instead of one more
      // round trip before the room is used. Should the process die first, the room is unmarked, which findOwnRoom
      // accepts from a channel created after the declaration.
      if (owner) void mark(room.id, owner);
      return room;
    },
    async invite(roomId, userIds) {
      const users = [...new Set(userIds)].filter((u) => u !== botUserId);
      return users.length ? inviteAll(roomId, users) : { failed: [] };
    },
    async post(roomId, message: Reply, postOptions?: { once?: PostOnce }) {
      const once = postOptions?.once;
      if (once?.retried) {
        const posted = await findPost(roomId, once.key);
        if (posted) {
          logger?.info({ room: roomId, ts: posted }, 'found the message Slack posted before its answer was lost');
          return posted;
        }
      }
      const metadata = once && { event_type: POST_EVENT, event_payload: { key: once.key } };
      const send = () =>
        call('chat.postMessage', () =>
          client.chat.postMessage({ channel: roomId, ...renderSlack(message), ...(metadata && { metadata }) }),
        );
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
