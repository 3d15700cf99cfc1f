// The ChatPort on Microsoft Teams, all proactive through stored conversation references:
//
//   room           a thread (channel conversation) in a team channel: `19:...@thread.tacv2;messageid=...`
//   createRoom     a new thread in the channel where the incident was declared (its first message
//                  is the room's title); a real Teams channel per incident needs Microsoft Graph
//   invite         Teams cannot add people to a thread: members of the team are @mentioned in it;
//                  people who are not in the team are reported back as not invited
//   pin, topic     Teams bots can do neither: pin is a no-op, the topic is posted once per change
//   readMessage    bots cannot read channel messages without Graph: undefined
//   uploadFile     the text is posted as a message (a code block), cut to what Teams accepts
import { TeamsInfo, type CloudAdapter, type ConversationReference, type TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { channelReply, mention, type Reply } from '../../commands/reply.js';
import { DeliveryRefused, type ChatPort } from '../../ports/chat.js';
import type { TeamsDirectory } from '../db/teams-directory.js';
import { renderTeams } from './render.js';

export interface TeamsChatOptions {
  adapter: CloudAdapter;
  /** MICROSOFT_APP_ID ('' in local emulator mode). */
  appId: string;
  directory: TeamsDirectory;
  logger: Logger;
  announceChannel?: string;
  escalationChannel?: string;
  /** Hears every failed Bot Connector call: its HTTP status, or `network` (metrics). */
  onUpstreamError?: (status: string) => void;
}

/** What Teams accepts in one message, with room to spare (about 28 KB). */
const MAX_MESSAGE = 24_000;

/** `19:abc@thread.tacv2;messageid=123` -> `19:abc@thread.tacv2` */
const channelOf = (conversationId: string) => conversationId.split(';')[0]!;

export function createTeamsChat(options: TeamsChatOptions): ChatPort {
  const { adapter, appId, directory, logger } = options;
  const nameOf = (id: string) => directory.user(id)?.name ?? undefined;
  const statusOf = (error: unknown) => (error as { statusCode?: number })?.statusCode;

  /** The reference to post into `roomId`: stored, or built from a known channel's service URL. */
  function referenceFor(roomId: string): Partial<ConversationReference> {
    const known = directory.conversation(roomId);
    if (known) return known.reference as Partial<ConversationReference>;
    // A thread of a channel firelane has seen, or a conversation configured by id: same service URL.
    const sibling = directory.conversation(channelOf(roomId)) ?? directory.latest();
    if (!sibling?.reference.serviceUrl) {
      throw new DeliveryRefused(roomId, 'firelane has not seen this Teams conversation yet (add the app to the team and mention @firelane there once)');
    }
    const tenantId = sibling.reference.conversation?.tenantId;
    return { ...(sibling.reference as Partial<ConversationReference>), activityId: undefined, conversation: { id: roomId, isGroup: true, conversationType: 'channel', name: '', ...(tenantId && { tenantId }) } };
  }

  async function inConversation<T>(roomId: string, logic: (context: TurnContext) => Promise<T>): Promise<T> {
    const reference = referenceFor(roomId);
    let result: T | undefined;
    try {
      await counted(() =>
        adapter.continueConversationAsync(appId, reference, async (context) => {
          result = await logic(context);
        }),
      );
    } catch (error) {
      const status = statusOf(error);
      if (status === 403 || status === 404) throw new DeliveryRefused(roomId, `Teams answered ${status}: the bot is not in this conversation any more`);
      throw error;
    }
    return result as T;
  }

  /** Every failed Bot Connector call is counted once: its HTTP status, or `network`. */
  async function counted<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const status = statusOf(error);
      options.onUpstreamError?.(typeof status === 'number' ? String(status) : 'network');
      throw error;
    }
  }

  async function send(roomId: string, message: Reply): Promise<string> {
    return inConversation(roomId, async (context) => (await context.sendActivity(renderTeams(message, nameOf)))?.id ?? '');
  }

  return {
    announceRoom: options.announceChannel,
    escalationRoom: options.escalationChannel,

    async setTopic(roomId, topic) {
      // Threads have no topic: say it in the thread, as Slack shows a topic change.
      await send(roomId, channelReply(`📌 ${topic}`));
    },

    async createRoom(name, createOptions) {
      const origin = createOptions?.origin ? directory.conversation(createOptions.origin) : undefined;
      const announce = options.announceChannel ? directory.conversation(channelOf(options.announceChannel)) : undefined;
      const where = origin?.kind === 'channel' ? origin : announce?.kind === 'channel' ? announce : undefined;
      if (!where?.channelId || !where.reference.serviceUrl) {
        throw new DeliveryRefused(createOptions?.origin ?? '', 'in Teams a war room is a thread in a team channel: declare the incident in a channel where firelane is added, or set incidents.teams.announceChannel');
      }
      const tenantId = where.reference.conversation?.tenantId;
      const serviceUrl = where.reference.serviceUrl;
      let created: string | undefined;
      await counted(() => adapter.createConversationAsync(
        appId,
        'msteams',
        serviceUrl,
        'https://api.botframework.com',
        {
          isGroup: true,
          bot: where.reference.bot as never,
          channelData: { channel: { id: where.channelId }, ...(tenantId && { tenant: { id: tenantId } }) },
          activity: { type: 'message', text: `🔥 **${name}**` } as never,
          ...(tenantId && { tenantId }),
        } as never,
        async (context) => {
          created = context.activity.conversation.id;
          directory.rememberConversation({ id: created, kind: 'channel', channelId: where.channelId, teamId: where.teamId, reference: { ...where.reference, activityId: undefined, conversation: { ...context.activity.conversation } } });
        },
      ));
      if (!created) throw new Error('Teams created no conversation');
      logger.info({ room: created, name }, 'Teams war room thread created');
      return { id: created, name };
    },

    async invite(roomId, userIds) {
      // A thread cannot take members: look each responder up in the team (which also gives the name
      // a real mention needs), then mention those found in the thread.
      const failed: Array<{ userId: string; reason: string }> = [];
      const found: string[] = [];
      await inConversation(roomId, async (context) => {
        for (const userId of userIds) {
          try {
            const member = await TeamsInfo.getMember(context, userId);
            directory.rememberUser({ aadObjectId: member.aadObjectId ?? userId, teamsId: member.id, name: member.name ?? null, tenantId: member.tenantId ?? null });
            found.push(userId);
          } catch (error) {
            const status = (error as { statusCode?: number })?.statusCode;
            if (status !== 404 && status !== 400) throw error;
            failed.push({ userId, reason: 'not a member of this team' });
          }
        }
      });
      if (found.length) await send(roomId, channelReply(`${found.map(mention).join(' ')}: you are responders here.`));
      return { failed };
    },

    post: send,

    async update(roomId, messageId, message) {
      await inConversation(roomId, async (context) => {
        await context.updateActivity({ ...renderTeams(message, nameOf), id: messageId, conversation: context.activity.conversation } as never);
      });
    },

    async pin() {
      // Teams bots cannot pin messages; the card is the thread's first message instead.
    },

    async readMessage() {
      return undefined;
    },

    async uploadFile(roomId, file) {
      const body = file.content.length > MAX_MESSAGE ? `${file.content.slice(0, MAX_MESSAGE)}\n… (cut: the whole file is printed by \`firelane run\`)` : file.content;
      return inConversation(roomId, async (context) => (await context.sendActivity({ type: 'message', textFormat: 'markdown', text: `📝 **${file.title}** (${file.filename})\n\n\`\`\`\n${body.replace(/```/g, "'''")}\n\`\`\`` }))?.id ?? '');
    },
  };
}
