// A war room whose creation Slack did but whose answer firelane never got (a lost response, a 500 from a gateway
// after the backend created it): the job's retry gets name_taken and must find the channel it made, through
// users.conversations, instead of opening a second, suffixed room. Only a channel that is provably this incident's is
// taken: created by firelane's bot, not archived, and marked for this incident in its purpose (or, when the answer
// was lost before firelane could mark it, unmarked and created after the declaration). Anything else with that name
// still leads to the next free name, as before.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ANNOUNCE, startHarness, type Harness } from '../support/harness.js';
import type { FakeSlackOptions } from '../fakes/fake-slack.js';
import { drainUntilSettled, incident, messageJson } from './slack-helpers.js';

const ROOM = 'inc-1-payment-gateway-down';
const SEEDED = [
  { id: ANNOUNCE, name: 'incidents' },
  { id: 'C0ESCALATE', name: 'escalations' },
  { id: 'C0GENERAL', name: 'general' },
];
const PURPOSE = /^War room of INC-1, declared \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/;

describe('the war room is found again when Slack’s answer to conversations.create was lost', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const start = async (fake: FakeSlackOptions = {}, logger?: pino.Logger) =>
    (h = await startHarness({ fake: { channels: SEEDED, ...fake }, ...(logger && { logger }) }));

  /** Declares INC-1 and runs its war-room job to the end, retries included. */
  async function declareAndSettle(): Promise<void> {
    const ack = await h.command('sev1 Payment gateway down', { user: 'U0ALICE', channel: 'C0GENERAL' });
    expect(ack.status).toBe(200);
    expect(await drainUntilSettled(h, 'war-room:1')).toBe('done');
    await h.drain(); // the topic and checklist jobs it enqueued
  }

  const createCalls = () =>
    h.slack.callsTo('conversations.create').map((c) => [c.params.name, c.lostAnswer ? 'lost' : (c.error ?? 'ok')]);
  const roomsNamed = (prefix: string) => [...h.slack.channels.values()].filter((c) => c.name.startsWith(prefix));

  async function expectTheRoom(name: string): Promise<void> {
    const room = h.slack.channelByName(name)!;
    expect(await incident(h, 1)).toMatchObject({ roomId: room.id, roomName: name });
    expect(h.slack.pins).toEqual([{ channel: room.id, ts: (await incident(h, 1)).cardRef }]);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
    expect(messageJson(h.slack.messagesIn(ANNOUNCE)[0]!)).toContain(`War room: <#${room.id}>`);
    await expect.poll(() => room.purpose).toMatch(PURPOSE); // set alongside the rest of the job
  }

  it.each([
    ['the connection is reset after Slack created it', 'reset' as const],
    ['a gateway answers 500 after Slack created it', 500 as const],
  ])('%s: the retry takes that channel, and no second room is opened', async (_, afterEffect) => {
    await start();
    h.slack.failNext('conversations.create', { afterEffect });
    await declareAndSettle();
    expect(createCalls()).toEqual([
      [ROOM, 'lost'],
      [ROOM, 'name_taken'],
    ]);
    expect(roomsNamed('inc-1').map((c) => c.name)).toEqual([ROOM]);
    expect(h.slack.callsTo('users.conversations')[0]!.params).toMatchObject({
      types: 'public_channel',
      exclude_archived: 'true',
    });
    await expectTheRoom(ROOM);
  });

  it('a suffixed room whose answer was lost is found too: no third name', async () => {
    // The first name is a person's channel; the second is created, and its answer lost.
    await start({ channels: [...SEEDED, { id: 'C0PERSON01', name: ROOM }] });
    h.slack.failNext('conversations.create', { afterEffect: 'reset' });
    await declareAndSettle();
    expect(createCalls()).toEqual([
      [ROOM, 'name_taken'],
      [`${ROOM}-2`, 'lost'],
      [ROOM, 'name_taken'],
      [`${ROOM}-2`, 'name_taken'],
    ]);
    expect(roomsNamed('inc-1').map((c) => c.name)).toEqual([ROOM, `${ROOM}-2`]);
    await expectTheRoom(`${ROOM}-2`);
    expect(h.slack.channels.get('C0PERSON01')!.purpose).toBe('');
  });

  it('finds the room on a later page of users.conversations', async () => {
    const many = Array.from({ length: 9 }, (_, i) => ({ id: `C0MANY000${i}`, name: `busy-${i}` }));
    await start({ channels: [...SEEDED, ...many], listPageMax: 2 });
    h.slack.failNext('conversations.create', { afterEffect: 'reset' });
    await declareAndSettle();
    expect(roomsNamed('inc-1').map((c) => c.name)).toEqual([ROOM]);
    expect(h.slack.callsTo('users.conversations').length).toBeGreaterThan(3);
    await expectTheRoom(ROOM);
  });

  it('a rate-limited lookup is retried later; still one room', async () => {
    await start();
    h.slack.failNext('conversations.create', { afterEffect: 'reset' });
    h.slack.failNext('users.conversations', { status: 429, retryAfter: 0 });
    await declareAndSettle();
    expect(roomsNamed('inc-1').map((c) => c.name)).toEqual([ROOM]);
    await expectTheRoom(ROOM);
  });
});

describe('a channel with the war room’s name that is not provably this incident’s is left alone', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const declared = async (channel: NonNullable<FakeSlackOptions['channels']>[number]) => {
    h = await startHarness({ fake: { channels: [...SEEDED, channel] } });
    const ack = await h.command('sev1 Payment gateway down', { user: 'U0ALICE', channel: 'C0GENERAL' });
    expect(ack.status).toBe(200);
    expect(await drainUntilSettled(h, 'war-room:1')).toBe('done');
    const names = h.slack.callsTo('conversations.create').map((c) => [c.params.name, c.error ?? 'ok']);
    expect(names).toEqual([
      [ROOM, 'name_taken'],
      [`${ROOM}-2`, 'ok'],
    ]);
    const room = h.slack.channelByName(`${ROOM}-2`)!;
    expect(await incident(h, 1)).toMatchObject({ roomId: room.id, roomName: room.name });
    const other = h.slack.channels.get(channel.id)!;
    expect([...other.members]).toEqual(channel.isMember === false ? [] : ['UBOT']);
    expect(h.slack.messagesIn(other.id)).toHaveLength(0);
    expect(other.purpose).toBe(channel.purpose ?? '');
    await expect.poll(() => room.purpose).toMatch(PURPOSE);
  };

  it('made by a person', async () => {
    await declared({ id: 'C0PERSON01', name: ROOM });
  });

  it('made by firelane’s bot for another incident INC-1 (another installation, a database started over)', async () => {
    await declared({
      id: 'C0EARLIER1',
      name: ROOM,
      creator: 'UBOT',
      purpose: 'War room of INC-1, declared 2025-03-04 05:06:07 UTC (opened by firelane)',
    });
  });

  it('made by firelane’s bot, unmarked, before this incident was declared', async () => {
    await declared({
      id: 'C0UNMARKED',
      name: ROOM,
      creator: 'UBOT',
      created: Math.floor(Date.now() / 1000) - 3600,
    });
  });

  it('made by firelane’s bot, unmarked, but the bot is no longer in it', async () => {
    await declared({ id: 'C0LEFTROOM', name: ROOM, creator: 'UBOT', isMember: false });
  });

  it('made by firelane’s bot for this incident but archived since', async () => {
    await declared({ id: 'C0ARCHIVED', name: ROOM, creator: 'UBOT', archived: true, isMember: false });
  });
});

describe('without the channels:read scope', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('the lookup is refused: firelane says so in its log and opens the suffixed room, as before', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    h = await startHarness({ fake: { channels: SEEDED }, logger });
    h.slack.failNext('conversations.create', { afterEffect: 'reset' });
    h.slack.failNext('users.conversations', { error: 'missing_scope' });
    const ack = await h.command('sev1 Payment gateway down', { user: 'U0ALICE', channel: 'C0GENERAL' });
    expect(ack.status).toBe(200);
    expect(await drainUntilSettled(h, 'war-room:1')).toBe('done');
    expect((await incident(h, 1)).roomName).toBe(`${ROOM}-2`);
    expect(lines.join('')).toContain('channels:read');
  });
});
