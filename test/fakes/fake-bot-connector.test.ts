/**
 * Contract tests for the Bot Framework Connector fake and the offline identity kit: everything is driven through the
 * real botbuilder 4.23 CloudAdapter (inbound POST /api/messages on a node:http server, outbound ConnectorClient calls
 * to the activity's serviceUrl), so the fake is held to the wire protocol production code sees.
 *
 * No test may leave the machine: every socket connect to a non-loopback host is refused and recorded, and each test
 * asserts nothing was attempted.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CardFactory,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  MessageFactory,
  TeamsInfo,
  TurnContext,
  type Activity,
  type ConversationParameters,
  type ConversationReference,
  type Request as BotRequest,
  type Response as BotResponse,
} from 'botbuilder';
import { ADAPTIVE_CARD, adaptiveCards, startFakeBotConnector, type FakeBotConnector } from './fake-bot-connector.js';
import {
  BOT_FRAMEWORK_SCOPE,
  OUTBOUND_TOKEN,
  PUBLIC_AZURE_CALLER_ID,
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
// node:http -> CloudAdapter.process glue.

/**
 * CloudAdapter.process wants an express/restify-like pair: `req.body` already parsed (a plain object, else it answers
 * 400), `req.headers` with `authorization`, `req.method`; `res.status(code)`, `res.send(body)`, `res.header(k, v)`,
 * `res.end()` (checked with zod: all four must be functions) and `res.socket`.
 */
function toBotRequest(req: http.IncomingMessage, body: unknown): BotRequest {
  return { method: req.method, headers: req.headers, body: body as BotRequest['body'] };
}
function toBotResponse(res: http.ServerResponse): BotResponse {
  return {
    socket: res.socket,
    status(code: number) {
      res.statusCode = code;
      return this;
    },
    header(name: string, value: unknown) {
      res.setHeader(name, String(value));
      return this;
    },
    send(body?: unknown) {
      if (body === undefined || body === null) return this;
      if (typeof body === 'string' || Buffer.isBuffer(body)) res.write(body);
      else {
        if (!res.headersSent) res.setHeader('content-type', 'application/json; charset=utf-8');
        res.write(JSON.stringify(body));
      }
      return this;
    },
    end() {
      if (!res.writableEnded) res.end();
      return this;
    },
  };
}

interface BotHost {
  url: string;
  close(): Promise<void>;
}
async function startBotHost(adapter: CloudAdapter, logic: (ctx: TurnContext) => Promise<void>): Promise<BotHost> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end('invalid JSON');
        return;
      }
      await adapter.process(toBotRequest(req, body), toBotResponse(res), logic);
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

async function post(url: string, activity: unknown, authorization?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
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
const ADA = { id: '29:1ada-lovelace', name: 'Ada Lovelace', aadObjectId: '00000000-0000-0000-0000-00000000ada1', userPrincipalName: 'ada@example.com' };
const BOB = { id: '29:1bob-builder', name: 'Bob Builder', aadObjectId: '00000000-0000-0000-0000-00000000b0b1', userPrincipalName: 'bob@example.com' };

let seq = 0;
/** A channel-thread message from Ada, as Teams posts it to the bot. */
function teamsMessage(serviceUrl: string, overrides: Partial<Activity> = {}): Partial<Activity> {
  return {
    type: 'message',
    id: String(1700000001000 + ++seq),
    timestamp: new Date(),
    channelId: 'msteams',
    serviceUrl,
    from: { id: ADA.id, name: ADA.name, aadObjectId: ADA.aadObjectId },
    recipient: BOT,
    conversation: { id: THREAD, conversationType: 'channel', isGroup: true, tenantId: TENANT, name: '' },
    channelData: { teamsChannelId: CHANNEL, teamsTeamId: TEAM, channel: { id: CHANNEL }, team: { id: TEAM }, tenant: { id: TENANT } },
    text: '<at>firelane</at> status',
    entities: [{ type: 'mention', text: '<at>firelane</at>', mentioned: BOT }],
    locale: 'en-US',
    ...overrides,
  };
}

const card = (title: string) =>
  CardFactory.adaptiveCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: title, weight: 'Bolder' }] });

/** botbuilder's outbound errors are core-rest-pipeline RestErrors. */
type RestErrorLike = Error & { statusCode?: number; code?: string; response?: { bodyAsText?: string; headers?: unknown } };
async function rejectionOf(p: Promise<unknown>): Promise<RestErrorLike> {
  try {
    await p;
  } catch (err) {
    return err as RestErrorLike;
  }
  throw new Error('expected a rejection');
}

const noAuth = () => new CloudAdapter(new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '', MicrosoftAppPassword: '' }));

// ---------------------------------------------------------------------------------------------------------------
describe('network guard', () => {
  it('refuses connections to the public Bot Framework login hosts', async () => {
    await expect(fetch('https://login.botframework.com/v1/.well-known/openidconfiguration')).rejects.toThrow();
    expect(blockedHosts).toEqual(['login.botframework.com']);
    blockedHosts.length = 0;
  });
});

describe('CloudAdapter without an app id against the fake connector', () => {
  let fake: FakeBotConnector;
  let host: BotHost | undefined;
  let adapter: CloudAdapter;
  const serve = async (logic: (ctx: TurnContext) => Promise<void>) => (host = await startBotHost(adapter, logic));

  beforeEach(async () => {
    fake = await startFakeBotConnector();
    adapter = noAuth();
  });
  afterEach(async () => {
    await host?.close();
    host = undefined;
    await fake.close();
  });

  it('replies with text and an Adaptive Card to the percent-encoded thread conversation', async () => {
    await serve(async (ctx) => {
      await ctx.sendActivity('Incident #42 acknowledged');
      await ctx.sendActivity(MessageFactory.attachment(card('SEV2: checkout down')));
    });
    const inbound = teamsMessage(fake.url);
    const res = await post(host!.url, inbound, 'Bearer anything-goes-without-app-id');
    expect(res.status).toBe(200);

    const posts = fake.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.path)).toEqual([
      `/v3/conversations/19%3Aincidents-abc%40thread.tacv2%3Bmessageid%3D${ROOT_ID}/activities/${inbound.id}`,
      `/v3/conversations/19%3Aincidents-abc%40thread.tacv2%3Bmessageid%3D${ROOT_ID}/activities/${inbound.id}`,
    ]);
    expect(posts[0]!.decodedPath).toBe(`/v3/conversations/${THREAD}/activities/${inbound.id}`);
    expect(posts.every((r) => r.authorization === undefined && r.status === 201)).toBe(true);

    const [text, cardMsg] = fake.messagesIn(THREAD);
    expect(text).toMatchObject({ type: 'message', text: 'Incident #42 acknowledged', replyToId: inbound.id, via: 'reply', conversationId: THREAD });
    expect(text!.from).toEqual(BOT);
    expect(text!.recipient).toMatchObject({ id: ADA.id });
    expect(cardMsg!.attachments).toHaveLength(1);
    expect(cardMsg!.attachments[0]!.contentType).toBe(ADAPTIVE_CARD);
    expect(adaptiveCards(cardMsg!)[0]).toMatchObject({ type: 'AdaptiveCard', body: [{ text: 'SEV2: checkout down' }] });
    expect(text!.id).toMatch(/^\d{13,}$/);
    expect(new Set([text!.id, cardMsg!.id]).size).toBe(2);
    expect(fake.conversation(THREAD)).toMatchObject({ kind: 'channel-thread', channelId: CHANNEL });
  });

  it('records mention entities and returns the ids sendActivity resolves with', async () => {
    let sentId: string | undefined;
    await serve(async (ctx) => {
      const mention = { type: 'mention', text: `<at>${ADA.name}</at>`, mentioned: { id: ADA.id, name: ADA.name } };
      const r = await ctx.sendActivity({ type: 'message', text: `Paging <at>${ADA.name}</at>`, entities: [mention] });
      sentId = r?.id;
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);
    const [msg] = fake.messagesIn(THREAD);
    expect(msg!.id).toBe(sentId);
    expect(msg!.entities).toEqual([{ type: 'mention', text: '<at>Ada Lovelace</at>', mentioned: { id: ADA.id, name: ADA.name } }]);
  });

  it('updates an activity in place and deletes it; unknown activities are 404', async () => {
    const errors: RestErrorLike[] = [];
    await serve(async (ctx) => {
      const sent = await ctx.sendActivity(MessageFactory.attachment(card('Deploy pending')));
      await ctx.updateActivity({ ...MessageFactory.attachment(card('Deploy approved')), id: sent!.id, conversation: ctx.activity.conversation });
      errors.push(await rejectionOf(ctx.updateActivity({ ...MessageFactory.text('x'), id: '999', conversation: ctx.activity.conversation })));
      const temp = await ctx.sendActivity('temporary');
      await ctx.deleteActivity(temp!.id);
      errors.push(await rejectionOf(ctx.deleteActivity(temp!.id)));
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);

    const put = fake.requests.find((r) => r.method === 'PUT' && r.status === 200)!;
    expect(put.path).toMatch(/^\/v3\/conversations\/19%3Aincidents-abc%40thread\.tacv2%3Bmessageid%3D\d+\/activities\/\d+$/);
    const msgs = fake.messagesIn(THREAD);
    expect(msgs).toHaveLength(1);
    expect(adaptiveCards(msgs[0]!)[0]).toMatchObject({ body: [{ text: 'Deploy approved' }] });
    expect(msgs[0]!.history).toHaveLength(1);
    expect(msgs[0]!.updatedAt).toBeDefined();
    expect(fake.activities.get(THREAD)!.filter((a) => a.deleted).map((a) => a.text)).toEqual(['temporary']);

    expect(errors.map((e) => e.statusCode)).toEqual([404, 404]);
    expect(errors[0]!.code).toBe('ActivityNotFound');
    expect(JSON.parse(errors[0]!.response!.bodyAsText!)).toEqual({ error: { code: 'ActivityNotFound', message: expect.any(String) } });
  });

  it('sends proactively with continueConversationAsync and a stored ConversationReference', async () => {
    let reference: Partial<ConversationReference> | undefined;
    await serve(async (ctx) => {
      reference = TurnContext.getConversationReference(ctx.activity);
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);
    expect(fake.requests).toHaveLength(0);

    const stored = JSON.parse(JSON.stringify(reference)) as ConversationReference; // as if read back from the DB
    await adapter.continueConversationAsync('', stored, async (ctx) => {
      expect(ctx.activity.name).toBe('ContinueConversation');
      await ctx.sendActivity('Reminder: post an update for incident #42');
    });
    const [msg] = fake.messagesIn(THREAD);
    expect(msg).toMatchObject({ text: 'Reminder: post an update for incident #42', conversationId: THREAD });
    // The continuation activity carries a random uuid as its id, and botbuilder replies "to" it.
    expect(msg!.via).toBe('reply');
    expect(msg!.replyToId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creates a new channel thread with createConversationAsync and posts into it', async () => {
    let created: string | undefined;
    const params = {
      isGroup: true,
      bot: BOT,
      channelData: { channel: { id: CHANNEL }, tenant: { id: TENANT } },
      activity: MessageFactory.attachment(card('Incident #43 declared')),
    } as Partial<ConversationParameters> as ConversationParameters;
    await adapter.createConversationAsync('', 'msteams', fake.url, '', params, async (ctx) => {
      created = ctx.activity.conversation.id;
      await ctx.sendActivity('Responders: please join');
    });

    const createReq = fake.requests.find((r) => r.method === 'POST' && r.path === '/v3/conversations')!;
    expect(createReq.status).toBe(201);
    expect(created).toMatch(new RegExp(`^${CHANNEL.replace(/[.]/g, '\\.')};messageid=\\d{13,}$`));
    const messages = fake.messagesIn(created!);
    expect(messages.map((m) => m.via)).toEqual(['create', 'reply']);
    expect(adaptiveCards(messages[0]!)[0]).toMatchObject({ body: [{ text: 'Incident #43 declared' }] });
    expect(messages[0]!.id).toBe(created!.split('=')[1]);
    expect(messages[1]!.text).toBe('Responders: please join');
    expect(fake.conversation(created!)).toMatchObject({ kind: 'channel-thread', channelId: CHANNEL, tenantId: TENANT, createdBy: 'createConversation' });
  });

  it('creates (and re-finds) a 1:1 chat; group chats and channel threads without an activity are rejected', async () => {
    const ids: string[] = [];
    const personal = { isGroup: false, bot: BOT, members: [{ id: ADA.id }], channelData: { tenant: { id: TENANT } } } as Partial<ConversationParameters> as ConversationParameters;
    for (let i = 0; i < 2; i++) {
      await adapter.createConversationAsync('', 'msteams', fake.url, '', personal, async (ctx) => {
        ids.push(ctx.activity.conversation.id);
        await ctx.sendActivity(`DM ${i}`);
      });
    }
    expect(ids[0]).toMatch(/^a:1[\w-]+$/);
    expect(ids[1]).toBe(ids[0]);
    expect(fake.messagesIn(ids[0]!).map((m) => m.text)).toEqual(['DM 0', 'DM 1']);

    const group = { isGroup: true, bot: BOT, members: [{ id: ADA.id }, { id: BOB.id }] } as Partial<ConversationParameters> as ConversationParameters;
    const noop = async () => {};
    const groupErr = await rejectionOf(adapter.createConversationAsync('', 'msteams', fake.url, '', group, noop));
    expect(groupErr).toMatchObject({ statusCode: 400, code: 'BadArgument' });
    const threadNoActivity = { isGroup: true, channelData: { channel: { id: CHANNEL } } } as Partial<ConversationParameters> as ConversationParameters;
    expect(await rejectionOf(adapter.createConversationAsync('', 'msteams', fake.url, '', threadNoActivity, noop))).toMatchObject({ statusCode: 400 });
  });

  it('serves seeded members to TeamsInfo.getMember / getMembers / getPagedMembers', async () => {
    fake.addMember(TEAM, ADA);
    fake.addMember(TEAM, BOB);
    const seen: Record<string, unknown> = {};
    await serve(async (ctx) => {
      seen.member = await TeamsInfo.getMember(ctx, ADA.id);
      seen.byAad = await TeamsInfo.getMember(ctx, BOB.aadObjectId);
      seen.members = await TeamsInfo.getMembers(ctx);
      seen.paged = await TeamsInfo.getPagedMembers(ctx, 1);
      seen.missing = await rejectionOf(TeamsInfo.getMember(ctx, '29:nobody'));
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);

    // In a team channel, TeamsInfo asks about the team (channelData.team.id), not the thread.
    const get = fake.requests.find((r) => r.method === 'GET')!;
    expect(get.path).toBe('/v3/conversations/19%3Ateam-general%40thread.tacv2/members/29%3A1ada-lovelace');
    expect(seen.member).toMatchObject({ id: ADA.id, name: ADA.name, aadObjectId: ADA.aadObjectId, userPrincipalName: ADA.userPrincipalName });
    expect(seen.byAad).toMatchObject({ id: BOB.id, name: BOB.name });
    expect(seen.members).toEqual([expect.objectContaining({ id: ADA.id, aadObjectId: ADA.aadObjectId }), expect.objectContaining({ id: BOB.id, aadObjectId: BOB.aadObjectId })]);
    expect(seen.paged).toMatchObject({ members: [{ id: ADA.id }], continuationToken: '1' });
    expect(seen.missing).toMatchObject({ statusCode: 404, code: 'MemberNotFoundInConversation' });
  });

  it('answers members of a group chat by conversation id (also by UPN), 404 ConversationNotFound for unknown chats', async () => {
    const chat = '19:meeting_abc@thread.v2';
    fake.addMember(chat, BOB);
    const seen: unknown[] = [];
    await serve(async (ctx) => {
      seen.push(await TeamsInfo.getMember(ctx, BOB.userPrincipalName).catch((e: unknown) => e));
      seen.push(await TeamsInfo.getMembers(ctx).catch((e: unknown) => e));
    });
    const inChat = (id: string) =>
      teamsMessage(fake.url, { conversation: { id, conversationType: 'groupChat', isGroup: true, tenantId: TENANT, name: '' }, channelData: { tenant: { id: TENANT } } });
    expect((await post(host!.url, inChat(chat))).status).toBe(200);
    expect((await post(host!.url, inChat('19:unknown_chat@thread.v2'))).status).toBe(200);
    expect(fake.requests[0]!.path).toBe('/v3/conversations/19%3Ameeting_abc%40thread.v2/members/bob%40example.com');
    expect(seen[0]).toMatchObject({ id: BOB.id, userPrincipalName: BOB.userPrincipalName });
    expect(fake.conversation(chat)).toMatchObject({ kind: 'group-chat', isGroup: true });
    expect(seen[1]).toEqual([expect.objectContaining({ id: BOB.id, aadObjectId: BOB.aadObjectId })]);
    expect(seen[2]).toMatchObject({ statusCode: 404, code: 'ConversationNotFound' });
    expect(seen[3]).toMatchObject({ statusCode: 404, code: 'ConversationNotFound' });
  });

  it('throttling: a 429 with Retry-After is retried by the ConnectorClient; a persistent one surfaces', async () => {
    fake.failNext({ method: 'POST', path: /\/activities\//, status: 429, headers: { 'Retry-After': '0' } });
    let err: RestErrorLike | undefined;
    await serve(async (ctx) => {
      await ctx.sendActivity('first');
      fake.failNext({ method: 'POST', status: 429, headers: { 'Retry-After': '0' }, times: 10 });
      err = await rejectionOf(ctx.sendActivity('second'));
      fake.clearFailures();
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);
    const posts = fake.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([429, 201, 429, 429, 429, 429]); // 1 try + 3 retries
    expect(fake.messagesIn(THREAD).map((m) => m.text)).toEqual(['first']);
    expect(err).toMatchObject({ statusCode: 429, code: 'TooManyRequests' });
  });

  it('failNext errors use the Bot Framework shape and an unhandled one fails the turn with 500', async () => {
    fake.failNext({ method: 'POST', path: new RegExp(`^/v3/conversations/${THREAD.replace(/[.]/g, '\\.')}/activities/\\d+$`), status: 403, body: { error: { code: 'BotNotInConversationRoster', message: 'The bot is not part of the conversation roster.' } } });
    await serve(async (ctx) => {
      await ctx.sendActivity('will fail');
    });
    const errorSpy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const res = await post(host!.url, teamsMessage(fake.url));
      expect(res.status).toBe(500);
      expect(res.text).toContain('The bot is not part of the conversation roster.');
    } finally {
      errorSpy.mockRestore();
    }
    expect(fake.requests[0]).toMatchObject({ status: 403 });
    expect(fake.messagesIn(THREAD)).toEqual([]);
  });

  it('rejects oversized activities with 413 like Teams', async () => {
    let err: RestErrorLike | undefined;
    await serve(async (ctx) => {
      err = await rejectionOf(ctx.sendActivity('x'.repeat(40 * 1024)));
    });
    expect((await post(host!.url, teamsMessage(fake.url))).status).toBe(200);
    expect(err).toMatchObject({ statusCode: 413, code: 'MessageSizeTooBig' });
  });

  it('knownConversationsOnly: unknown conversations are 404 ConversationNotFound until seeded', async () => {
    const strict = await startFakeBotConnector({ knownConversationsOnly: true });
    try {
      const reference = TurnContext.getConversationReference(teamsMessage(strict.url)) as ConversationReference;
      const send = () => adapter.continueConversationAsync('', reference, async (ctx) => void (await ctx.sendActivity('hi')));
      expect(await rejectionOf(send())).toMatchObject({ statusCode: 404, code: 'ConversationNotFound' });
      strict.addConversation(CHANNEL, { tenantId: TENANT }); // threads of a known channel are known
      await send();
      expect(strict.messagesIn(THREAD).map((m) => m.text)).toEqual(['hi']);
    } finally {
      await strict.close();
    }
  });

  it('in requireAuth mode, the unauthenticated adapter is refused with 401', async () => {
    const strict = await startFakeBotConnector({ requireAuth: true });
    try {
      let err: RestErrorLike | undefined;
      await serve(async (ctx) => {
        err = await rejectionOf(ctx.sendActivity('hello'));
      });
      expect((await post(host!.url, teamsMessage(strict.url))).status).toBe(200);
      expect(err?.statusCode).toBe(401);
      expect(strict.requests[0]).toMatchObject({ status: 401, authorization: undefined });
      expect(JSON.parse(err!.response!.bodyAsText!)).toEqual({ message: 'Authorization has been denied for this request.' });
      expect(strict.activities.size).toBe(0);
    } finally {
      await strict.close();
    }
  });
});

describe('CloudAdapter with an app id, offline (bot-auth kit)', () => {
  const APP_ID = '11111111-2222-3333-4444-555555555555';
  let kit: BotAuthKit;
  let fake: FakeBotConnector;
  let host: BotHost;
  let adapter: CloudAdapter;
  let factory: ReturnType<BotAuthKit['credentialsFactory']>;
  const turns: Array<Partial<Activity>> = [];
  let errorSpy: ReturnType<typeof vi.spyOn>;

  beforeAll(async () => {
    kit = await startBotAuthServer();
    fake = await startFakeBotConnector({ requireAuth: true, token: OUTBOUND_TOKEN });
    factory = kit.credentialsFactory(APP_ID);
    adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication(kit.botFrameworkAuthConfig(APP_ID), factory));
    host = await startBotHost(adapter, async (ctx) => {
      turns.push({ ...ctx.activity });
      await ctx.sendActivity(MessageFactory.attachment(card('authenticated reply')));
    });
  });
  afterAll(async () => {
    await host.close();
    await fake.close();
    await kit.close();
  });
  beforeEach(() => {
    turns.length = 0;
    fake.reset();
    // botbuilder console.error()s every rejected token; keep the output readable.
    errorSpy = vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => errorSpy.mockRestore());

  const signed = (o: Partial<Parameters<BotAuthKit['signActivityToken']>[0]> = {}) =>
    `Bearer ${kit.signActivityToken({ appId: APP_ID, serviceUrl: fake.url, ...o })}`;

  it('accepts a correctly signed token and reaches the requireAuth connector with the outbound credentials', async () => {
    const res = await post(host.url, teamsMessage(fake.url), signed());
    expect(res.status).toBe(200);
    expect(turns).toHaveLength(1);
    expect(turns[0]!.callerId).toBe(PUBLIC_AZURE_CALLER_ID);
    const [reply] = fake.requests;
    expect(reply).toMatchObject({ method: 'POST', status: 201, authorization: `Bearer ${OUTBOUND_TOKEN}` });
    expect(adaptiveCards(fake.messagesIn(THREAD)[0]!)[0]).toMatchObject({ body: [{ text: 'authenticated reply' }] });
    // Metadata and keys came from loopback; the outbound credentials were asked for the Bot Framework scope.
    expect(kit.requests.map((r) => r.path)).toEqual(expect.arrayContaining(['/.well-known/openidconfiguration', '/keys']));
    expect(factory.calls.at(-1)).toMatchObject({ appId: APP_ID, audience: BOT_FRAMEWORK_SCOPE, loginEndpoint: `${kit.url}/login/botframework.com` });
  });

  it.each([
    ['no Authorization header', () => undefined, 401],
    ['a wrong audience', () => signed({ appId: 'some-other-bot' }), 401],
    ['an expired token (beyond the 5 minute skew)', () => signed({ expiresInSec: -600 }), 401],
    ['an unknown kid', () => signed({ kid: 'no-such-key' }), 401],
    ['a wrong issuer', () => signed({ issuer: 'https://evil.example.com' }), 401],
    ['a serviceurl claim for another service', () => signed({ serviceUrl: 'http://127.0.0.1:1/' }), 401],
  ])('rejects %s with 401 and never runs the bot', async (_name, auth, status) => {
    const res = await post(host.url, teamsMessage(fake.url), auth());
    expect(res.status).toBe(status);
    expect(turns).toHaveLength(0);
    expect(fake.requests).toHaveLength(0);
  });

  it('rejects a token signed by another key (same kid); botbuilder answers 500, not 401', async () => {
    const forged = generateSigningKey(kit.kid);
    const res = await post(host.url, teamsMessage(fake.url), signed({ key: forged.privateKey }));
    // jsonwebtoken's "invalid signature" is not an AuthenticationError, so CloudAdapter.process maps it to 500.
    expect(res.status).toBe(500);
    expect(res.text).toContain('invalid signature');
    expect(turns).toHaveLength(0);
    expect(fake.requests).toHaveLength(0);
  });

  it('enforces the key endorsements: a valid token for a channel the key is not endorsed for is 401', async () => {
    const res = await post(host.url, teamsMessage(fake.url, { channelId: 'slack' }), signed());
    expect(res.status).toBe(401);
    expect(res.text).toContain('endorsement');
    expect(turns).toHaveLength(0);
  });

  it('needs the full option set: a partial set rejects every token, none at all goes to login.botframework.com', async () => {
    const partial = kit.botFrameworkAuthConfig(APP_ID);
    delete partial.ToBotFromChannelTokenIssuer;
    const partialAdapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication(partial, factory));
    const partialHost = await startBotHost(partialAdapter, async () => {
      throw new Error('must not run');
    });
    const publicAdapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'pw' }, factory));
    const publicHost = await startBotHost(publicAdapter, async () => {
      throw new Error('must not run');
    });
    try {
      expect((await post(partialHost.url, teamsMessage(fake.url), signed())).status).toBe(401);
      expect(blockedHosts).toEqual([]);
      // With no URL options the public-cloud constants apply: the metadata fetch is what the guard stops.
      expect((await post(publicHost.url, teamsMessage(fake.url), signed())).status).toBe(500);
      expect(blockedHosts).toEqual(['login.botframework.com']);
      blockedHosts.length = 0;
    } finally {
      await partialHost.close();
      await publicHost.close();
    }
  });

  it('proactive continueConversationAsync and createConversationAsync also carry the outbound token', async () => {
    const reference: Partial<ConversationReference> = TurnContext.getConversationReference(teamsMessage(fake.url));
    await adapter.continueConversationAsync(APP_ID, reference as ConversationReference, async (ctx) => {
      await ctx.sendActivity('proactive, authenticated');
    });
    const params = { isGroup: true, bot: BOT, channelData: { channel: { id: CHANNEL }, tenant: { id: TENANT } }, activity: MessageFactory.text('new thread') } as Partial<ConversationParameters> as ConversationParameters;
    let created = '';
    await adapter.createConversationAsync(APP_ID, 'msteams', fake.url, BOT_FRAMEWORK_SCOPE, params, async (ctx) => {
      created = ctx.activity.conversation.id;
    });
    expect(fake.requests.map((r) => [r.status, r.authorization])).toEqual([
      [201, `Bearer ${OUTBOUND_TOKEN}`],
      [201, `Bearer ${OUTBOUND_TOKEN}`],
    ]);
    expect(fake.messagesIn(THREAD).map((m) => m.text)).toEqual(['proactive, authenticated']);
    expect(fake.messagesIn(created).map((m) => m.text)).toEqual(['new thread']);
  });
});
