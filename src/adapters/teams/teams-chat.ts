// The ChatPort on Microsoft Teams, all proactive through stored conversation references:
//
//   room           a thread (channel conversation) in a team channel: `19:...@thread.tacv2;messageid=...`
//   createRoom     a new thread in the channel where the incident was declared (its first message
//                  is the room's title); a real Teams channel per incident needs Microsoft Graph.
//                  The thread is also remembered under its incident (`war-room:INC-7@<declaredAt>`
//                  in the directory, beside the conversation itself), as soon as the Bot Connector
//                  names it: a creation repeated because its first answer was lost (a crash before
//                  the job recorded it) finds that thread instead of starting a second one. Bots
//                  cannot list a channel's threads without Graph, so a crash between the Bot
//                  Connector creating the thread and that record still starts a second one.
//   invite         Teams cannot add people to a thread: members of the team are @mentioned in it;
//                  people who are not in the team are reported back as not invited
//   pin, topic     Teams bots can do neither: pin is a no-op, the topic is posted once per change
//   readMessage    bots cannot read channel messages without Graph: undefined
//   post           at least once: a job's retry after a lost answer (a crash after the Bot Connector took the
//                  message) posts it again, as the key a post carries (PostOnce) can be looked for only in
//                  the channel's messages (Graph), and the Bot Connector takes no idempotency key
//   uploadFile     the text is posted as a message (a code block), cut to what Teams accepts
//
// Every call goes to the service URL stored with the conversation, and only when the service URL
// policy allows it: a reference written in emulator mode never receives firelane's credentials.
import type { CloudAdapter, ConnectorClient, TurnContext } from '@microsoft/agents-hosting';
import type { Activity, ConversationReference } from '@microsoft/agents-activity';
import type { Logger } from 'pino';
import { channelReply, mention, type Reply } from '../../ports/reply.js';
import { DeliveryRefused, type ChatPort, type RoomOwner } from '../../ports/chat.js';
import { BOT_FRAMEWORK_SCOPE, toSdkReference, toStoredReference } from './bot-adapter.js';
import { renderTeams, type TeamsMessage } from './render.js';
import type { ServiceUrlPolicy } from './service-urls.js';
import { namesFor, type TeamsDirectory } from './teams-directory.js';

export interface TeamsChatOptions {
  adapter: CloudAdapter;
  /** MICROSOFT_APP_ID ('' in emulator mode: nothing is signed). */
  appId: string;
  directory: TeamsDirectory;
  policy: ServiceUrlPolicy;
  logger: Logger;
  announceChannel?: string;
  escalationChannel?: string;
  /** Hears every failed Bot Connector call: its HTTP status, or `network` (metrics). */
  onUpstreamError?: (status: string) => void;
}

/** What Teams accepts in one message, with room to spare (about 28 KB). */
const MAX_MESSAGE = 24_000;

/** Where an incident's war room thread is remembered in the directory besides its own id (no Teams id looks so). */
const warRoomEntry = (owner: RoomOwner) => `war-room:${owner.key}@${owner.declaredAt}`;

/** `19:abc@thread.tacv2;messageid=123` -> `19:abc@thread.tacv2` */
const channelOf = (conversationId: string) => conversationId.split(';')[0]!;

/** The HTTP status of a failed Bot Connector call (the SDK's HttpError has `status`). */
export const statusOf = (error: unknown): number | undefined => {
  const e = error as { status?: unknown; statusCode?: unknown } | undefined;
  return typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
};

export function createTeamsChat(options: TeamsChatOptions): ChatPort {
  const { adapter, appId, directory, logger, policy } = options;
  /** A reply as Teams shows it, mentions named as firelane has seen the people in Teams. */
  const render = async (reply: Reply): Promise<TeamsMessage> => renderTeams(reply, await namesFor(directory, reply));
  // Without an app id the SDK signs nothing only for an identity without an audience.
  const identity = appId || {};

  /** The reference to post into `roomId`: stored, or built from a known channel's service URL. */
  async function referenceFor(roomId: string): Promise<ConversationReference> {
    const known = await directory.conversation(roomId);
    if (known) return toSdkReference(known.reference);
    // A thread of a channel firelane has seen, or a conversation configured by id: same service URL.
    const sibling = (await directory.conversation(channelOf(roomId))) ?? (await directory.latest());
    if (!sibling?.reference.serviceUrl) {
      throw new DeliveryRefused(
        roomId,
        'firelane has not seen this Teams conversation yet (add the app to the team and mention @firelane there once)',
      );
    }
    const tenantId = sibling.reference.conversation?.tenantId;
    return {
      ...toSdkReference(sibling.reference),
      conversation: { id: roomId, isGroup: true, conversationType: 'channel', ...(tenantId && { tenantId }) },
    };
  }

  function allowed(roomId: string, serviceUrl: string | undefined): string {
    if (!serviceUrl || !policy.isAllowed(serviceUrl))
      throw new DeliveryRefused(
        roomId,
        `the stored Teams service URL ${serviceUrl ?? '(none)'} is not a Bot Framework address`,
      );
    return serviceUrl;
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

  async function inConversation<T>(roomId: string, logic: (context: TurnContext) => Promise<T>): Promise<T> {
    const reference = await referenceFor(roomId);
    allowed(roomId, reference.serviceUrl);
    let result: T | undefined;
    let failure: unknown;
    try {
      await counted(async () => {
        await adapter.continueConversation(identity, reference, async (context) => {
          // The adapter hands errors inside a turn to onTurnError and carries on: keep them to throw here.
          try {
            result = await logic(context);
          } catch (error) {
            failure = error;
          }
        });
        if (failure) throw failure;
      });
    } catch (error) {
      const status = statusOf(error);
      if (status === 403 || status === 404)
        throw new DeliveryRefused(roomId, `Teams answered ${status}: the bot is not in this conversation any more`);
      throw error;
    }
    return result as T;
  }

  async function send(roomId: string, message: Reply): Promise<string> {
    const activity = await render(message);
    return inConversation(roomId, async (context) => (await context.sendActivity(activity as Activity))?.id ?? '');
  }

  return {
    announceRoom: options.announceChannel,
    escalationRoom: options.escalationChannel,

    async setTopic(roomId, topic) {
      // Threads have no topic: say it in the thread, as Slack shows a topic change.
      await send(roomId, channelReply(`📌 ${topic}`));
    },

    async createRoom(name, createOptions) {
      const owner = createOptions?.incident;
      if (owner) {
        // Made before, its answer lost: the same thread. (Teams threads have no unique names: nothing else is taken.)
        const made = (await directory.conversation(warRoomEntry(owner)))?.reference.conversation;
        if (made?.id) return { id: made.id, name: made.name ?? name };
      }
      const origin = createOptions?.origin ? await directory.conversation(createOptions.origin) : undefined;
      const announce = options.announceChannel
        ? await directory.conversation(channelOf(options.announceChannel))
        : undefined;
      const where = origin?.kind === 'channel' ? origin : announce?.kind === 'channel' ? announce : undefined;
      if (!where?.channelId || !where.reference.serviceUrl) {
        throw new DeliveryRefused(
          createOptions?.origin ?? '',
          'in Teams a war room is a thread in a team channel: declare the incident in a channel where firelane is added, or set incidents.teams.announceChannel',
        );
      }
      const serviceUrl = allowed(where.channelId, where.reference.serviceUrl);
      const tenantId = where.reference.conversation?.tenantId;
      const bot = where.reference.bot;
      let created: string | undefined;
      const parameters = {
        isGroup: true,
        // `agent` is the SDK's name; the Bot Connector reads `bot`, and the SDK sends the object as it is.
        ...(bot && { agent: bot, bot }),
        channelData: { channel: { id: where.channelId }, ...(tenantId && { tenant: { id: tenantId } }) },
        activity: { type: 'message', text: `🔥 **${name}**` } as Activity,
        ...(tenantId && { tenantId }),
      };
      await counted(() =>
        adapter.createConversationAsync(
          appId,
          'msteams',
          serviceUrl,
          BOT_FRAMEWORK_SCOPE,
          parameters,
          async (context) => {
            const conversation = context.activity.conversation;
            created = conversation?.id;
            if (!created) return;
            const reference = toStoredReference({
              ...toSdkReference(where.reference),
              conversation: { ...conversation, id: created, conversationType: 'channel' },
            });
            if (owner)
              await directory.rememberConversation({
                id: warRoomEntry(owner),
                kind: 'channel',
                channelId: where.channelId,
                teamId: where.teamId,
                reference: { ...reference, conversation: { ...reference.conversation!, id: created, name } },
              });
            await directory.rememberConversation({
              id: created,
              kind: 'channel',
              channelId: where.channelId,
              teamId: where.teamId,
              reference,
            });
          },
        ),
      );
      if (!created) throw new Error('Teams created no conversation');
      logger.info({ room: created, name }, 'Teams war room thread created');
      return { id: created, name };
    },

    async invite(roomId, userIds) {
      // A thread cannot take members: look each responder up in its channel's roster (which also gives
      // the name a real mention needs), then mention those found in the thread.
      const failed: Array<{ userId: string; reason: string }> = [];
      const found: string[] = [];
      await inConversation(roomId, async (context) => {
        const connector = context.turnState.get<ConnectorClient>(adapter.ConnectorClientKey);
        for (const userId of userIds) {
          try {
            const member = (await connector.getConversationMember(
              encodeURIComponent(userId),
              encodeURIComponent(channelOf(roomId)),
            )) as { id?: string; name?: string; aadObjectId?: string; tenantId?: string };
            await directory.rememberUser({
              aadObjectId: member.aadObjectId ?? userId,
              teamsId: member.id ?? userId,
              name: member.name ?? null,
              tenantId: member.tenantId ?? null,
            });
            found.push(userId);
          } catch (error) {
            const status = statusOf(error);
            if (status !== 404 && status !== 400) throw error;
            failed.push({ userId, reason: 'not a member of this team' });
          }
        }
      });
      if (found.length) await send(roomId, channelReply(`${found.map(mention).join(' ')}: you are responders here.`));
      return { failed };
    },

    post: (roomId, message) => send(roomId, message), // `once` cannot be honoured here: see the top of the file

    async update(roomId, messageId, message) {
      const activity = await render(message);
      await inConversation(roomId, async (context) => {
        await context.updateActivity({ ...activity, id: messageId } as Activity);
      });
    },

    async pin() {
      // Teams bots cannot pin messages; the card is the thread's first message instead.
    },

    async readMessage() {
      return undefined;
    },

    async uploadFile(roomId, file) {
      const body =
        file.content.length > MAX_MESSAGE
          ? `${file.content.slice(0, MAX_MESSAGE)}\n… (cut: the whole file is printed by \`firelane run\`)`
          : file.content;
      const text = `📝 **${file.title}** (${file.filename})\n\n\`\`\`\n${body.replace(/```/g, "'''")}\n\`\`\``;
      return inConversation(
        roomId,
        async (context) =>
          (await context.sendActivity({ type: 'message', textFormat: 'markdown', text } as Activity))?.id ?? '',
      );
    },
  };
}
