// The Microsoft 365 Agents SDK only here (with bot-adapter, teams-chat and teams-http): what a turn
// does. A message to the bot with the text of a command (with or without the leading /), or a card's
// Action.Submit or Action.Execute carrying one, runs through the same router; the conversation and
// the user are remembered for proactive posts later.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudAdapter, TurnContext } from '@microsoft/agents-hosting';
import type { Activity } from '@microsoft/agents-activity';
import type { Logger } from 'pino';
import type { Router, RouterResult } from '../../commands/router.js';
import { toPlainText, type Reply } from '../../ports/reply.js';
import type { Metrics } from '../../metrics.js';
import type { ChatPort } from '../../ports/chat.js';
import { BOT_FRAMEWORK_SCOPE, createBotAdapter, toStoredReference, type TokenSource } from './bot-adapter.js';
import { createBotTokenVerifier, type BotIdentity } from './bot-token.js';
import { renderTeams, SUBMIT_KEY } from './render.js';
import { createServiceUrlPolicy } from './service-urls.js';
import { createTeamsChat } from './teams-chat.js';
import { namesFor, type TeamsDirectory } from './teams-directory.js';
import { createTeamsHandler } from './teams-http.js';

export { TEAMS_PATH } from './teams-path.js';

export interface TeamsAppOptions {
  /** MICROSOFT_APP_ID: every activity's token is verified. Without one: the loopback emulator path. */
  appId?: string;
  appPassword?: string;
  appTenantId?: string;
  appType?: string;
  /** Tests: the Bot Framework's OpenID metadata and issuer on loopback. */
  identity?: BotIdentity;
  /** Tests: outbound tokens without a login. */
  tokenSource?: TokenSource;
  /** Service URL origins allowed besides Microsoft's Bot Connector hosts (tests: the fake Bot Connector). */
  serviceUrls?: string[];
  router: Router;
  directory: TeamsDirectory;
  logger: Logger;
  metrics?: Metrics;
  announceChannel?: string;
  escalationChannel?: string;
}

export interface TeamsHttp {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  chat: ChatPort;
  adapter: CloudAdapter;
}

/** Teams HTML entities in message text, decoded (the text is then handled as plain). */
function decodeEntities(text: string): string {
  return text
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * The command text of a message: the bot's own mention removed, other mentions as `@<AAD object id>`
 * (what approvers and responders are listed by), tags dropped; a leading `/` added when missing.
 */
export function commandText(activity: Partial<Activity>, families: readonly string[]): string | undefined {
  const submitted = (activity.value as Record<string, unknown> | undefined)?.[SUBMIT_KEY];
  if (typeof submitted === 'string') return submitted;
  let text = activity.text ?? '';
  for (const entity of activity.entities ?? []) {
    if (entity.type !== 'mention') continue;
    const mentioned = entity.mentioned as { id?: string; aadObjectId?: string } | undefined;
    const tag = typeof entity.text === 'string' ? entity.text : undefined;
    if (!tag) continue;
    const isBot = mentioned?.id !== undefined && mentioned.id === activity.recipient?.id;
    text = text.split(tag).join(isBot ? ' ' : ` @${mentioned?.aadObjectId ?? mentioned?.id ?? ''} `);
  }
  text = decodeEntities(text.replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
  if (!text) return undefined;
  const first = text.replace(/^\//, '').split(' ')[0]!.toLowerCase();
  if (!families.includes(first)) return undefined;
  return text.startsWith('/') ? text : `/${text}`;
}

type TeamsChannelData = { channel?: { id?: string }; team?: { id?: string }; tenant?: { id?: string } } | undefined;

export function createTeamsApp(options: TeamsAppOptions): TeamsHttp {
  const { router, directory, logger, metrics } = options;
  const appId = options.appId ?? '';
  const policy = createServiceUrlPolicy({
    emulator: !appId,
    ...(options.serviceUrls && { extra: options.serviceUrls }),
  });
  const adapter = createBotAdapter({
    appId,
    policy,
    ...(options.appPassword && { appPassword: options.appPassword }),
    ...(options.appTenantId && { tenantId: options.appTenantId }),
    ...(options.appType && { appType: options.appType }),
    ...(options.tokenSource && { tokenSource: options.tokenSource }),
  });
  // The SDK's default answers the user with "The agent encountered an error or bug" and logs through
  // its own channel: firelane logs the error and says nothing in the conversation.
  adapter.onTurnError = async (_context, error) => {
    logger.error({ err: error }, 'Teams turn failed');
  };
  const chat = createTeamsChat({
    adapter,
    appId,
    directory,
    policy,
    logger,
    ...(metrics && { onUpstreamError: (status: string) => metrics.upstreamErrors.inc({ service: 'teams', status }) }),
    ...(options.announceChannel && { announceChannel: options.announceChannel }),
    ...(options.escalationChannel && { escalationChannel: options.escalationChannel }),
  });
  /** A reply as Teams shows it, mentions named as firelane has seen the people in Teams. */
  const render = async (reply: Reply) => renderTeams(reply, await namesFor(directory, reply)) as Activity;
  const usage = `Mention me with a command: ${router.names.map((n) => `/${n}`).join(', ')} (e.g. "@firelane incident sev1 Payment gateway down").`;

  async function remember(activity: Activity): Promise<void> {
    const reference = toStoredReference(activity.getConversationReference());
    const conversationType = activity.conversation?.conversationType;
    const channelData = activity.channelData as TeamsChannelData;
    const kind =
      conversationType === 'personal' ? 'personal' : conversationType === 'groupChat' ? 'groupChat' : 'channel';
    await directory.rememberConversation({
      id: activity.conversation!.id,
      kind,
      channelId: kind === 'channel' ? (channelData?.channel?.id ?? activity.conversation!.id.split(';')[0]!) : null,
      teamId: channelData?.team?.id ?? null,
      reference,
    });
    if (kind === 'channel' && channelData?.channel?.id && channelData.channel.id !== activity.conversation!.id) {
      // The channel itself too: new threads (war rooms) are created in it.
      await directory.rememberConversation({
        id: channelData.channel.id,
        kind,
        channelId: channelData.channel.id,
        teamId: channelData.team?.id ?? null,
        reference: { ...reference, conversation: { ...reference.conversation!, id: channelData.channel.id } },
      });
    }
    const from = activity.from;
    if (from?.aadObjectId) {
      await directory.rememberUser({
        aadObjectId: from.aadObjectId,
        teamsId: from.id ?? from.aadObjectId,
        name: from.name ?? null,
        tenantId: channelData?.tenant?.id ?? activity.conversation?.tenantId ?? null,
      });
      if (kind === 'personal') await directory.setPersonalConversation(from.aadObjectId, activity.conversation!.id);
    }
  }

  /** A private answer: in a personal chat it is the reply; in a channel it goes to the user's personal chat with firelane. */
  async function answer(context: TurnContext, reply: Reply): Promise<void> {
    const activity = context.activity;
    if (reply.visibility === 'channel' || activity.conversation?.conversationType === 'personal') {
      await context.sendActivity(await render(reply));
      return;
    }
    const userId = activity.from?.aadObjectId;
    const user = userId ? await directory.user(userId) : undefined;
    try {
      // The personal chat, once known, is reused: opening it again would be a Bot Connector call per answer.
      if (user?.personalConversationId && (await directory.conversation(user.personalConversationId))) {
        await chat.post(user.personalConversationId, reply);
        return;
      }
      const tenantId = activity.conversation?.tenantId ?? (activity.channelData as TeamsChannelData)?.tenant?.id;
      const bot = activity.recipient;
      const parameters = {
        isGroup: false,
        ...(bot && { agent: bot, bot }),
        members: [{ id: activity.from!.id, name: activity.from!.name ?? '' }],
        ...(tenantId && { tenantId, channelData: { tenant: { id: tenantId } } }),
      } as never;
      await adapter.createConversationAsync(
        appId,
        'msteams',
        activity.serviceUrl!,
        BOT_FRAMEWORK_SCOPE,
        parameters,
        async (personal) => {
          const id = personal.activity.conversation!.id;
          await directory.rememberConversation({
            id,
            kind: 'personal',
            channelId: null,
            teamId: null,
            reference: toStoredReference(personal.activity.getConversationReference()),
          });
          if (user) await directory.setPersonalConversation(user.aadObjectId, id);
          await personal.sendActivity(await render(reply));
        },
      );
    } catch (error) {
      // No personal chat (the app is not installed for the user): answer in the thread instead.
      logger.warn({ err: error }, 'could not answer privately in Teams; answering in the conversation');
      await context.sendActivity(await render(reply));
    }
  }

  function observe(result: RouterResult, started: number): void {
    metrics?.commandsTotal.inc({ platform: 'teams', command: result.command, outcome: result.outcome });
    metrics?.ackLatency.observe({ platform: 'teams', command: result.command }, (performance.now() - started) / 1000);
  }

  function run(activity: Activity, text: string): Promise<RouterResult> {
    const from = activity.from!;
    return router.handle({
      text,
      actor: { id: from.aadObjectId ?? from.id ?? '', ...(from.name && { name: from.name }) },
      platform: 'teams',
      roomId: activity.conversation!.id,
      // A redelivered activity has the same id: the same request, answered the same.
      ...(activity.id && { idempotencyKey: `teams:${activity.conversation!.id}:${activity.id}` }),
    });
  }

  async function onTurn(context: TurnContext): Promise<void> {
    const activity = context.activity;
    const started = performance.now();
    // A reference needs a conversation, a recipient and a channel; an activity without them is not remembered.
    if (activity.conversation?.id && activity.recipient && activity.channelId) await remember(activity);
    if (activity.type === 'invoke' && activity.name === 'adaptiveCard/action') {
      // Action.Execute (Universal Actions): the answer is the invoke response, shown to the clicker only.
      const data = (activity.value as { action?: { data?: Record<string, unknown> } } | undefined)?.action?.data;
      const command = data?.[SUBMIT_KEY];
      let text = usage;
      if (typeof command === 'string' && activity.from) {
        const result = await run(activity, command);
        observe(result, started);
        const nameOf = await namesFor(directory, result.reply);
        text = toPlainText(result.reply.text || result.reply.card?.title || '', (id) => nameOf(id) ?? id);
      }
      await context.sendActivity({
        type: 'invokeResponse',
        value: {
          status: 200,
          body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text },
        },
      } as Activity);
      return;
    }
    if (activity.type !== 'message' || !activity.from) return;
    const text = commandText(activity, router.names);
    if (!text) {
      await context.sendActivity(await render({ visibility: 'private', text: usage }));
      return;
    }
    const result = await run(activity, text);
    observe(result, started);
    await answer(context, result.reply);
  }

  const verify = appId
    ? createBotTokenVerifier({ appId, ...(options.identity && { identity: options.identity }) })
    : undefined;
  const handle = createTeamsHandler({
    adapter,
    policy,
    logger,
    onTurn,
    ...(verify && { verify }),
    ...(options.appTenantId && { tenantId: options.appTenantId }),
  });
  return { adapter, chat, handle };
}
