// botbuilder only here (with teams-chat and directory): POST /api/messages. CloudAdapter verifies
// every activity's token when MICROSOFT_APP_ID is set; with none set, only loopback traffic (the
// local Bot Framework Emulator) is accepted. A message to the bot with the text of a command (with
// or without the leading /), or a card's Action.Submit carrying one, runs through the same router.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  TurnContext,
  type Activity,
  type ConfigurationBotFrameworkAuthenticationOptions,
} from 'botbuilder';
import type { Logger } from 'pino';
import type { Router, RouterResult } from '../../commands/router.js';
import { toPlainText, type Reply } from '../../commands/reply.js';
import type { Metrics } from '../../metrics.js';
import type { ChatPort } from '../../ports/chat.js';
import type { TeamsDirectory } from '../db/teams-directory.js';
import { renderTeams, SUBMIT_KEY } from './render.js';
import { createTeamsChat } from './teams-chat.js';
import { refusedWithoutAppId } from './teams-path.js';

export { TEAMS_PATH } from './teams-path.js';
const MAX_BODY = 512 * 1024;

/** Outbound credentials (botframework-connector's ServiceClientCredentialsFactory, as botbuilder takes it). */
type CredentialsFactory = ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[1];

export interface TeamsAppOptions {
  appId?: string;
  appPassword?: string;
  appTenantId?: string;
  appType?: string;
  /** Tests: every Bot Framework URL (OpenID metadata, token issuers, login) pointed at loopback. */
  authConfig?: Partial<ConfigurationBotFrameworkAuthenticationOptions>;
  /** Tests: outbound credentials that need no login. */
  credentialsFactory?: CredentialsFactory;
  router: Router;
  directory: TeamsDirectory;
  logger: Logger;
  metrics?: Metrics;
  announceChannel?: string;
  escalationChannel?: string;
}

export interface TeamsHttp {
  handle(req: IncomingMessage, res: ServerResponse): void;
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
  text = decodeEntities(text.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
  if (!text) return undefined;
  const first = text.replace(/^\//, '').split(' ')[0]!.toLowerCase();
  if (!families.includes(first)) return undefined;
  return text.startsWith('/') ? text : `/${text}`;
}

export function createTeamsApp(options: TeamsAppOptions): TeamsHttp {
  const { router, directory, logger, metrics } = options;
  const appId = options.appId ?? '';
  const auth = new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: appId,
      MicrosoftAppPassword: options.appPassword ?? '',
      ...(options.appTenantId && { MicrosoftAppTenantId: options.appTenantId }),
      ...(options.appType && { MicrosoftAppType: options.appType }),
      ...options.authConfig,
    } as ConfigurationBotFrameworkAuthenticationOptions,
    options.credentialsFactory,
  );
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (_context, error) => {
    logger.error({ err: error }, 'Teams turn failed');
  };
  const chat = createTeamsChat({
    adapter,
    appId,
    directory,
    logger,
    ...(metrics && { onUpstreamError: (status: string) => metrics.upstreamErrors.inc({ service: 'teams', status }) }),
    ...(options.announceChannel && { announceChannel: options.announceChannel }), ...(options.escalationChannel && { escalationChannel: options.escalationChannel }),
  });
  const nameOf = (id: string) => directory.user(id)?.name ?? undefined;
  const usage = `Mention me with a command: ${router.names.map((n) => `/${n}`).join(', ')} (e.g. "@firelane incident sev1 Payment gateway down").`;

  function remember(activity: Activity): void {
    const reference = TurnContext.getConversationReference(activity);
    const conversationType = activity.conversation?.conversationType;
    const channelData = activity.channelData as { channel?: { id?: string }; team?: { id?: string }; tenant?: { id?: string } } | undefined;
    const kind = conversationType === 'personal' ? 'personal' : conversationType === 'groupChat' ? 'groupChat' : 'channel';
    directory.rememberConversation({
      id: activity.conversation.id,
      kind,
      channelId: kind === 'channel' ? (channelData?.channel?.id ?? activity.conversation.id.split(';')[0]!) : null,
      teamId: channelData?.team?.id ?? null,
      reference: { ...reference, activityId: undefined },
    });
    if (kind === 'channel' && channelData?.channel?.id && channelData.channel.id !== activity.conversation.id) {
      // The channel itself too: new threads (war rooms) are created in it.
      directory.rememberConversation({ id: channelData.channel.id, kind, channelId: channelData.channel.id, teamId: channelData.team?.id ?? null, reference: { ...reference, activityId: undefined, conversation: { ...reference.conversation!, id: channelData.channel.id } } });
    }
    const from = activity.from;
    if (from?.aadObjectId) {
      directory.rememberUser({ aadObjectId: from.aadObjectId, teamsId: from.id, name: from.name ?? null, tenantId: channelData?.tenant?.id ?? activity.conversation.tenantId ?? null });
      if (kind === 'personal') directory.setPersonalConversation(from.aadObjectId, activity.conversation.id);
    }
  }

  /** A private answer: in a personal chat it is the reply; in a channel it goes to the user's personal chat with firelane. */
  async function answer(context: TurnContext, reply: Reply): Promise<void> {
    const activity = context.activity;
    if (reply.visibility === 'channel' || activity.conversation.conversationType === 'personal') {
      await context.sendActivity(renderTeams(reply, nameOf));
      return;
    }
    const userId = activity.from.aadObjectId;
    const user = userId ? directory.user(userId) : undefined;
    try {
      // The personal chat, once known, is reused: opening it again would be a Bot Connector call per answer.
      if (user?.personalConversationId && directory.conversation(user.personalConversationId)) {
        await chat.post(user.personalConversationId, reply);
        return;
      }
      const tenantId = activity.conversation.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
      await adapter.createConversationAsync(
        appId,
        'msteams',
        activity.serviceUrl,
        'https://api.botframework.com',
        { isGroup: false, bot: activity.recipient, members: [{ id: activity.from.id, name: activity.from.name ?? '' }], ...(tenantId && { tenantId, channelData: { tenant: { id: tenantId } } }) } as never,
        async (personal) => {
          const id = personal.activity.conversation.id;
          directory.rememberConversation({ id, kind: 'personal', channelId: null, teamId: null, reference: { ...TurnContext.getConversationReference(personal.activity), activityId: undefined } });
          if (user) directory.setPersonalConversation(user.aadObjectId, id);
          await personal.sendActivity(renderTeams(reply, nameOf));
        },
      );
    } catch (error) {
      // No personal chat (the app is not installed for the user): answer in the thread instead.
      logger.warn({ err: error }, 'could not answer privately in Teams; answering in the conversation');
      await context.sendActivity(renderTeams(reply, nameOf));
    }
  }

  function observe(result: RouterResult, started: number): void {
    metrics?.commandsTotal.inc({ platform: 'teams', command: result.command, outcome: result.outcome });
    metrics?.ackLatency.observe({ platform: 'teams', command: result.command }, (performance.now() - started) / 1000);
  }

  function run(activity: Activity, text: string): Promise<RouterResult> {
    return router.handle({
      text,
      actor: { id: activity.from.aadObjectId ?? activity.from.id, ...(activity.from.name && { name: activity.from.name }) },
      platform: 'teams',
      roomId: activity.conversation.id,
      // A redelivered activity has the same id: the same request, answered the same.
      ...(activity.id && { idempotencyKey: `teams:${activity.conversation.id}:${activity.id}` }),
    });
  }

  async function onTurn(context: TurnContext): Promise<void> {
    const activity = context.activity;
    const started = performance.now();
    if (activity.conversation?.id) remember(activity);
    if (activity.type === 'invoke' && activity.name === 'adaptiveCard/action') {
      // Action.Execute (Universal Actions): the answer is the invoke response, shown to the clicker only.
      const data = (activity.value as { action?: { data?: Record<string, unknown> } } | undefined)?.action?.data;
      const command = data?.[SUBMIT_KEY];
      let text = usage;
      if (typeof command === 'string') {
        const result = await run(activity, command);
        observe(result, started);
        text = toPlainText(result.reply.text || result.reply.card?.title || '', (id) => nameOf(id) ?? id);
      }
      await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text } } });
      return;
    }
    if (activity.type !== 'message') return;
    const text = commandText(activity, router.names);
    if (!text) {
      await context.sendActivity(renderTeams({ visibility: 'private', text: usage }, nameOf));
      return;
    }
    const result = await run(activity, text);
    observe(result, started);
    await answer(context, result.reply);
  }

  return {
    adapter,
    chat,
    handle(req, res) {
      if (!appId && refusedWithoutAppId(req, res, logger)) return;
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) {
          res.writeHead(413).end();
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (res.writableEnded) return;
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('the body is not JSON');
          return;
        }
        const request = { body, headers: req.headers as Record<string, string | string[] | undefined>, method: req.method ?? 'POST' };
        const response = {
          socket: req.socket,
          statusCode: 200,
          headers: {} as Record<string, string>,
          status(code: number) {
            this.statusCode = code;
            return this;
          },
          header(name: string, value: unknown) {
            this.headers[name] = String(value);
            return this;
          },
          send(payload?: unknown) {
            if (res.writableEnded) return;
            const text = payload === undefined ? '' : typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
            if (payload !== undefined && typeof payload === 'object' && !Buffer.isBuffer(payload)) this.headers['content-type'] ??= 'application/json';
            res.writeHead(this.statusCode, this.headers).end(text);
          },
          end() {
            if (!res.writableEnded) res.writeHead(this.statusCode, this.headers).end();
          },
        };
        adapter.process(request, response, onTurn).catch((error: unknown) => {
          logger.error({ err: error }, 'Teams request failed');
          if (!res.writableEnded) res.writeHead(500).end();
        });
      });
    },
  };
}
