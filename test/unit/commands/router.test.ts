import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { MENTION_TOKEN, TIME_TOKEN, mention, privateReply, timeToken } from '../../../src/ports/reply.js';
import { DEFAULT_FILE_CONFIG } from '../../../src/config.js';
import { createRouter, type CommandFamily, type Outcome } from '../../../src/commands/router.js';
import { createIncidentFixture, type IncidentFixture, type RunOptions } from './incident-fixture.js';
import { BROADCAST, OPEN_WAR_ROOM } from '../../../src/ports/jobs.js';

let f: IncidentFixture;
beforeEach(() => {
  f = createIncidentFixture();
});
afterEach(() => f.close());

/** Declares an incident and returns its id. */
async function declare(text = '/incident sev1 Payment gateway down', options?: RunOptions): Promise<number> {
  const result = await f.run(text, options);
  expect(result.outcome, result.reply.text).toBe('ok');
  const id = Number(/INC-(\d+)/.exec(result.reply.text)?.[1]);
  expect(await f.store.incidents.get(id)).toBeDefined();
  return id;
}

/** Runs `text` and asserts a private refusal that changed nothing in the database. */
async function refused(text: string, options: RunOptions = {}, outcome: Outcome = 'invalid') {
  const before = f.counts();
  const incidentsBefore = await f.store.incidents.list();
  const result = await f.run(text, options);
  expect(result.outcome, result.reply.text).toBe(outcome);
  expect(result.reply.visibility).toBe('private');
  expect(result.reply.card).toBeUndefined();
  expect(f.counts()).toEqual(before);
  expect(await f.store.incidents.list()).toEqual(incidentsBefore);
  return result.reply.text;
}

describe('declaring an incident', () => {
  it('creates INC-1 with a timeline event and one open-war-room job, and answers in the channel', async () => {
    f.clock.set(Date.parse('2026-03-01T10:00:00Z'));
    const result = await f.run('/incident sev1 Payment gateway down');

    expect(result).toMatchObject({ command: 'incident declare', outcome: 'ok' });
    expect(result.reply.visibility).toBe('channel');
    // Nobody is paged: the war room job invites people to the room, and the default config names no responders.
    expect(result.reply.text).toBe('🚨 *INC-1* declared (SEV1): Payment gateway down. Opening the war room.');

    expect(await f.store.incidents.get(1)).toMatchObject({
      id: 1,
      title: 'Payment gateway down',
      description: null,
      severity: 'sev1',
      status: 'investigating',
      platform: 'console',
      declaredBy: 'alice',
      commander: null,
      declaredAt: Date.parse('2026-03-01T10:00:00Z'),
      lastUpdateAt: Date.parse('2026-03-01T10:00:00Z'),
      roomId: null,
    });
    expect(await f.store.incidents.timeline(1)).toEqual([
      expect.objectContaining({
        incidentId: 1,
        kind: 'declared',
        actor: 'alice',
        platform: 'console',
        text: 'Declared SEV1: Payment gateway down',
      }),
    ]);
    expect(f.jobs()).toEqual([
      { kind: OPEN_WAR_ROOM, key: 'war-room:1', payload: { incidentId: 1 }, status: 'queued' },
    ]);
    expect(f.counts()).toEqual({ incidents: 1, timeline: 1, jobs: 1, receipts: 0 });
  });

  it("says it invites the severity's responders when the config names some", async () => {
    f.close();
    const sev1 = { ...DEFAULT_FILE_CONFIG.incidents.severities.sev1, responders: ['U0ONCALL'] };
    f = createIncidentFixture({
      ...DEFAULT_FILE_CONFIG,
      incidents: {
        ...DEFAULT_FILE_CONFIG.incidents,
        severities: { ...DEFAULT_FILE_CONFIG.incidents.severities, sev1 },
      },
    });
    expect((await f.run('/incident sev1 Checkout errors')).reply.text).toBe(
      '🚨 *INC-1* declared (SEV1): Checkout errors. Opening the war room and inviting the SEV1 responders.',
    );
    expect((await f.run('/incident sev2 Search slow')).reply.text).toBe(
      '🚨 *INC-2* declared (SEV2): Search slow. Opening the war room.',
    );
  });

  it('numbers incidents in order', async () => {
    expect(await declare('/incident sev1 A')).toBe(1);
    expect(await declare('/incident sev2 B')).toBe(2);
    expect(f.jobs().map((j) => j.key)).toEqual(['war-room:1', 'war-room:2']);
  });

  it.each(['SEV1', 'sev-1', 'Sev1', 'sev_1', 'sEv1'])('accepts the severity spelling %s', async (spelling) => {
    const id = await declare(`/incident ${spelling} Checkout errors`);
    expect(await f.store.incidents.get(id)).toMatchObject({ severity: 'sev1', title: 'Checkout errors' });
  });

  it('keeps a quoted title, emoji and apostrophes, and takes --description', async () => {
    const id = await declare(
      `/incident sev2 "EU 🔥 checkout" can't pay --description="Card payments fail since 10:02"`,
    );
    expect(await f.store.incidents.get(id)).toMatchObject({
      title: "EU 🔥 checkout can't pay",
      description: 'Card payments fail since 10:02',
    });
  });

  it('records a CLI declaration as a console incident (the CLI shares the console rooms)', async () => {
    const id = await declare('/incident sev3 Slow search', { platform: 'cli' });
    expect((await f.store.incidents.get(id))?.platform).toBe('console');
    expect((await f.store.incidents.timeline(id))[0]?.platform).toBe('cli');
  });

  it('stores user-typed tokens in the title as plain text, and real Slack mentions as mentions', async () => {
    const id = await declare(`/incident sev2 ${mention('U9')} ${timeToken(1)} @{U8} {{time:1}} paged by <@U123|jane>`, {
      platform: 'slack',
    });
    const title = (await f.store.incidents.get(id))!.title;
    expect([...title.matchAll(MENTION_TOKEN)].map((m) => m[1])).toEqual(['U123']);
    expect([...title.matchAll(TIME_TOKEN)]).toEqual([]);
    // Exactly as typed, minus the invisible token delimiters; nothing invisible is added.
    expect(title).toBe(`@U9 t1 @{U8} {{time:1}} paged by ${mention('U123')}`);
    expect(title.replace(/\uE000@U123\uE001/, '')).not.toMatch(/[\uE000\uE001\u200b]/);
  });

  it('turns tabs and line breaks in the title into spaces', async () => {
    const id = await declare('/incident sev2 "Payment\tgateway\n\ndown" --description="line one\nline two"');
    expect(await f.store.incidents.get(id)).toMatchObject({
      title: 'Payment gateway down',
      description: 'line one\nline two',
    });
  });

  it('decodes Slack entities in the title and description when the text comes from Slack', async () => {
    const id = await declare('/incident sev2 R&amp;D &lt;api&gt; down --description="x &gt; y"', {
      platform: 'slack',
      textFormat: 'slack',
    });
    expect(await f.store.incidents.get(id)).toMatchObject({ title: 'R&D <api> down', description: 'x > y' });
  });

  it('accepts a title of 150 code points (emoji count as one) and refuses 151', async () => {
    const title150 = '🔥'.repeat(150);
    expect(await refused(`/incident sev1 ${title150}🔥`)).toMatch(
      /the title is 151 characters long; at most 150[\s\S]*Usage: `\/incident <sev0/,
    );
    const id = await declare(`/incident sev1 ${title150}`);
    expect((await f.store.incidents.get(id))?.title).toBe(title150);
  });

  // Was a bug: the length was counted after zero-width spaces were added to break up "{{".
  it('counts the title as the user typed it (150 code points with "{{" is fine)', async () => {
    const title = `${'a'.repeat(146)} {{x`;
    expect(Array.from(title)).toHaveLength(150);
    const id = await declare(`/incident sev1 ${title}`);
    expect((await f.store.incidents.get(id))?.title).toBe(title);
  });

  // Was a bug: --description was stored raw and is the card text, so a typed token became a real ping.
  it('stores --description inert, like the title', async () => {
    const id = await declare(
      `/incident sev1 Outage --description="ping ${mention('U9')} at ${timeToken(1)}, @{U8} {{time:1}}"`,
    );
    const description = (await f.store.incidents.get(id))!.description!;
    expect([...description.matchAll(MENTION_TOKEN)]).toEqual([]);
    expect([...description.matchAll(TIME_TOKEN)]).toEqual([]);
    expect(description).toBe('ping @U9 at t1, @{U8} {{time:1}}');
  });
});

describe('bad commands get a private reply naming the problem, and change nothing', () => {
  beforeEach(async () => {
    await declare('/incident sev2 Existing incident');
  });

  it.each([
    [
      'unknown severity',
      '/incident sev7 Payment down',
      /Unknown severity "sev7": use sev0 \(worst\) to sev3\.\nUsage: `\/incident <sev0\|sev1\|sev2\|sev3> <title>/,
    ],
    ['severity-like junk', '/incident severe Payment down', /Start with a severity[\s\S]*Usage: /],
    ['missing title', '/incident sev1', /Cannot declare: the title is missing\.\nUsage: /],
    ['blank quoted title', '/incident sev1 "   "', /the title is missing[\s\S]*Usage: /],
    ['control characters in the title', '/incident sev1 "bad\u0007title"', /control characters[\s\S]*Usage: /],
    [
      'a flag declare does not take',
      '/incident sev1 Payment down --eta=5m',
      /--eta is not an option of incident declare; it takes --description, --alert-group\.\nUsage: /,
    ],
    [
      'a flag update does not take',
      '/incident update INC-1 investigating x --force',
      /--force is not an option of incident update; it takes --eta\.\nUsage: /,
    ],
    [
      'a flag note does not take',
      '/incident note INC-1 x --eta=5m',
      /--eta is not an option of incident note; it takes no flags\.\nUsage: /,
    ],
    [
      'unbalanced double quote',
      '/incident sev1 "Payment down',
      /^Could not read that command: unbalanced quote: " is never closed\.\nUsage: `\/incident <sev0\|sev1\|sev2\|sev3> <title>/,
    ],
    [
      'unbalanced quote in an update',
      '/incident update INC-1 investigating "DB',
      /unbalanced quote[\s\S]*Usage: `\/incident update \[INC-n\]/,
    ],
    [
      'unbalanced quote in a note',
      '/incident NOTE INC-1 "DB',
      /unbalanced quote[\s\S]*Usage: `\/incident note \[INC-n\]/,
    ],
    [
      'unbalanced quote after an unknown word',
      '/incident frobnicate "x',
      /unbalanced quote[\s\S]*Usage: `\/incident help`/,
    ],
    ['C1 control character (NEL) in the title', '/incident sev1 "bad\u0085title"', /control characters[\s\S]*Usage: /],
    [
      'bidi override in the title',
      '/incident sev1 "evil\u202etxt.exe"',
      /invisible text-direction characters[\s\S]*Usage: /,
    ],
    ['unbalanced single quote', "/incident sev1 'Payment down", /unbalanced quote: ' is never closed[\s\S]*Usage: /],
    ['flag given twice', '/incident update INC-1 identified x --eta=5m --eta=6m', /--eta is given twice[\s\S]*Usage: /],
    [
      'unknown incident',
      '/incident note INC-42 hello',
      /INC-42 does not exist\. See open incidents with \/incident list\.\nUsage: `\/incident note/,
    ],
    [
      'update outside a war room without an id',
      '/incident update investigating DB is back',
      /Name the incident \(INC-<n>\) or run this in its war room\.\nUsage: `\/incident update/,
    ],
    [
      'update without a status',
      '/incident update INC-1 fixed it',
      /Start the update with a status: investigating, identified, monitoring \(not "fixed"\)[\s\S]*Usage: /,
    ],
    ['update without text', '/incident update INC-1 monitoring', /needs some text[\s\S]*Usage: /],
    ['bad --eta', '/incident update INC-1 monitoring ok --eta=soon', /--eta="soon" is not a duration[\s\S]*Usage: /],
    ['lead without a person', '/incident lead INC-1', /Name exactly one person[\s\S]*Usage: /],
    ['lead with a word, not a mention', '/incident lead INC-1 jane', /Mention the person[\s\S]*Usage: /],
    ['severity without a value', '/incident severity INC-1', /Give one severity[\s\S]*Usage: /],
    [
      'severity with a bad value',
      '/incident severity INC-1 sev9',
      /Give one severity, sev0 \(worst\) to sev3 \(not "sev9"\)[\s\S]*Usage: /,
    ],
    ['empty note', '/incident note INC-1', /The note is empty[\s\S]*Usage: /],
    ['show with extra words', '/incident show INC-1 please', /show takes only an incident id[\s\S]*Usage: /],
  ])('%s', async (_, text, expected) => {
    expect(await refused(text)).toMatch(expected);
  });

  it('answers an unknown subcommand with the help text', async () => {
    const text = await refused('/incident frobnicate now');
    expect(text).toMatch(/^Unknown \/incident subcommand "frobnicate"\./);
    expect(text).toContain('/incident update [INC-n]');
    expect(text).toContain('/incident <sev0|sev1|sev2|sev3> <title>');
  });

  it('answers an unknown command with the commands it knows', async () => {
    expect(await refused('/deploy payments v1.2.3')).toBe('Unknown command /deploy. firelane knows /incident.');
    expect(await refused('')).toBe('Unknown command (empty). firelane knows /incident.');
  });

  it('refuses a typed @name on Slack, where a real mention is needed', async () => {
    expect(await refused('/incident lead INC-1 @jane', { platform: 'slack' })).toMatch(/"@jane" is not a Slack user/);
  });

  it('refuses an over-long command', async () => {
    expect(await refused(`/incident note INC-1 ${'x'.repeat(4000)}`)).toMatch(/too long/);
  });

  // Was a bug: a number of 10+ digits looks like a key but does not parse, and the reply said "INC-undefined".
  it('names the incident the user typed when the number is long', async () => {
    expect(await refused('/incident note INC-12345678901 hello')).toMatch(
      /^INC-12345678901 does not exist\. See open incidents/,
    );
    expect(await refused('/incident note inc-99999999999999999999 hello')).toMatch(
      /^INC-99999999999999999999 does not exist/,
    );
  });
});

describe('idempotency keys', () => {
  it('the same key twice declares once and returns the first reply as a duplicate', async () => {
    const first = await f.run('/incident sev1 Payment gateway down', { idempotencyKey: 'slack:trigger:1' });
    const after = f.counts();
    const second = await f.run('/incident sev1 Payment gateway down', { idempotencyKey: 'slack:trigger:1' });

    expect(first.outcome).toBe('ok');
    expect(second.outcome).toBe('duplicate');
    expect(second.reply).toEqual(first.reply);
    expect(f.counts()).toEqual(after);
    expect(after).toMatchObject({ incidents: 1, timeline: 1, jobs: 1, receipts: 1 });
  });

  it('a different key is a different request', async () => {
    await f.run('/incident sev1 Payment gateway down', { idempotencyKey: 'k1' });
    await f.run('/incident sev1 Payment gateway down', { idempotencyKey: 'k2' });
    expect(f.counts().incidents).toBe(2);
  });

  it('a refused request does not use up its key', async () => {
    expect((await f.run('/incident sev1', { idempotencyKey: 'k1' })).outcome).toBe('invalid');
    expect((await f.run('/incident sev1 Now with a title', { idempotencyKey: 'k1' })).outcome).toBe('ok');
    expect(f.counts().incidents).toBe(1);
  });

  it('a read (list, show, help) looks up no receipt: a retried delivery reads again, and sees what changed', async () => {
    await declare();
    const lookups = vi.spyOn(f.store.receipts, 'reply');
    const first = await f.run('/incident list', { idempotencyKey: 'l1' });
    await declare('/incident sev2 Search is slow');
    const retry = await f.run('/incident list', { idempotencyKey: 'l1' });
    await f.run('/incident show INC-1', { idempotencyKey: 's1' });
    await f.run('/incident help', { idempotencyKey: 'h1' });
    expect(lookups).not.toHaveBeenCalled();
    expect([first.outcome, retry.outcome]).toEqual(['ok', 'ok']);
    expect(first.reply.text).not.toContain('INC-2');
    expect(retry.reply.text).toContain('INC-2');
    expect(f.counts().receipts).toBe(0);
    // A write claims its key as it writes, with no look first; its retried delivery finds the key taken.
    const note = await f.run('/incident note INC-1 restarted the pods', { idempotencyKey: 'n1' });
    expect(lookups).not.toHaveBeenCalled();
    const again = await f.run('/incident note INC-1 restarted the pods', { idempotencyKey: 'n1' });
    expect(again).toMatchObject({ outcome: 'duplicate', reply: note.reply });
  });

  it('a retried delivery that its handler now refuses (the first one changed the state) gets the first reply', async () => {
    await declare();
    const first = await f.run('/incident resolve INC-1 --root-cause="bad config"', { idempotencyKey: 'r1' });
    expect(first.outcome).toBe('ok');
    const after = f.counts();
    const retry = await f.run('/incident resolve INC-1 --root-cause="bad config"', { idempotencyKey: 'r1' });
    expect(retry).toEqual({ ...first, outcome: 'duplicate' });
    // Without the key, the same command is refused: the handler did refuse, the receipt answered.
    expect((await f.run('/incident resolve INC-1 --root-cause="bad config"')).outcome).toBe('refused');
    expect(f.counts()).toEqual(after);
  });

  it('a subcommand marked read-only that writes fails and changes nothing', async () => {
    const family: CommandFamily = {
      name: 'incident',
      help: () => 'help',
      subcommands: {
        list: {
          run: (ctx) =>
            ctx.write(async () => {
              await f.store.jobs.enqueue({ kind: 'k', key: 'sneaky', payload: {} });
              return privateReply('wrote');
            }),
          usage: '/incident list',
          flags: [],
          readOnly: true,
        },
      },
    };
    const router = createRouter(
      { store: f.store, clock: f.clock, config: DEFAULT_FILE_CONFIG },
      [family],
      pino({ level: 'silent' }),
    );
    const before = f.counts();
    const result = await router.handle({
      text: '/incident list',
      actor: { id: 'alice' },
      platform: 'console',
      idempotencyKey: 'x1',
    });
    expect(result.outcome).toBe('error');
    expect(f.counts()).toEqual(before);
  });

  it('a retried note is recorded once', async () => {
    await declare();
    await f.run('/incident note INC-1 restarted the pods', { idempotencyKey: 'n1' });
    const retry = await f.run('/incident note INC-1 restarted the pods', { idempotencyKey: 'n1' });
    expect(retry.outcome).toBe('duplicate');
    expect((await f.store.incidents.timeline(1)).filter((e) => e.kind === 'note')).toHaveLength(1);
  });
});

describe('working an incident', () => {
  beforeEach(async () => {
    await declare();
  });

  it('@me makes the sender the incident commander, with a timeline event and a room broadcast that invites them', async () => {
    const result = await f.run('/incident lead INC-1 @me', { user: 'bob' });
    expect(result).toMatchObject({ outcome: 'ok', command: 'incident lead' });
    expect(result.reply).toEqual({
      visibility: 'private',
      text: `${mention('bob')} is now the incident commander of INC-1.`,
    });
    expect((await f.store.incidents.get(1))?.commander).toBe('bob');
    const event = (await f.store.incidents.timeline(1)).at(-1)!;
    expect(event).toMatchObject({
      kind: 'role_assigned',
      actor: 'bob',
      data: { role: 'commander', user: 'bob', previous: null },
    });
    expect(f.jobs().at(-1)).toEqual({
      kind: BROADCAST,
      key: `broadcast:${event.id}`,
      payload: { incidentId: 1, eventId: event.id, announce: false, invite: ['bob'] },
      status: 'queued',
    });
  });

  it('assigns the comms lead from a Slack mention, and a repeat changes nothing', async () => {
    await f.run('/incident comms INC-1 <@U0COMMS|carol>', { platform: 'slack', user: 'U0ALICE' });
    expect((await f.store.incidents.get(1))?.commsLead).toBe('U0COMMS');
    expect(f.jobs().at(-1)?.payload).toMatchObject({ announce: false, invite: ['U0COMMS'] });
    const before = f.counts();
    const again = await f.run('/incident comms INC-1 <@U0COMMS>', { platform: 'slack', user: 'U0ALICE' });
    expect(again.reply.text).toBe(`${mention('U0COMMS')} is already the communications lead of INC-1.`);
    expect(f.counts()).toEqual(before);
  });

  it('the Take command button (--take) takes command only while nobody has it', async () => {
    const taken = await f.run('/incident lead INC-1 @me --take', { user: 'bob' });
    expect(taken).toMatchObject({ outcome: 'ok', command: 'incident lead' });
    expect((await f.store.incidents.get(1))?.commander).toBe('bob');

    // A second click (someone who saw the card before bob took over) is refused and changes nothing.
    const text = await refused('/incident lead INC-1 @me --take', { user: 'carol' }, 'refused');
    expect(text).toMatch(
      new RegExp(
        `^${mention('bob')} is already the incident commander of INC-1\\. To hand over: /incident lead INC-1 @person`,
      ),
    );
    expect((await f.store.incidents.get(1))?.commander).toBe('bob');

    // Without --take, handing over works as before.
    expect((await f.run('/incident lead INC-1 @me', { user: 'carol' })).outcome).toBe('ok');
    expect((await f.store.incidents.get(1))?.commander).toBe('carol');
  });

  it('a severity change is recorded and enqueues an announced broadcast', async () => {
    const result = await f.run('/incident severity INC-1 SEV-0');
    expect(result.reply.text).toBe('INC-1 is now SEV0.');
    expect((await f.store.incidents.get(1))?.severity).toBe('sev0');
    const event = (await f.store.incidents.timeline(1)).at(-1)!;
    expect(event).toMatchObject({
      kind: 'severity_changed',
      data: { from: 'sev1', to: 'sev0' },
      text: 'Severity changed from SEV1 to SEV0',
    });
    expect(f.jobs().filter((j) => j.kind === BROADCAST)).toEqual([
      {
        kind: BROADCAST,
        key: `broadcast:${event.id}`,
        payload: { incidentId: 1, eventId: event.id, announce: true },
        status: 'queued',
      },
    ]);
  });

  it("a severity change invites the new severity's responders with the broadcast", async () => {
    const config = structuredClone(DEFAULT_FILE_CONFIG);
    // Slack ids (bare), a console name and a person: a Slack incident invites their Slack ids only.
    config.incidents.severities.sev0.responders = ['U0SRE', 'U0CTO', 'carol', 'lee'];
    config.people = { lee: { teams: '6f1c2d3e-0000-4000-8000-00000000abcd' } };
    f.close();
    f = createIncidentFixture(config);
    await declare(undefined, { platform: 'slack', user: 'U0ALICE' });
    await f.run('/incident severity INC-1 sev0', { platform: 'slack', user: 'U0ALICE' });
    const event = (await f.store.incidents.timeline(1)).at(-1)!;
    expect(f.jobs().at(-1)).toEqual({
      kind: BROADCAST,
      key: `broadcast:${event.id}`,
      payload: { incidentId: 1, eventId: event.id, announce: true, invite: ['U0SRE', 'U0CTO'] },
      status: 'queued',
    });
    // No responders configured for sev2: no invite.
    await f.run('/incident severity INC-1 sev2', { platform: 'slack', user: 'U0ALICE' });
    expect(f.jobs().at(-1)?.payload).not.toHaveProperty('invite');
  });
  it('the same severity again is a no-op', async () => {
    const before = f.counts();
    expect((await f.run('/incident severity INC-1 sev1')).reply.text).toBe('INC-1 is already SEV1.');
    expect(f.counts()).toEqual(before);
  });

  it('an update inside the war room needs no id, moves the status and resets the update clock', async () => {
    await f.store.incidents.update(
      1,
      { roomId: 'R1', roomName: 'inc-1-payment-gateway-down' },
      { actor: 'test', platform: 'cli', action: 'test.setup' },
    );
    f.clock.advance(20 * 60_000);
    const result = await f.run('/incident update identified Bad config push --eta=1h30m', { roomId: 'R1' });
    expect(result.outcome).toBe('ok');
    expect(await f.store.incidents.get(1)).toMatchObject({ status: 'identified', lastUpdateAt: f.clock.now() });
    expect((await f.store.incidents.timeline(1)).at(-1)).toMatchObject({
      kind: 'status_update',
      text: '*IDENTIFIED*: Bad config push (ETA 1h 30m)',
      data: { status: 'identified', etaMs: 90 * 60_000 },
    });
    expect(f.jobs().at(-1)).toMatchObject({ kind: BROADCAST, payload: { announce: true } });
  });

  it('a war room of another platform does not imply the incident', async () => {
    await f.store.incidents.update(
      1,
      { roomId: 'R1', roomName: 'inc-1-x' },
      { actor: 'test', platform: 'cli', action: 'test.setup' },
    );
    expect(await refused('/incident note hello', { roomId: 'R1', platform: 'slack' })).toMatch(/Name the incident/);
  });

  it('a note keeps user text inert', async () => {
    await f.run(`/incident note INC-1 ${mention('U9')} said ${timeToken(1)} @{U8} {{time:1}}`);
    const event = (await f.store.incidents.timeline(1)).at(-1)!;
    expect(event.kind).toBe('note');
    expect([...event.text.matchAll(MENTION_TOKEN)]).toEqual([]);
    expect([...event.text.matchAll(TIME_TOKEN)]).toEqual([]);
    expect(event.text).toBe('@U9 said t1 @{U8} {{time:1}}');
  });

  it('a resolved incident refuses updates, role and severity changes', async () => {
    await f.store.incidents.update(1, { status: 'resolved' }, { actor: 'test', platform: 'cli', action: 'test.setup' });
    expect(await refused('/incident update INC-1 monitoring all good', {}, 'refused')).toBe(
      'INC-1 is resolved; reopen it first with /incident reopen INC-1.',
    );
    expect(await refused('/incident lead INC-1 @me', {}, 'refused')).toMatch(/INC-1 is resolved/);
    expect(await refused('/incident severity INC-1 sev3', {}, 'refused')).toMatch(/INC-1 is resolved/);
  });

  it('list shows open incidents only, newest first', async () => {
    await declare('/incident sev3 Second one');
    await declare('/incident sev2 Third one');
    await f.store.incidents.update(2, { status: 'resolved' }, { actor: 'test', platform: 'cli', action: 'test.setup' });
    const text = (await f.run('/incident list')).reply.text;
    expect(text.split('\n')[0]).toBe('*2 open incidents*');
    expect(text.indexOf('INC-3')).toBeLessThan(text.indexOf('INC-1'));
    expect(text).not.toContain('INC-2');
  });

  it('show returns the card and the timeline', async () => {
    await f.run('/incident note INC-1 first note');
    const reply = (await f.run('/incident show INC-1')).reply;
    expect(reply.visibility).toBe('private');
    expect(reply.text).toMatch(/^\*Timeline\* \(2 events\)/);
    expect(reply.text).toContain('first note');
    expect(reply.card).toMatchObject({ title: 'INC-1: Payment gateway down', accent: 'danger' });
    expect(reply.card?.buttons?.map((b) => b.command)).toEqual([
      'incident lead INC-1 @me --take',
      'incident show INC-1',
    ]);
  });

  it('/incident with no text, and /incident help, show the usage privately', async () => {
    for (const text of ['/incident', '/incident help']) {
      const result = await f.run(text);
      expect(result.outcome).toBe('ok');
      expect(result.reply.visibility).toBe('private');
      expect(result.reply.text).toContain('/incident update');
    }
  });
});

describe('subcommand and flag names are looked up as own names only', () => {
  // Was a bug: `family.subcommands[word]` also found Object.prototype members, so "constructor" and
  // "__proto__" were taken as subcommands (an internal error, or a rejection with a flag).
  it('/incident constructor --x=1 is answered, not thrown', async () => {
    const result = await f.run('/incident constructor --x=1');
    expect(result.outcome).toBe('invalid');
    expect(result.reply.text).toMatch(/^Unknown \/incident subcommand/);
  });

  it.each(['/incident constructor', '/incident __proto__', '/incident CONSTRUCTOR', '/incident __proto__ --eta=1m'])(
    '%s is an unknown subcommand, not an internal error',
    async (text) => {
      const result = await f.run(text);
      expect(result.outcome).toBe('invalid');
      expect(result.reply.text).toMatch(/^Unknown \/incident subcommand/);
    },
  );

  it('an unbalanced quote after constructor or __proto__ shows the general usage', async () => {
    for (const text of ['/incident constructor "x', '/incident __proto__ "x']) {
      expect(await refused(text)).toMatch(/unbalanced quote[\s\S]*Usage: `\/incident help`/);
    }
  });

  it('other Object.prototype names are ordinary unknown subcommands (they are never all lower case)', async () => {
    for (const text of ['/incident toString', '/incident hasOwnProperty --eta=1m', '/incident valueOf']) {
      expect((await f.run(text)).outcome).toBe('invalid');
    }
  });
});

describe('router properties', () => {
  const ALLOWED: Outcome[] = ['ok', 'invalid', 'refused'];
  const pieces = fc.constantFrom(
    ' ',
    '  ',
    '\n',
    '"',
    "'",
    '“',
    '”',
    '‘',
    '’',
    '--x=',
    '--eta=',
    '—eta=',
    '--description=',
    '--',
    '<@U1|a>',
    '<@U1>',
    '<#C1|general>',
    '<!channel>',
    '<https://x.y|l>',
    '<',
    '>',
    '|',
    '@',
    '@jane',
    '@me',
    '=',
    'sev1',
    'SEV-0',
    'sev9',
    'sev',
    'INC-1',
    'INC-2',
    'INC-0',
    'INC-99999999999',
    '1',
    'update',
    'lead',
    'comms',
    'note',
    'severity',
    'list',
    'show',
    'help',
    'investigating',
    'identified',
    'monitoring',
    '5m',
    '🔥',
    '\u0000',
    '\u0007',
    '\u200b',
    'e\u0301',
    '{{time:1}}',
    '@{U1}',
    '#{C1|x}',
    'x',
  );
  const grammar = fc
    .array(
      fc.oneof({ weight: 5, arbitrary: pieces }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) }),
      { maxLength: 30 },
    )
    .map((parts) => parts.join(''));
  const anyText = fc.oneof(
    grammar,
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
  );
  const where = fc.record({
    platform: fc.constantFrom('console' as const, 'cli' as const, 'slack' as const),
    inRoom: fc.boolean(),
    key: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
  });

  it('never throws and always answers with non-empty text and an expected outcome', async () => {
    await declare();
    await f.store.incidents.update(
      1,
      { roomId: 'R1', roomName: 'inc-1-x' },
      { actor: 'test', platform: 'cli', action: 'test.setup' },
    );
    await declare('/incident sev2 Resolved one');
    await f.store.incidents.update(2, { status: 'resolved' }, { actor: 'test', platform: 'cli', action: 'test.setup' });
    await fc.assert(
      fc.asyncProperty(anyText, where, async (text, w) => {
        const result = await f.run(`/incident ${text}`, {
          platform: w.platform,
          ...(w.inRoom && { roomId: 'R1' }),
          ...(w.key && { idempotencyKey: w.key }),
        });
        expect(result.reply.text.length).toBeGreaterThan(0);
        expect([...ALLOWED, ...(w.key ? ['duplicate'] : [])]).toContain(result.outcome);
        expect(['private', 'channel']).toContain(result.reply.visibility);
      }),
      { numRuns: 3000 },
    );
  });

  it('an invalid command never changes incidents, timeline, jobs or receipts', async () => {
    await declare();
    await f.store.incidents.update(
      1,
      { roomId: 'R1', roomName: 'inc-1-x' },
      { actor: 'test', platform: 'cli', action: 'test.setup' },
    );
    let invalid = 0;
    await fc.assert(
      fc.asyncProperty(anyText, fc.boolean(), async (text, inRoom) => {
        const before = f.counts();
        const incidents = await f.store.incidents.list();
        const result = await f.run(`/incident ${text}`, {
          ...(inRoom && { roomId: 'R1' }),
          idempotencyKey: `key-${invalid}-${text.length}`,
        });
        if (result.outcome !== 'invalid') return;
        invalid++;
        expect(f.counts()).toEqual(before);
        expect(await f.store.incidents.list()).toEqual(incidents);
      }),
      { numRuns: 1500 },
    );
    expect(invalid).toBeGreaterThan(300);
  });
});
