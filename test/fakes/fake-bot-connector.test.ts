/**
 * Contract tests for the Bot Framework Connector fake and the offline identity kit, driven through the real clients:
 * the Microsoft 365 Agents SDK's CloudAdapter and ConnectorClient (@microsoft/agents-hosting, configured as firelane
 * configures them in src/adapters/teams/bot-adapter.ts: inbound POST /api/messages on a node:http server, outbound
 * calls to the activity's serviceUrl), and firelane's own token check (bot-token.ts) against the kit's keys. The fake
 * is held to the wire protocol production code sees.
 *
 * No test may leave the machine: every socket connect to a non-loopback host is refused and recorded, and each test
 * asserts nothing was attempted.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CloudAdapter, type ConnectorClient, type TurnContext } from '@microsoft/agents-hosting';
import type { Activity, ConversationParameters, ConversationReference } from '@microsoft/agents-activity';
import {
  BOT_FRAMEWORK_SCOPE as SDK_SCOPE,
  createBotAdapter,
  type TokenSource,
} from '../../src/adapters/teams/bot-adapter.js';
import { createBotTokenVerifier, TokenRefused } from '../../src/adapters/teams/bot-token.js';
import { createServiceUrlPolicy } from '../../src/adapters/teams/service-urls.js';
import { ADAPTIVE_CARD, adaptiveCards, startFakeBotConnector, type FakeBotConnector } from './fake-bot-connector.js';
import {
  BOT_FRAMEWORK_SCOPE,
  OUTBOUND_TOKEN,
  generateSigningKey,
  startBotAuthServer,
  type BotAuthKit,
} from '../support/bot-auth.js';

// ---------------------------------------------------------------------------------------------------------------
// Network guard: refuse (and record) any TCP/TLS connect to a host that is not loopback.
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);
const blockedHosts: string[] = [];
const realConnect = net.Socket.prototype.connect;
beforeAll(() => {
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const first: unknown = Array.isArray(args[0]) ? args[0][0] : args[0];
    let host: string | undefined;
    if (typeof first === 'number') host = typeof args[1] === 'string' ? args[1] : 'localhost';
    else if (typeof first === 'object' && first !== null && !('path' in first && (first as { path?: unknown }).path)) {
      host = (first as { host?: string }).host ?? 'localhost';
    }
    if (host !== undefined && !LOOPBACK.has(host)) {
      blockedHosts.push(host);
      process.nextTick(() => this.destroy(new Error(`test network guard: connection to ${host} refused`)));
      return this;
    }
    return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof realConnect;
});
afterAll(() => {
  net.Socket.prototype.connect = realConnect;
});
afterEach(() => {
  expect(blockedHosts, 'a test tried to reach a non-loopback host').toEqual([]);
});

// ---------------------------------------------------------------------------------------------------------------
// node:http -> CloudAdapter.process glue: the SDK takes a parsed body and an express-like response.
interface BotHost {
  url: string;
  close(): Promise<void>;
}
/** `user` is the caller's identity as firelane hands it to the SDK: the verified token's claims ({} without an app id). */
async function startBotHost(
  adapter: CloudAdapter,
  logic: (ctx: TurnContext) => Promise<void>,
  user: Record<string, unknown> = {},
): Promise<BotHost> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      let status = 200;
      let payload: unknown;
      const response = {
        get headersSent() {
          return res.headersSent;
        },
        get writableEnded() {
          return res.writableEnded;
        },
        status(code: number) {
          status = code;
          return this;
        },
        setHeader(name: string, value: string) {
          res.setHeader(name, value);
          return this;
        },
        send(b?: unknown) {
          payload = b;
          return this;
        },
        end() {
          res.writeHead(status).end(payload === undefined ? '' : JSON.stringify(payload));
          return this;
        },
      };
      await adapter.process({ body, headers: req.headers, method: req.method ?? 'POST', user }, response, logic);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function post(url: string, activity: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(activity),
  });
  return { status: res.status, text: await res.text() };
}

// ---------------------------------------------------------------------------------------------------------------
// Teams fixtures.
const TENANT = 'tenant-0001';
const TEAM = '19:team-general@thread.tacv2';
const CHANNEL = '19:incidents-abc@thread.tacv2';
const ROOT_ID = '1700000000001';
const THREAD = `${CHANNEL};messageid=${ROOT_ID}`;
const BOT = { id: '28:bot-app-id', name: 'firelane' };
const ADA = {
  id: '29:1ada-lovelace',
  name: 'Ada Lovelace',
  aadObjectId: '00000000-0000-0000-0000-00000000ada1',
  userPrincipalName: 'ada@example.com',
};
const BOB = {
  id: '29:1bob-builder',
  name: 'Bob Builder',
  aadObjectId: '00000000-0000-0000-0000-00000000b0b1',
  userPrincipalName: 'bob@example.com',
};

let seq = 0;
/** A channel-thread message from Ada, as Teams posts it to the bot. */
function teamsMessage(serviceUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'message',
    id: String(1700000001000 + ++seq),
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl,
    from: { id: ADA.id, name: ADA.name, aadObjectId: ADA.aadObjectId },
    recipient: BOT,
    conversation: { id: THREAD, conversationType: 'channel', isGroup: true, tenantId: TENANT },
    channelData: {
      teamsChannelId: CHANNEL,
      teamsTeamId: TEAM,
      channel: { id: CHANNEL },
      team: { id: TEAM },
      tenant: { id: TENANT },
    },
    text: '<at>firelane</at> status',
    entities: [{ type: 'mention', text: '<at>firelane</at>', mentioned: BOT }],
    locale: 'en-US',
    ...overrides,
  };
}

const card = (title: string) =>
  ({
    type: 'message',
    attachments: [
      {
        contentType: ADAPTIVE_CARD,
        content: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: title, weight: 'Bolder' }] },
      },
    ],
  }) as unknown as Activity;
const text = (t: string) => ({ type: 'message', text: t }) as Activity;

/** The SDK's outbound errors are HttpErrors: `status`, and the parsed body as `response.data`. */
type HttpErrorLike = Error & { status?: number; response?: { data?: unknown } };
async function rejectionOf(p: Promise<unknown>): Promise<HttpErrorLike> {
  try {
    await p;
  } catch (err) {
    return err as HttpErrorLike;
  }
  throw new Error('expected a rejection');
}
const codeOf = (e: HttpErrorLike) => (e.response?.data as { error?: { code?: string } } | undefined)?.error?.code;

/** The adapter firelane builds without an app id (emulator mode), allowed to reach `fakes`. */
const emulatorAdapter = (...fakes: FakeBotConnector[]) => {
  const adapter = createBotAdapter({ policy: createServiceUrlPolicy({ extra: fakes.map((f) => f.url) }) });
  // Let a failing turn reject process(), instead of the SDK's default "The agent encountered an error" replies.
  adapter.onTurnError = undefined as never;
  return adapter;
};
const connectorOf = (ctx: TurnContext, adapter: CloudAdapter) =>
  ctx.turnState.get<ConnectorClient>(adapter.ConnectorClientKey);
const params = (p: Record<string, unknown>) => p as unknown as ConversationParameters;

// ---------------------------------------------------------------------------------------------------------------
describe('network guard', () => {
  it('refuses connections to the public Bot Framework login hosts', async () => {
    await expect(fetch('https://login.botframework.com/v1/.well-known/openidconfiguration')).rejects.toThrow();
    expect(blockedHosts).toEqual(['login.botframework.com']);
    blockedHosts.length = 0;
  });
});

describe('the Agents SDK CloudAdapter without an app id against the fake connector', () => {
  let fake: FakeBotConnector;
  let host: BotHost | undefined;
  let adapter: CloudAdapter;
  const serve = async (logic: (ctx: TurnContext) => Promise<void>) => (host = await startBotHost(adapter, logic));

  beforeEach(async () => {
    fake = await startFakeBotConnector();
    adapter = emulatorAdapter(fake);
  });
  afterEach(async () => {
    await host?.close();
    host = undefined;
    await fake.close();
  });

  it('replies with text and an Adaptive Card to the thread conversation, ids raw in the path, no Authorization', async () => {
    await serve(async (ctx) => {
      await ctx.sendActivity('Incident #42 acknowledged');
      await ctx.sendActivity(card('SEV2: checkout down'));
    });
    const inbound = teamsMessage(fake.url);
    expect((await post(host!.url, inbound)).status).toBe(200);

    const posts = fake.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.path)).toEqual([
      `/v3/conversations/${THREAD}/activities/${inbound.id}`,
      `/v3/conversations/${THREAD}/activities/${inbound.id}`,
    ]);
    expect(posts.every((r) => r.authorization === undefined && r.status === 201)).toBe(true);

    const [reply, cardMsg] = fake.messagesIn(THREAD);
    expect(reply).toMatchObject({
      type: 'message',
      text: 'Incident #42 acknowledged',
      replyToId: inbound.id,
      via: 'reply',
      conversationId: THREAD,
    });
    expect(reply!.from).toEqual(BOT);
    expect(reply!.recipient).toMatchObject({ id: ADA.id });
    expect(cardMsg!.attachments).toHaveLength(1);
    expect(adaptiveCards(cardMsg!)[0]).toMatchObject({ type: 'AdaptiveCard', body: [{ text: 'SEV2: checkout down' }] });
    expect(reply!.id).toMatch(/^\d{13,}$/);
    expect(new Set([reply!.id, cardMsg!.id]).size).toBe(2);
    expect(fake.conversation(THREAD)).toMatchObject({ kind: 'channel-thread', channelId: CHANNEL });
  });

  it('records mention entities and returns the ids sendActivity resolves with', async () => {
    let sentId: string | undefined;
    await serve(async (ctx) => {
      const mention = { type: 'mention', text: `<at>${ADA.name}</at>`, mentioned: { id: ADA.id, name: ADA.name } };
      sentId = (
        await ctx.sendActivity({
          type: 'message',
          text: `Paging <at>${ADA.name}</at>`,
          entities: [mention],
        } as unknown as Activity)
      )?.id;
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);
    const [msg] = fake.messagesIn(THREAD);
    expect(msg!.id).toBe(sentId);
    expect(msg!.entities).toEqual([
      { type: 'mention', text: '<at>Ada Lovelace</at>', mentioned: { id: ADA.id, name: ADA.name } },
    ]);
  });

  it('updates an activity in place and deletes it; unknown activities are 404 with the Bot Framework error body', async () => {
    const errors: HttpErrorLike[] = [];
    await serve(async (ctx) => {
      const sent = await ctx.sendActivity(card('Deploy pending'));
      await ctx.updateActivity({ ...card('Deploy approved'), id: sent!.id } as Activity);
      errors.push(await rejectionOf(ctx.updateActivity({ ...text('x'), id: '999' } as Activity)));
      const temp = await ctx.sendActivity('temporary');
      await ctx.deleteActivity(temp!.id);
      errors.push(await rejectionOf(ctx.deleteActivity(temp!.id)));
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);

    const put = fake.requests.find((r) => r.method === 'PUT' && r.status === 200)!;
    expect(put.decodedPath).toMatch(new RegExp(`^/v3/conversations/${THREAD.replace(/[.]/g, '\\.')}/activities/\\d+$`));
    const msgs = fake.messagesIn(THREAD);
    expect(msgs).toHaveLength(1);
    expect(adaptiveCards(msgs[0]!)[0]).toMatchObject({ body: [{ text: 'Deploy approved' }] });
    expect(msgs[0]!.history).toHaveLength(1);
    expect(
      fake.activities
        .get(THREAD)!
        .filter((a) => a.deleted)
        .map((a) => a.text),
    ).toEqual(['temporary']);
    expect(errors.map((e) => e.status)).toEqual([404, 404]);
    expect(codeOf(errors[0]!)).toBe('ActivityNotFound');
  });

  it('sends proactively with continueConversation and a stored ConversationReference', async () => {
    let reference: ConversationReference | undefined;
    await serve(async (ctx) => {
      reference = ctx.activity.getConversationReference();
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);
    expect(fake.requests).toHaveLength(0);

    const stored = JSON.parse(JSON.stringify({ ...reference, activityId: undefined })) as ConversationReference; // as if read back from the DB
    // Without an app id only an identity without an audience signs nothing.
    await adapter.continueConversation({}, stored, async (ctx) => {
      expect(ctx.activity.name).toBe('ContinueConversation');
      await ctx.sendActivity('Reminder: post an update for incident #42');
    });
    const [msg] = fake.messagesIn(THREAD);
    expect(msg).toMatchObject({ text: 'Reminder: post an update for incident #42', conversationId: THREAD });
    // The continuation activity carries a random uuid as its id, and the SDK replies "to" it.
    expect(msg!.via).toBe('reply');
    expect(msg!.replyToId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fake.requests[0]!.authorization).toBeUndefined();
  });

  it('creates a new channel thread with createConversationAsync and posts into it', async () => {
    let created: string | undefined;
    const thread = params({
      isGroup: true,
      agent: BOT,
      bot: BOT,
      channelData: { channel: { id: CHANNEL }, tenant: { id: TENANT } },
      activity: card('Incident #43 declared'),
    });
    await adapter.createConversationAsync('', 'msteams', fake.url, SDK_SCOPE, thread, async (ctx) => {
      created = ctx.activity.conversation!.id;
      await ctx.sendActivity('Responders: please join');
    });

    const createReq = fake.requests.find((r) => r.method === 'POST' && r.path === '/v3/conversations')!;
    expect(createReq.status).toBe(201);
    // The SDK sends the parameters as given: `bot` (the wire name) only because firelane adds it beside `agent`.
    expect(createReq.body).toMatchObject({ isGroup: true, bot: BOT, agent: BOT });
    expect(created).toMatch(new RegExp(`^${CHANNEL.replace(/[.]/g, '\\.')};messageid=\\d{13,}$`));
    const messages = fake.messagesIn(created!);
    expect(messages.map((m) => m.via)).toEqual(['create', 'reply']);
    expect(adaptiveCards(messages[0]!)[0]).toMatchObject({ body: [{ text: 'Incident #43 declared' }] });
    expect(messages[0]!.id).toBe(created!.split('=')[1]);
    expect(messages[1]!.text).toBe('Responders: please join');
    expect(fake.conversation(created!)).toMatchObject({
      kind: 'channel-thread',
      channelId: CHANNEL,
      tenantId: TENANT,
      createdBy: 'createConversation',
    });
  });

  it('creates (and re-finds) a 1:1 chat; group chats and channel threads without an activity are rejected', async () => {
    const ids: string[] = [];
    const personal = params({
      isGroup: false,
      agent: BOT,
      members: [{ id: ADA.id }],
      channelData: { tenant: { id: TENANT } },
    });
    for (let i = 0; i < 2; i++) {
      await adapter.createConversationAsync('', 'msteams', fake.url, SDK_SCOPE, personal, async (ctx) => {
        ids.push(ctx.activity.conversation!.id);
        await ctx.sendActivity(`DM ${i}`);
      });
    }
    expect(ids[0]).toMatch(/^a:1[\w-]+$/);
    expect(ids[1]).toBe(ids[0]);
    expect(fake.messagesIn(ids[0]!).map((m) => m.text)).toEqual(['DM 0', 'DM 1']);

    const noop = async () => {};
    const groupErr = await rejectionOf(
      adapter.createConversationAsync(
        '',
        'msteams',
        fake.url,
        SDK_SCOPE,
        params({ isGroup: true, members: [{ id: ADA.id }, { id: BOB.id }] }),
        noop,
      ),
    );
    expect(groupErr.status).toBe(400);
    expect(codeOf(groupErr)).toBe('BadArgument');
    expect(
      (
        await rejectionOf(
          adapter.createConversationAsync(
            '',
            'msteams',
            fake.url,
            SDK_SCOPE,
            params({ isGroup: true, channelData: { channel: { id: CHANNEL } } }),
            noop,
          ),
        )
      ).status,
    ).toBe(400);
  });

  it('serves a seeded member to ConnectorClient.getConversationMember by 29: id, AAD object id or UPN, percent-encoded as firelane sends them', async () => {
    fake.addMember(CHANNEL, ADA);
    fake.addMember(CHANNEL, BOB);
    const seen: Record<string, unknown> = {};
    await serve(async (ctx) => {
      const connector = connectorOf(ctx, adapter);
      const inChannel = encodeURIComponent(CHANNEL);
      seen.member = await connector.getConversationMember(encodeURIComponent(ADA.id), inChannel);
      seen.byAad = await connector.getConversationMember(BOB.aadObjectId, inChannel);
      seen.byUpn = await connector.getConversationMember(encodeURIComponent(BOB.userPrincipalName), inChannel);
      seen.inThread = await connector.getConversationMember(encodeURIComponent(ADA.id), encodeURIComponent(THREAD));
      seen.missing = await rejectionOf(connector.getConversationMember(encodeURIComponent('29:nobody'), inChannel));
      seen.unknownChat = await rejectionOf(
        connector.getConversationMember(encodeURIComponent(ADA.id), encodeURIComponent('19:unknown_chat@thread.v2')),
      );
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);

    expect(fake.requests[0]!.path).toBe(
      '/v3/conversations/19%3Aincidents-abc%40thread.tacv2/members/29%3A1ada-lovelace',
    );
    expect(seen.member).toMatchObject({
      id: ADA.id,
      name: ADA.name,
      aadObjectId: ADA.aadObjectId,
      userPrincipalName: ADA.userPrincipalName,
    });
    expect(seen.byAad).toMatchObject({ id: BOB.id, name: BOB.name });
    expect(seen.byUpn).toMatchObject({ id: BOB.id });
    expect(seen.inThread).toMatchObject({ id: ADA.id });
    expect((seen.missing as HttpErrorLike).status).toBe(404);
    expect(codeOf(seen.missing as HttpErrorLike)).toBe('MemberNotFoundInConversation');
    expect(codeOf(seen.unknownChat as HttpErrorLike)).toBe('ConversationNotFound');
  });

  it("throttling: the SDK does not retry a 429 (firelane's outbox retries the job): it surfaces at once", async () => {
    fake.failNext({ method: 'POST', path: /\/activities\//, status: 429, headers: { 'Retry-After': '0' } });
    let err: HttpErrorLike | undefined;
    await serve(async (ctx) => {
      err = await rejectionOf(ctx.sendActivity('first'));
      await ctx.sendActivity('second');
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);
    expect(fake.requests.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual([429, 201]);
    expect(err).toMatchObject({ status: 429 });
    expect(codeOf(err!)).toBe('TooManyRequests');
    expect(fake.messagesIn(THREAD).map((m) => m.text)).toEqual(['second']);
  });

  it('failNext errors use the Bot Framework shape, and with no onTurnError a failing turn rejects process()', async () => {
    fake.failNext({
      method: 'POST',
      path: new RegExp(`^/v3/conversations/${THREAD.replace(/[.]/g, '\\.')}/activities/\\d+$`),
      status: 403,
      body: {
        error: { code: 'BotNotInConversationRoster', message: 'The bot is not part of the conversation roster.' },
      },
    });
    await serve(async (ctx) => {
      await ctx.sendActivity('will fail');
    });
    const res = await post(host!.url, teamsMessage(fake.url));
    expect(res.status).toBe(500);
    expect(res.text).toContain('Request failed with status 403');
    expect(fake.requests[0]).toMatchObject({ status: 403 });
    expect(fake.messagesIn(THREAD)).toEqual([]);
  });

  it('rejects oversized activities with 413 like Teams', async () => {
    let err: HttpErrorLike | undefined;
    await serve(async (ctx) => {
      err = await rejectionOf(ctx.sendActivity('x'.repeat(40 * 1024)));
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);
    expect(err?.status).toBe(413);
    expect(codeOf(err!)).toBe('MessageSizeTooBig');
  });

  it('knownConversationsOnly: unknown conversations are 404 ConversationNotFound until seeded', async () => {
    const strict = await startFakeBotConnector({ knownConversationsOnly: true });
    try {
      const own = emulatorAdapter(strict);
      const reference = {
        channelId: 'msteams',
        serviceUrl: strict.url,
        agent: BOT,
        user: { id: ADA.id },
        conversation: { id: THREAD, isGroup: true },
      } as ConversationReference;
      const send = () => own.continueConversation({}, reference, async (ctx) => void (await ctx.sendActivity('hi')));
      expect((await rejectionOf(send())).status).toBe(404);
      strict.addConversation(CHANNEL, { tenantId: TENANT }); // threads of a known channel are known
      await send();
      expect(strict.messagesIn(THREAD).map((m) => m.text)).toEqual(['hi']);
    } finally {
      await strict.close();
    }
  });

  it('in requireAuth mode, calls without a token are refused with 401', async () => {
    const strict = await startFakeBotConnector({ requireAuth: true });
    try {
      const own = emulatorAdapter(strict);
      const reference = {
        channelId: 'msteams',
        serviceUrl: strict.url,
        agent: BOT,
        conversation: { id: THREAD, isGroup: true },
      } as ConversationReference;
      const err = await rejectionOf(
        own.continueConversation({}, reference, async (ctx) => void (await ctx.sendActivity('hello'))),
      );
      expect(err.status).toBe(401);
      expect(strict.requests[0]).toMatchObject({ status: 401, authorization: undefined });
      expect(err.response?.data).toEqual({ message: 'Authorization has been denied for this request.' });
      expect(strict.activities.size).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it("the SDK itself refuses to build a client for a service URL firelane's policy does not allow", async () => {
    const other = await startFakeBotConnector();
    try {
      const reference = {
        channelId: 'msteams',
        serviceUrl: other.url,
        agent: BOT,
        conversation: { id: THREAD, isGroup: true },
      } as ConversationReference;
      await expect(
        adapter.continueConversation({}, reference, async (ctx) => void (await ctx.sendActivity('hi'))),
      ).rejects.toThrow();
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe("the bot-auth kit against firelane's token check, and the SDK's outbound tokens", () => {
  const APP_ID = '11111111-2222-3333-4444-555555555555';
  let kit: BotAuthKit;
  let fake: FakeBotConnector;

  beforeAll(async () => {
    kit = await startBotAuthServer();
    fake = await startFakeBotConnector({ requireAuth: true, token: OUTBOUND_TOKEN });
  });
  afterAll(async () => {
    await fake.close();
    await kit.close();
  });
  beforeEach(() => fake.reset());

  const verify = createBotTokenVerifier({ appId: APP_ID, identity: { openIdMetadataUrl: '', issuer: '' } });
  const verifier = () => createBotTokenVerifier({ appId: APP_ID, identity: kit.identity });
  const activity = () => ({ channelId: 'msteams', serviceUrl: fake.url });
  const bearer = (o: Partial<Parameters<BotAuthKit['signActivityToken']>[0]> = {}) =>
    `Bearer ${kit.signActivityToken({ appId: APP_ID, serviceUrl: fake.url, ...o })}`;
  const reasonOf = async (p: Promise<unknown>) => {
    const error = await rejectionOf(p);
    expect(error).toBeInstanceOf(TokenRefused);
    return (error as unknown as TokenRefused).reason;
  };

  it('accepts a correctly signed token, fetching the metadata and keys from loopback once', async () => {
    const check = verifier();
    const claims = await check(bearer(), activity());
    expect(claims).toMatchObject({ aud: APP_ID, iss: 'https://api.botframework.com', serviceurl: fake.url });
    await check(bearer(), { ...activity(), serviceUrl: fake.url.replace(/\/$/, '') }); // a trailing slash aside
    expect(kit.requests.map((r) => r.path)).toEqual(['/v1/.well-known/openidconfiguration', '/v1/.well-known/keys']);
    // 4 minutes past expiry is within the 5 minutes of clock skew.
    await check(bearer({ expiresInSec: -240 }), activity());
  });

  it.each([
    ['no Authorization header', () => undefined, 'no Authorization header'],
    ['another scheme', () => 'Basic abc', 'malformed Authorization header'],
    ['a wrong audience', () => bearer({ appId: 'some-other-bot' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an expired token (beyond the 5 minute skew)', () => bearer({ expiresInSec: -600 }), 'ERR_JWT_EXPIRED'],
    ['an unknown kid', () => bearer({ kid: 'no-such-key' }), 'unknown signing key no-such-key'],
    ['a wrong issuer', () => bearer({ issuer: 'https://evil.example.com' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    [
      'a serviceurl claim for another service',
      () => bearer({ serviceUrl: 'http://127.0.0.1:1/' }),
      'serviceurl claim does not match the activity',
    ],
    [
      'a token signed by another key with the same kid',
      () => bearer({ key: generateSigningKey(kit.kid).privateKey }),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    ],
    ['a header claiming HS256', () => bearer({ alg: 'HS256' }), 'unexpected token header (alg HS256)'],
  ])('refuses %s', async (_name, header, reason) => {
    expect(await reasonOf(verifier()(header(), activity()))).toBe(reason);
  });

  it('enforces the key endorsements: a valid token for a channel the key is not endorsed for is refused', async () => {
    expect(await reasonOf(verifier()(bearer(), { ...activity(), channelId: 'slack' }))).toBe(
      'key not endorsed for channel slack',
    );
  });

  it('the default identity is the public Bot Framework: its metadata host is what the network guard stops', async () => {
    const publicCheck = createBotTokenVerifier({ appId: APP_ID });
    expect(await reasonOf(publicCheck(bearer(), activity()))).toMatch(/^signing keys unavailable/);
    expect(blockedHosts).toEqual(['login.botframework.com']);
    blockedHosts.length = 0;
    // An empty identity is no identity at all.
    expect(await reasonOf(verify(bearer(), activity()))).toMatch(/^signing keys unavailable/);
  });

  it("without a token source (production), outbound tokens come from Entra ID through the SDK's MSAL provider: the host the guard stops", async () => {
    const adapter = createBotAdapter({
      appId: APP_ID,
      appPassword: 'secret',
      policy: createServiceUrlPolicy({ extra: [fake.url] }),
    });
    const reference = {
      channelId: 'msteams',
      serviceUrl: fake.url,
      agent: BOT,
      conversation: { id: THREAD, isGroup: true },
    } as ConversationReference;
    await expect(
      adapter.continueConversation(APP_ID, reference, async (ctx) => void (await ctx.sendActivity('x'))),
    ).rejects.toThrow();
    expect(blockedHosts).toContain('login.microsoftonline.com');
    blockedHosts.length = 0;
    expect(fake.requests).toHaveLength(0);
  });

  it('replies, proactive posts and new threads carry the outbound token; the SDK asks for the Bot Framework scope', async () => {
    const tokens = kit.tokenSource();
    const adapter = createBotAdapter({
      appId: APP_ID,
      appPassword: 'unused',
      tokenSource: tokens as TokenSource,
      policy: createServiceUrlPolicy({ extra: [fake.url] }),
    });
    // The inbound identity as firelane hands it to the SDK after its own check: the verified claims.
    const claims = await verifier()(bearer(), activity());
    const host = await startBotHost(
      adapter,
      async (ctx) => void (await ctx.sendActivity('authenticated reply')),
      claims,
    );
    try {
      expect((await post(host.url, teamsMessage(fake.url))).status).toBe(200);
      const reference = {
        channelId: 'msteams',
        serviceUrl: fake.url,
        agent: BOT,
        conversation: { id: THREAD, isGroup: true },
      } as ConversationReference;
      await adapter.continueConversation(
        APP_ID,
        reference,
        async (ctx) => void (await ctx.sendActivity('proactive, authenticated')),
      );
      const thread = params({
        isGroup: true,
        agent: BOT,
        bot: BOT,
        channelData: { channel: { id: CHANNEL }, tenant: { id: TENANT } },
        activity: text('new thread'),
      });
      let created = '';
      await adapter.createConversationAsync(APP_ID, 'msteams', fake.url, SDK_SCOPE, thread, async (ctx) => {
        created = ctx.activity.conversation!.id;
      });
      expect(fake.requests.map((r) => [r.status, r.authorization])).toEqual([
        [201, `Bearer ${OUTBOUND_TOKEN}`],
        [201, `Bearer ${OUTBOUND_TOKEN}`],
        [201, `Bearer ${OUTBOUND_TOKEN}`],
      ]);
      expect(fake.messagesIn(THREAD).map((m) => m.text)).toEqual(['authenticated reply', 'proactive, authenticated']);
      expect(fake.messagesIn(created).map((m) => m.text)).toEqual(['new thread']);
      expect(new Set(tokens.scopes)).toEqual(new Set([BOT_FRAMEWORK_SCOPE]));
    } finally {
      await host.close();
    }
  });
});
