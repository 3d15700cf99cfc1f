// /incident subcommands over Slack: in the war room (incident implied), elsewhere (named), and bad input.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANNOUNCE, startHarness, type Harness } from '../support/harness.js';
import {
  ackText,
  blockTexts,
  buttons,
  cardField,
  cardMessage,
  declare,
  incident,
  messageJson,
  shownText,
  snapshot,
} from './slack-helpers.js';
import type { Incident } from '../../src/domain/incident.js';

describe('subcommands in the war room', () => {
  let h: Harness;
  let inc: Incident;
  let room: string;
  beforeEach(async () => {
    h = await startHarness();
    inc = await declare(h, 'sev1 Payment gateway down');
    room = inc.roomId!;
  });
  afterEach(async () => h?.close());

  const inRoom = (text: string, user = 'U0ALICE') => h.command(text, { channel: room, user });
  const newMessages = (channel: string, since: number) =>
    h.slack.messages.slice(since).filter((m) => m.channel === channel);

  it('update: ephemeral ack; posted in the room and the announcement channel; the pinned card shows the status', async () => {
    const before = h.slack.messages.length;
    const ack = await inRoom('update identified "db failover" --eta=30m');
    expect(ack.status).toBe(200);
    expect(ack.body.response_type).toBe('ephemeral');
    expect(shownText(ack.body)).toContain('INC-1');
    expect(await incident(h, 1)).toMatchObject({ status: 'identified' });
    const event = (await h.firelane.store.incidents.timeline(1)).at(-1)!;
    expect(event).toMatchObject({
      kind: 'status_update',
      actor: 'U0ALICE',
      data: { status: 'identified', etaMs: 30 * 60_000 },
    });
    expect(h.slack.callsTo('chat.update')).toHaveLength(0); // nothing before the job runs

    await h.drain();
    const roomPosts = newMessages(room, before);
    const announced = newMessages(ANNOUNCE, before);
    expect(roomPosts).toHaveLength(1);
    expect(announced).toHaveLength(1);
    for (const m of [...roomPosts, ...announced]) {
      const json = messageJson(m);
      expect(json).toContain('IDENTIFIED');
      expect(json).toContain('db failover');
      expect(json).toContain('ETA 30m');
      expect(json).toContain('<@U0ALICE>');
    }
    expect(messageJson(announced[0]!)).toContain(`<#${room}>`);
    const updates = h.slack.callsTo('chat.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.params).toMatchObject({ channel: room, ts: inc.cardRef });
    expect(cardField((await cardMessage(h, 1)).blocks, 'Status')).toBe('Identified');
    expect(h.slack.pins).toEqual([{ channel: room, ts: inc.cardRef }]);
    expect(await h.firelane.store.jobs.depth()).toMatchObject({ queued: 0, dead: 0 });
  });

  it('lead with a Slack mention assigns the commander; the card shows them and drops "Take command"', async () => {
    const before = h.slack.messages.length;
    const ack = await inRoom('lead <@U0BOB|bob>');
    expect(ack.body.response_type).toBe('ephemeral');
    expect(ackText(ack.body)).toContain('<@U0BOB>');
    expect((await incident(h, 1)).commander).toBe('U0BOB');
    expect((await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'role_assigned')).toEqual([
      expect.objectContaining({ actor: 'U0ALICE', data: { role: 'commander', user: 'U0BOB', previous: null } }),
    ]);
    await h.drain();
    const card = await cardMessage(h, 1);
    expect(cardField(card.blocks, 'Commander')).toBe('<@U0BOB>');
    expect(buttons(card.blocks).map((b) => b.text.text)).not.toContain('Take command');
    expect(newMessages(room, before)).toHaveLength(1);
    expect(messageJson(newMessages(room, before)[0]!)).toContain('<@U0BOB>');
    // A role change is for the room; the announcement channel is not told.
    expect(newMessages(ANNOUNCE, before)).toHaveLength(0);
  });

  it('lead with a plain @name (not picked from Slack) is refused and changes nothing', async () => {
    const before = await snapshot(h);
    const ack = await inRoom('lead @bob');
    expect(ack.body.response_type).toBe('ephemeral');
    expect(shownText(ack.body)).toContain('@bob');
    expect(shownText(ack.body)).toContain('Usage:');
    expect(shownText(ack.body)).toContain('/incident lead');
    await h.drain();
    expect(await snapshot(h)).toEqual(before);
    expect((await incident(h, 1)).commander).toBeNull();
  });

  it('comms assigns the communications lead', async () => {
    const ack = await inRoom('comms <@U0CAROL|carol>');
    expect(ack.body.response_type).toBe('ephemeral');
    expect((await incident(h, 1)).commsLead).toBe('U0CAROL');
    await h.drain();
    expect(cardField((await cardMessage(h, 1)).blocks, 'Comms lead')).toBe('<@U0CAROL>');
    expect(cardField((await cardMessage(h, 1)).blocks, 'Commander')).toBe('unassigned');
  });

  it('note adds to the timeline without posting anything', async () => {
    const before = await snapshot(h);
    // With should_escape on, Slack sends a typed & as &amp;.
    const ack = await inRoom('note Rolled back deploy 4711 &amp; waiting');
    expect(ack.body.response_type).toBe('ephemeral');
    expect(shownText(ack.body)).toContain('INC-1');
    expect((await h.firelane.store.incidents.timeline(1)).at(-1)).toMatchObject({
      kind: 'note',
      text: 'Rolled back deploy 4711 & waiting',
      actor: 'U0ALICE',
    });
    await h.drain();
    const after = await snapshot(h);
    expect(after.timeline).toBe(before.timeline + 1);
    expect(after.slackCalls).toBe(before.slackCalls);
  });

  it('severity re-grades, is announced, and the card follows', async () => {
    const before = h.slack.messages.length;
    const ack = await inRoom('severity sev2');
    expect(ack.body.response_type).toBe('ephemeral');
    expect(shownText(ack.body)).toContain('SEV2');
    expect((await incident(h, 1)).severity).toBe('sev2');
    await h.drain();
    const announced = newMessages(ANNOUNCE, before);
    expect(announced).toHaveLength(1);
    expect(messageJson(announced[0]!)).toContain('SEV1 to SEV2');
    expect(newMessages(room, before)).toHaveLength(1);
    expect(cardField((await cardMessage(h, 1)).blocks, 'Severity')).toBe('SEV2');
  });

  it('resolve: the announcement has a line each for the outcome, the root cause and the action items, and none inside them', async () => {
    const before = h.slack.messages.length;
    // A root cause typed over two lines, with no full stop at the end.
    await inRoom(
      'resolve --root-cause="the primary ran out of disk.\nWAL archiving had stopped" --action-items="alert on disk; archive check"',
    );
    await h.drain();
    const posted = [...newMessages(room, before), ...newMessages(ANNOUNCE, before)].map((m) =>
      blockTexts(m.blocks).join('\n'),
    );
    const outcome = /^\*INC-1\* Resolved after \d+s\. — <@U0ALICE>$/;
    const lines = ['Root cause: the primary ran out of disk. WAL archiving had stopped.', 'Action items: 2.'];
    expect(posted).toHaveLength(2);
    expect(posted[0]!.split('\n')).toEqual([expect.stringMatching(outcome), ...lines]);
    expect(posted[1]!.split('\n')).toEqual([expect.stringMatching(outcome), ...lines, `War room: <#${room}>`]);
    // The full root cause, its line break included, is kept for the postmortem.
    expect((await incident(h, 1)).rootCause).toBe('the primary ran out of disk.\nWAL archiving had stopped');
  });

  it('list, show and help answer privately and change nothing', async () => {
    await declare(h, 'sev3 Typo on pricing page');
    const before = await snapshot(h);

    const list = await inRoom('list');
    expect(list.body.response_type).toBe('ephemeral');
    const listed = ackText(list.body);
    expect(listed).toContain('2 open incidents');
    expect(listed).toContain('INC-1');
    expect(listed).toContain('Payment gateway down');
    expect(listed).toContain(`<#${room}>`);
    expect(listed.indexOf('INC-2')).toBeLessThan(listed.indexOf('INC-1')); // newest first

    const show = await h.command('show INC-1', { channel: 'C0GENERAL' });
    expect(show.body.response_type).toBe('ephemeral');
    expect(cardField(show.body.blocks, 'Severity')).toBe('SEV1');
    expect(cardField(show.body.blocks, 'Commander')).toBe('unassigned');
    const shown = ackText(show.body);
    expect(shown).toContain('Timeline');
    expect(shown).toContain('Declared SEV1: Payment gateway down');
    expect(shown).toContain('War room inc-1-payment-gateway-down opened');

    const implied = await inRoom('show');
    expect(cardField(implied.body.blocks, 'Severity')).toBe('SEV1');

    const help = await inRoom('help');
    expect(help.body.response_type).toBe('ephemeral');
    for (const sub of ['update', 'lead', 'comms', 'note', 'severity', 'list', 'show'])
      expect(ackText(help.body)).toContain(`/incident ${sub}`);

    await h.drain();
    expect(await snapshot(h)).toEqual(before);
  });
});

describe('subcommands outside a war room', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    await declare(h, 'sev1 Payment gateway down');
  });
  afterEach(async () => h?.close());

  it('without an incident id: asks to name the incident, changes nothing', async () => {
    const before = await snapshot(h);
    const ack = await h.command('update identified x', { channel: 'C0GENERAL' });
    expect(ack.body.response_type).toBe('ephemeral');
    expect(shownText(ack.body)).toMatch(/Name the incident/i);
    expect(shownText(ack.body)).toContain('INC-');
    expect(shownText(ack.body)).toContain('Usage:');
    await h.drain();
    expect(await snapshot(h)).toEqual(before);
    expect((await incident(h, 1)).status).toBe('investigating');
  });

  it('with an incident id: works from any channel', async () => {
    const before = h.slack.messages.length;
    const ack = await h.command('update INC-1 identified x', { channel: 'C0GENERAL' });
    expect(ack.body.response_type).toBe('ephemeral');
    expect((await incident(h, 1)).status).toBe('identified');
    await h.drain();
    const room = (await incident(h, 1)).roomId!;
    expect(
      h.slack.messages
        .slice(before)
        .map((m) => m.channel)
        .sort(),
    ).toEqual([ANNOUNCE, room].sort());
    expect(h.slack.messagesIn('C0GENERAL')).toHaveLength(0);
    expect(cardField((await cardMessage(h, 1)).blocks, 'Status')).toBe('Identified');
  });
});

describe('bad input: a private reply naming the problem and the usage; nothing created or changed', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    await declare(h, 'sev1 Payment gateway down');
  });
  afterEach(async () => h?.close());

  const flame = '🔥';
  const cases: Array<{ name: string; text: string; problem: RegExp; usage: string }> = [
    {
      name: 'unknown severity',
      text: 'sev7 Payments down',
      problem: /severity "sev7"/,
      usage: '/incident &lt;sev0|sev1|sev2|sev3&gt; &lt;title&gt;',
    },
    {
      name: 'missing title',
      text: 'sev1',
      problem: /title is missing/,
      usage: '/incident &lt;sev0|sev1|sev2|sev3&gt; &lt;title&gt;',
    },
    {
      name: 'title of 151 code points',
      text: `sev1 ${flame.repeat(141)} outage!!!`,
      problem: /151 characters.*at most 150/,
      usage: '/incident &lt;sev0|sev1|sev2|sev3&gt; &lt;title&gt;',
    },
    {
      name: 'unknown subcommand',
      text: 'frobnicate now',
      problem: /subcommand "frobnicate"/,
      usage: '/incident update',
    },
    {
      name: 'unknown flag',
      text: 'update INC-1 identified x --foo=1',
      problem: /--foo is not an option/,
      usage: '/incident update [INC-n]',
    },
    { name: 'unbalanced quote', text: 'sev1 "Payment down', problem: /unbalanced quote/, usage: '/incident' },
    {
      name: 'no such incident',
      text: 'update INC-99 identified x',
      problem: /INC-99 does not exist/,
      usage: '/incident update [INC-n]',
    },
    {
      name: 'bad status',
      text: 'update INC-1 resolved x',
      problem: /investigating, identified, monitoring \(not "resolved"\)/,
      usage: '/incident update [INC-n]',
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const before = await snapshot(h);
      const ack = await h.command(c.text, { channel: 'C0GENERAL' });
      expect(ack.status).toBe(200);
      expect(ack.body.response_type).toBe('ephemeral');
      const text = ackText(ack.body);
      expect(text).toMatch(c.problem);
      expect(text).toContain(c.usage);
      await h.drain();
      expect(await snapshot(h)).toEqual(before);
      expect(await incident(h, 1)).toMatchObject({ status: 'investigating', severity: 'sev1', commander: null });
    });
  }

  it('the usage is shown on every refusal (unbalanced quote shows the declare form)', async () => {
    const ack = await h.command('sev1 "Payment down');
    // The contract: a bad command gets a reply that "shows the correct form".
    expect(ackText(ack.body)).toContain('/incident &lt;sev0|sev1|sev2|sev3&gt; &lt;title&gt;');
  });

  it('a 150-code-point title is accepted even though it is 290 UTF-16 units long', async () => {
    const title = `${flame.repeat(140)} outage!!!`;
    expect(Array.from(title)).toHaveLength(150);
    expect(title.length).toBe(290);
    const ack = await h.command(`sev1 ${title}`);
    expect(ack.body.response_type).toBe('in_channel');
    expect(shownText(ack.body)).toContain('INC-2');
    await h.drain();
    expect(await incident(h, 2)).toMatchObject({ title, roomName: 'inc-2-outage' });
    expect(messageJson(h.slack.messagesIn(ANNOUNCE).at(-1)!)).toContain(flame.repeat(140));
  });
});
