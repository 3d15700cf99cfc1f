// Bolt only here: slash commands, buttons and the declare modal on POST /slack/events.
// Bolt verifies the signature; we also refuse timestamps from the future, which Bolt accepts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { WebClient, WebClientOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Router, RouterResult } from '../../commands/router.js';
import { cleanStrings } from '../../domain/clean-text.js';
import type { PinInput } from '../../commands/incident/pin-message.js';
import type { Metrics } from '../../metrics.js';
import { BUTTON_ACTION_PREFIX, renderSlack, renderSlackResponse } from './render.js';
import { DECLARE_CALLBACK_ID, declareModal, modalToCommand } from './to-command.js';

export const SLACK_PATH = '/slack/events';
const MAX_SKEW_SECONDS = 5 * 60;

export interface SlackAppOptions {
  signingSecret: string;
  botToken: string;
  botUserId: string;
  botId: string;
  client: WebClient;
  router: Router;
  logger: Logger;
  metrics?: Metrics;
  clientOptions: WebClientOptions;
  /** A 📌 reaction on a message; returns false when the room is no war room. */
  onPin(input: PinInput): Promise<boolean>;
  now?: () => number;
}

function boltLogger(logger: Logger): BoltLogger {
  const log = logger.child({ component: 'bolt' });
  return {
    debug: (...msg) => log.debug(msg.join(' ')),
    info: (...msg) => log.info(msg.join(' ')),
    warn: (...msg) => log.warn(msg.join(' ')),
    error: (...msg) => log.error(msg.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

export interface SlackHttp {
  /** Handles POST /slack/events. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  app: App;
}

export function createSlackApp(options: SlackAppOptions): SlackHttp {
  const { router, logger, metrics, client } = options;
  const now = options.now ?? Date.now;
  const arrivals = new WeakMap<IncomingMessage, number>();
  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret,
    endpoints: [SLACK_PATH],
    processBeforeResponse: false,
    logger: boltLogger(logger),
    customPropertiesExtractor: (req) => ({
      receivedAt: arrivals.get(req as unknown as IncomingMessage) ?? performance.now(),
    }),
  });
  const app = new App({
    receiver,
    token: options.botToken,
    botId: options.botId,
    botUserId: options.botUserId,
    logger: boltLogger(logger),
    clientOptions: options.clientOptions,
    // Bolt's default in-memory conversation store runs on every request; firelane keeps its state in SQLite.
    convoStore: false,
  });
  // One Web API client for the whole process: Bolt's listeners get the adapter's (its retry policy,
  // its undici fetch, its metrics) instead of a second one Bolt would build from the same token.
  app.client = client;
  // Before any listener: every string of the verified request (command text, button values, form
  // fields, event payloads) without the control characters firelane never stores.
  app.use(async ({ body, next }) => {
    cleanStrings(body);
    await next();
  });

  function observe(result: RouterResult, receivedAt: unknown): void {
    metrics?.commandsTotal.inc({ platform: 'slack', command: result.command, outcome: result.outcome });
    if (typeof receivedAt === 'number') {
      metrics?.ackLatency.observe(
        { platform: 'slack', command: result.command },
        (performance.now() - receivedAt) / 1000,
      );
    }
  }

  // One listener for every command name: Bolt runs each listener's middleware for every request it
  // receives, so one per name made every acknowledgement pay for all of them (a micro-bench of
  // processEvent: 110-125 µs per command with one listener per name, 65-83 µs with this one).
  const commandNames = new RegExp(`^/(?:${router.names.join('|')})$`);
  app.command(commandNames, async ({ command, ack, respond, context }) => {
    if (command.command === '/incident' && command.text.trim() === '') {
      await ack();
      try {
        await client.views.open({ trigger_id: command.trigger_id, view: declareModal(command.channel_id) });
      } catch (error) {
        logger.warn({ err: error }, 'could not open the declare form');
        await respond({
          response_type: 'ephemeral',
          text: 'Could not open the declare form. Type it instead: `/incident sev1 Payment gateway down`',
        });
      }
      return;
    }
    const result = await router.handle({
      text: `${command.command} ${command.text}`,
      textFormat: 'slack',
      actor: { id: command.user_id, name: command.user_name },
      platform: 'slack',
      roomId: command.channel_id,
      idempotencyKey: `slack:command:${command.trigger_id}`,
    });
    await ack(renderSlackResponse(result.reply));
    observe(result, context.receivedAt);
  });

  app.action(new RegExp(`^${BUTTON_ACTION_PREFIX}`), async ({ action, body, ack, respond, context }) => {
    if (action.type !== 'button' || body.type !== 'block_actions') return ack();
    const result = await router.handle({
      text: action.value ?? '',
      actor: { id: body.user.id, name: body.user.name },
      platform: 'slack',
      ...(body.channel?.id && { roomId: body.channel.id }),
      idempotencyKey: `slack:action:${body.container?.message_ts ?? ''}:${(action as { action_ts?: string }).action_ts ?? ''}:${body.user.id}`,
    });
    await ack();
    observe(result, context.receivedAt);
    await respond({ ...renderSlackResponse({ ...result.reply, visibility: 'private' }), replace_original: false });
  });

  app.view(DECLARE_CALLBACK_ID, async ({ view, body, ack, context }) => {
    const { parsed, roomId } = modalToCommand(view);
    const result = await router.handle({
      text: '/incident (declare form)',
      parsed,
      actor: { id: body.user.id, name: body.user.name },
      platform: 'slack',
      ...(roomId && { roomId }),
      idempotencyKey: `slack:view:${view.id}`,
    });
    observe(result, context.receivedAt);
    if (result.outcome === 'invalid' || result.outcome === 'refused') {
      await ack({ response_action: 'errors', errors: { title: result.reply.text.split('\n')[0]!.slice(0, 150) } });
      return;
    }
    await ack();
    if (result.outcome !== 'ok') return;
    // A modal has no channel to answer in: confirm in the declarer's direct messages with firelane.
    try {
      await client.chat.postMessage({ channel: body.user.id, ...renderSlack(result.reply) });
    } catch (error) {
      logger.warn({ err: error }, 'could not confirm the declaration by direct message');
    }
  });

  // Bolt acknowledges events before listeners run; the listener only queues work (idempotent by
  // message), so Slack's retries of the same event (X-Slack-Retry-Num) change nothing.
  app.event('reaction_added', async ({ event }) => {
    if (event.reaction !== 'pushpin' || event.item.type !== 'message') return;
    await options.onPin({ platform: 'slack', roomId: event.item.channel, messageId: event.item.ts, actor: event.user });
  });

  app.error(async (error) => {
    logger.error({ err: error }, 'Slack listener failed');
  });

  return {
    app,
    handle(req, res) {
      arrivals.set(req, performance.now());
      const timestamp = Number(req.headers['x-slack-request-timestamp']);
      if (!Number.isFinite(timestamp) || Math.abs(now() / 1000 - timestamp) > MAX_SKEW_SECONDS) {
        logger.warn(
          { timestamp: req.headers['x-slack-request-timestamp'] },
          'refused Slack request: timestamp missing or more than 5 minutes off',
        );
        res.writeHead(401, { 'content-type': 'text/plain' }).end('invalid request timestamp');
        req.resume();
        return;
      }
      receiver.requestListener(req, res);
    },
  };
}
