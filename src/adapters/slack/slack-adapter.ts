// Slack as one piece for the composition root: the Web API client, who the bot is, the ChatPort on
// that client and Bolt's handler of POST /slack/events. Everything Slack-shaped is built here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import type { PinInput } from '../../commands/incident/pin-message.js';
import type { Router } from '../../commands/router.js';
import type { Metrics } from '../../metrics.js';
import type { ChatPort } from '../../ports/chat.js';
import { createSlackApp, SLACK_PATH } from './slack-app.js';
import { createSlackChat } from './slack-chat.js';
import { createSlackFetch } from './slack-fetch.js';

export { SLACK_PATH };

export interface SlackAdapterOptions {
  botToken: string;
  signingSecret: string;
  /** SLACK_API_URL (GovSlack, proxies, tests). */
  apiUrl?: string;
  /** Overrides of the Web API client's options (tests: no retries). */
  clientOptions?: Partial<WebClientOptions>;
  announceChannel?: string;
  escalationChannel?: string;
  router: Router;
  logger: Logger;
  metrics: Metrics;
  /** A 📌 reaction on a message; false when the room is no war room. */
  onPin(input: PinInput): Promise<boolean>;
}

export interface SlackAdapter {
  chat: ChatPort;
  /** POST /slack/events. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** Asks Slack who the bot is; Bolt needs it and so does the invite filter. A refused token stops start-up. */
async function identifyBot(client: WebClient, logger: Logger): Promise<{ botUserId: string; botId: string }> {
  try {
    const auth = await client.auth.test();
    return { botUserId: auth.user_id ?? '', botId: auth.bot_id ?? '' };
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error;
    if (code === 'invalid_auth' || code === 'not_authed' || code === 'account_inactive' || code === 'token_revoked') {
      throw new Error(`SLACK_BOT_TOKEN: Slack refused the token (${code})`);
    }
    logger.warn({ err: error }, 'Slack auth.test failed; continuing, Slack calls will be retried');
    return { botUserId: '', botId: '' };
  }
}

export async function createSlackAdapter(options: SlackAdapterOptions): Promise<SlackAdapter> {
  const { logger, metrics } = options;
  // A short retry policy: the outbox does the durable retrying (the client's default retries for half an hour).
  const clientOptions: WebClientOptions = {
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2000 },
    timeout: 10_000,
    fetch: createSlackFetch(),
    ...(options.apiUrl && { slackApiUrl: options.apiUrl }),
    ...options.clientOptions,
  };
  const client = new WebClient(options.botToken, clientOptions);
  const bot = await identifyBot(client, logger);
  const chat = createSlackChat({
    client,
    botUserId: bot.botUserId,
    metrics,
    logger,
    ...(options.announceChannel && { announceChannel: options.announceChannel }),
    ...(options.escalationChannel && { escalationChannel: options.escalationChannel }),
  });
  const app = createSlackApp({
    signingSecret: options.signingSecret,
    botToken: options.botToken,
    ...bot,
    client,
    clientOptions,
    router: options.router,
    logger,
    metrics,
    onPin: options.onPin,
  });
  return { chat, handle: app.handle };
}
