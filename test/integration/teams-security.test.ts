// Who may talk to firelane on /api/messages, and where firelane's answers may go (issue 25):
// - the contract's rule: with no MICROSOFT_APP_ID the endpoint is off outside local mode, unless
//   FIRELANE_TEAMS_EMULATOR=1; the emulator path takes loopback traffic only, and never through a proxy;
// - with an app id, a bad or forged token is a 401 with a plain body (no stack, no SDK message);
// - with MICROSOFT_APP_TENANT_ID, an activity from another tenant is refused and runs nothing;
// - replies go only to Bot Framework service URLs (the fake Bot Connector only through an explicit option,
//   the emulator's loopback URL only in emulator mode), never to a serviceUrl a caller invents;
// - the SDK's errors go through firelane's logger: nothing on stderr.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startFakeBotConnector, type FakeBotConnector } from '../fakes/fake-bot-connector.js';
import { openDatabase } from '../../src/adapters/db/database.js';
import { createSqliteGate } from '../../src/adapters/db/sqlite-gate.js';
import { createSqliteTeamsDirectory } from '../../src/adapters/db/teams-directory.js';
import { createTeamsApp } from '../../src/adapters/teams/teams-app.js';
import { channelReply } from '../../src/ports/reply.js';
import type { Router } from '../../src/commands/router.js';
import { createManualClock } from '../../src/ports/clock.js';
import { DeliveryRefused } from '../../src/ports/chat.js';
import { generateSigningKey } from '../support/bot-auth.js';
import { snapshot } from './slack-helpers.js';
import {
  APP_ID,
  BOT,
  GENERAL,
  personalMessages,
  startTeams,
  TENANT,
  texts,
  type StartOptions,
  type TeamsRig,
} from './teams-helpers.js';

let rig: TeamsRig | undefined;
let attacker: FakeBotConnector | undefined;
afterEach(async () => {
  await rig?.close();
  await attacker?.close();
  rig = attacker = undefined;
  vi.restoreAllMocks();
});
const start = async (options: StartOptions = {}) => (rig = await startTeams(options));

/** A pino logger whose lines are kept (parsed), as the app would write them. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Nothing a client may see: a stack frame, an exception name, the SDK's or jose's wording. */
const INTERNAL = /\bat\s+\S+\s+\(|Error\b|ERR_|jwt|jws|signature|zod|agents|\bstack\b/i;

describe('no app id: the contract rule for POST /api/messages', () => {
  it('is off (404) outside local mode without FIRELANE_TEAMS_EMULATOR, even from loopback; nothing runs', async () => {
    const { h, send, connector } = await start({ env: { FIRELANE_TEAMS_EMULATOR: '' }, quiet: true });
    const before = await snapshot(h);
    const response = await send({ text: 'incident sev1 Payments down' });
    expect(response.status).toBe(404);
    expect(await snapshot(h)).toEqual(before);
    expect(connector.requests).toHaveLength(0);
  });

  it('FIRELANE_TEAMS_EMULATOR=1 takes emulator traffic from loopback, and says so as a warning', async () => {
    const { logger, lines } = capturedLogger();
    const { send, connector } = await start({ logger, quiet: true });
    expect((await send({ text: 'incident list' })).status).toBe(200);
    expect(connector.requests.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toContainEqual(
      expect.stringMatching(/^FIRELANE_TEAMS_EMULATOR=1 \(development only\)/),
    );
  });

  it('in local mode (no Slack, no Teams credentials) the emulator path is on without the switch', async () => {
    const { send } = await start({
      env: { FIRELANE_TEAMS_EMULATOR: '', SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '' },
      quiet: true,
    });
    expect((await send({ text: 'incident list' })).status).toBe(200);
  });

  it('refuses a loopback request that a proxy forwarded (401), so a reverse proxy on the host cannot open it', async () => {
    const { h, send, connector } = await start({ quiet: true });
    const before = await snapshot(h);
    const response = await send({ text: 'incident sev1 Payments down', headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(response.status).toBe(401);
    expect(response.body).not.toMatch(INTERNAL);
    expect(await snapshot(h)).toEqual(before);
    expect(connector.requests).toHaveLength(0);
  });
});

describe('with an app id: tokens', () => {
  it.each([
    ['no token', () => null],
    [
      'a forged token (another key, the same kid)',
      (r: TeamsRig) =>
        r.auth!.signActivityToken({
          appId: APP_ID,
          serviceUrl: r.connector.url,
          key: generateSigningKey(r.auth!.kid).privateKey,
        }),
    ],
    [
      'a token for another bot',
      (r: TeamsRig) => r.auth!.signActivityToken({ appId: 'someone-else', serviceUrl: r.connector.url }),
    ],
    [
      'an expired token',
      (r: TeamsRig) => r.auth!.signActivityToken({ appId: APP_ID, serviceUrl: r.connector.url, expiresInSec: -3600 }),
    ],
    ['a token that is no JWT', () => 'not.a.jwt'],
    [
      'a token with an unknown kid',
      (r: TeamsRig) =>
        r.auth!.signActivityToken({ appId: APP_ID, serviceUrl: r.connector.url, kid: 'kid-nobody-knows' }),
    ],
  ])('%s: 401 with a plain body, no internal error text, nothing run or sent', async (_name, token) => {
    const r = await start({ appId: APP_ID });
    const before = await snapshot(r.h);
    const sent = r.connector.requests.length;
    const response = await r.send({ text: 'incident sev1 Payments down', token: token(r) });
    expect(response.status).toBe(401);
    expect(response.contentType).toMatch(/^text\/plain/);
    expect(response.body).toBe('unauthorized\n');
    expect(response.body).not.toMatch(INTERNAL);
    expect(await snapshot(r.h)).toEqual(before);
    expect(r.connector.requests).toHaveLength(sent);
  });

  it('accepts a signed activity; replies carry the outbound token', async () => {
    const r = await start({ appId: APP_ID });
    expect((await r.send({ text: 'incident list' })).status).toBe(200);
    // `incident list` answers privately: in the user's personal chat with the bot.
    expect(texts(personalMessages(r.connector)).join('\n')).toMatch(/No open incidents|open incident/i);
    expect(
      r.connector.requests
        .filter((q) => q.method === 'POST')
        .every((q) => q.authorization === 'Bearer test-outbound-token'),
    ).toBe(true);
  });
});

describe('with MICROSOFT_APP_TENANT_ID (SingleTenant)', () => {
  it.each([
    ['another tenant', { tenant: 'tenant-evil' }],
    ['another tenant in the conversation only', { conversationTenant: 'tenant-evil' }],
    ['no tenant at all', { tenant: null }],
  ])('refuses an activity from %s: 403, a plain body, no reply, no command run', async (_name, tenant) => {
    const r = await start({ appId: APP_ID, tenantId: TENANT });
    const before = await snapshot(r.h);
    const sent = r.connector.requests.length;
    const response = await r.send({ text: 'incident sev1 Payments down', ...tenant });
    expect(response.status).toBe(403);
    expect(response.contentType).toMatch(/^text\/plain/);
    expect(response.body).not.toMatch(INTERNAL);
    await r.h.drain();
    expect(await snapshot(r.h)).toEqual(before);
    expect(r.connector.requests).toHaveLength(sent);
  });

  it('serves its own tenant (whatever the GUID case)', async () => {
    const r = await start({ appId: APP_ID, tenantId: TENANT.toUpperCase() });
    expect((await r.send({ text: 'incident sev1 Payments down' })).status).toBe(200);
    await r.h.drain();
    expect(await r.h.firelane.store.incidents.get(1)).toMatchObject({ platform: 'teams' });
  });
});

describe('service URLs', () => {
  it('a validly signed activity naming another service URL (a second loopback server) gets nothing sent there and runs nothing', async () => {
    const r = await start({ appId: APP_ID });
    attacker = await startFakeBotConnector();
    const before = await snapshot(r.h);
    const token = r.auth!.signActivityToken({ appId: APP_ID, serviceUrl: attacker.url });
    const response = await r.send({ text: 'incident sev1 Payments down', serviceUrl: attacker.url, token });
    expect(response.status).toBe(403);
    expect(response.body).not.toMatch(INTERNAL);
    await r.h.drain();
    expect(attacker.requests).toHaveLength(0);
    expect(await snapshot(r.h)).toEqual(before);
  });

  it('the fake Bot Connector on loopback is reached only through the explicit option', async () => {
    const r = await start({ appId: APP_ID, allowConnector: false, quiet: true });
    const response = await r.send({ text: 'incident list' });
    expect(response.status).toBe(403);
    expect(r.connector.requests).toHaveLength(0);
  });

  it('in emulator mode an invented non-loopback serviceUrl is refused; nothing is sent anywhere', async () => {
    const r = await start();
    const before = await snapshot(r.h);
    const sent = r.connector.requests.length;
    const connects = vi.spyOn(globalThis, 'fetch');
    const response = await r.send({ text: 'incident sev1 Payments down', serviceUrl: 'http://attacker.example/' });
    expect(response.status).toBe(403);
    await r.h.drain();
    expect(connects.mock.calls.filter(([url]) => String(url).includes('attacker.example'))).toEqual([]);
    expect(r.connector.requests).toHaveLength(sent);
    expect(await snapshot(r.h)).toEqual(before);
  });

  it('a stored conversation whose service URL is not allowed (e.g. written in emulator mode) receives nothing; an allowed one does', async () => {
    const connector = await startFakeBotConnector({ requireAuth: true });
    attacker = await startFakeBotConnector();
    try {
      const handle = openDatabase(':memory:');
      const directory = createSqliteTeamsDirectory(handle, createSqliteGate(handle.sqlite), createManualClock(0));
      const router = {
        names: ['incident'],
        handle: async () => ({ reply: { visibility: 'private', text: '' }, outcome: 'ok', command: 'x' }),
      } as unknown as Router;
      const app = createTeamsApp({
        appId: APP_ID,
        appPassword: 'secret',
        tokenSource: async () => 'token',
        serviceUrls: [connector.url],
        router,
        directory,
        logger: pino({ level: 'silent' }),
      });
      const remember = (id: string, serviceUrl: string) =>
        directory.rememberConversation({
          id,
          kind: 'channel',
          channelId: id,
          teamId: null,
          reference: {
            serviceUrl,
            channelId: 'msteams',
            bot: BOT,
            conversation: { id, conversationType: 'channel', isGroup: true },
          },
        });
      await remember('19:stale@thread.tacv2', attacker.url);
      await remember('19:good@thread.tacv2', connector.url);
      await expect(app.chat.post('19:stale@thread.tacv2', channelReply('reminder'))).rejects.toBeInstanceOf(
        DeliveryRefused,
      );
      await expect(app.chat.createRoom('inc-1-x', { origin: '19:stale@thread.tacv2' })).rejects.toBeInstanceOf(
        DeliveryRefused,
      );
      expect(attacker.requests).toHaveLength(0);
      await app.chat.post('19:good@thread.tacv2', channelReply('reminder'));
      expect(connector.messagesIn('19:good@thread.tacv2').map((m) => m.text)).toEqual(['reminder']);
    } finally {
      await connector.close();
    }
  });
});

describe("the SDK's errors go through firelane's logger", () => {
  it('a failing turn, a forged token and a malformed activity leave stderr empty and are logged once each, stacks in the log only', async () => {
    const { logger, lines } = capturedLogger();
    const stderr = vi.spyOn(process.stderr, 'write');
    const consoleError = vi.spyOn(console, 'error');
    const consoleWarn = vi.spyOn(console, 'warn');
    const r = await start({ appId: APP_ID, logger });
    // The Bot Connector fails the reply: the SDK's turn fails inside the adapter.
    r.connector.failNext({ method: 'POST', status: 500 });
    expect((await r.send({ text: 'thanks everyone' })).status).toBe(200);
    const forged = r.auth!.signActivityToken({
      appId: APP_ID,
      serviceUrl: r.connector.url,
      key: generateSigningKey(r.auth!.kid).privateKey,
    });
    expect((await r.send({ text: 'incident list', token: forged })).status).toBe(401);
    // An activity the SDK's schema refuses (an account that is a string).
    const malformed = await r.send({ text: 'incident list', extra: { from: 'not an account' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).not.toMatch(INTERNAL);

    expect(stderr.mock.calls.map(([chunk]) => String(chunk))).toEqual([]);
    expect(consoleError).not.toHaveBeenCalled();
    expect(consoleWarn).not.toHaveBeenCalled();
    const turn = lines.find((l) => l.msg === 'Teams turn failed');
    expect(turn, 'the turn failure is logged').toBeDefined();
    expect((turn!.err as { stack?: string }).stack).toMatch(/Request failed with status 500/);
    expect(lines.filter((l) => l.msg === 'refused Teams request: bad token')).toEqual([
      expect.objectContaining({ reason: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }),
    ]);
    expect(lines.filter((l) => l.msg === 'refused Teams request: malformed activity')).toHaveLength(1);
  });

  it("tolerates the empty strings Teams may send (the SDK's schema refuses them)", async () => {
    const r = await start();
    const response = await r.send({
      text: 'incident list',
      extra: {
        conversation: { id: GENERAL, conversationType: 'channel', isGroup: true, tenantId: TENANT, name: '' },
        locale: '',
      },
    });
    expect(response.status).toBe(200);
  });
});
