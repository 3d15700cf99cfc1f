// Declaring over Slack: the ack, the war room the job opens, room names from any title, escaping, concurrency.
import { afterEach, describe, expect, it } from 'vitest';
import { ANNOUNCE, startHarness, type Harness } from '../support/harness.js';
import {
  blockTexts,
  buttons,
  cardField,
  cardMessage,
  declare,
  declareSubmission,
  incident,
  messageJson,
  shownText,
} from './slack-helpers.js';

const VALID_ROOM = /^[a-z0-9_-]{1,80}$/;

describe('declare over Slack', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('acks at once, then the job opens, fills and pins the war room and announces it', async () => {
    h = await startHarness();
    const callsAtStart = h.slack.calls.length; // auth.test at start-up

    const ack = await h.command('sev1 Payment gateway down', { user: 'U0ALICE', channel: 'C0GENERAL' });
    expect(ack.status).toBe(200);
    expect(ack.body.response_type).toBe('in_channel');
    expect(shownText(ack.body)).toContain('INC-1');
    expect(shownText(ack.body)).toContain('Payment gateway down');
    // The work is queued, not done: Slack has not been called yet.
    expect(h.slack.calls.length).toBe(callsAtStart);
    expect(await h.firelane.store.jobs.depth()).toMatchObject({ queued: 1, running: 0, dead: 0 });
    const declared = await incident(h, 1);
    expect(declared).toMatchObject({
      title: 'Payment gateway down',
      severity: 'sev1',
      status: 'investigating',
      declaredBy: 'U0ALICE',
      platform: 'slack',
      roomId: null,
      cardRef: null,
    });

    await h.drain();

    expect(h.slack.callsTo('conversations.create')).toHaveLength(1);
    const room = h.slack.channelByName('inc-1-payment-gateway-down')!;
    expect(room).toBeDefined();
    expect([...room.members].sort()).toEqual(['U0ALICE', 'U0ONCALL1', 'U0ONCALL2', 'UBOT']);

    const stored = await incident(h, 1);
    expect(stored).toMatchObject({ roomId: room.id, roomName: 'inc-1-payment-gateway-down' });
    expect(stored.cardRef).toBeTruthy();
    expect((await h.firelane.store.incidents.timeline(1)).map((e) => e.kind)).toEqual(['declared', 'war_room_opened']);
    expect(await h.firelane.store.jobs.depth()).toMatchObject({ queued: 0, running: 0, dead: 0 });

    // The card: severity, status, commander, declared time as a Slack date token; pinned.
    const card = await cardMessage(h, 1);
    expect(h.slack.messagesIn(room.id)).toHaveLength(2); // the incident card and the checklist
    expect(cardField(card.blocks, 'Severity')).toBe('SEV1');
    expect(cardField(card.blocks, 'Status')).toBe('Investigating');
    expect(cardField(card.blocks, 'Commander')).toBe('unassigned');
    const seconds = Math.floor(stored.declaredAt / 1000);
    expect(cardField(card.blocks, 'Declared')).toMatch(
      new RegExp(`^<!date\\^${seconds}\\^[^|>]+\\|\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC> by <@U0ALICE>$`),
    );
    expect(blockTexts(card.blocks).join('\n')).toContain('INC-1: Payment gateway down');
    expect(buttons(card.blocks).map((b) => b.text.text)).toContain('Take command');
    expect(h.slack.pins).toEqual([{ channel: room.id, ts: stored.cardRef }]);

    // The announcement names the declarer and links the room.
    const announcements = h.slack.messagesIn(ANNOUNCE);
    expect(announcements).toHaveLength(1);
    const announced = messageJson(announcements[0]!);
    expect(announced).toContain('INC-1');
    expect(announced).toContain('<@U0ALICE>');
    expect(announced).toContain(`<#${room.id}>`);
  });

  it('numbers incidents INC-1, INC-2, each with its own room', async () => {
    h = await startHarness();
    const first = await h.command('sev1 Payment gateway down');
    const second = await h.command('SEV-2 Search is slow');
    expect(first.body.text).toContain('INC-1');
    expect(second.body.text).toContain('INC-2');
    await h.drain();
    expect((await h.firelane.store.incidents.list()).map((i) => [i.id, i.severity, i.roomName])).toEqual([
      [2, 'sev2', 'inc-2-search-is-slow'],
      [1, 'sev1', 'inc-1-payment-gateway-down'],
    ]);
    expect(h.slack.callsTo('conversations.create')).toHaveLength(2);
    // sev2 has no responders in the test config: only the declarer and the bot.
    expect([...h.slack.channelByName('inc-2-search-is-slow')!.members].sort()).toEqual(['U0ALICE', 'UBOT']);
  });
});

describe('war-room names from hostile titles', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const longAscii = Array.from({ length: 16 }, () => 'database').join(' '); // 143 characters
  const cases: Array<{ title: string; expected?: string }> = [
    { title: '🔥🔥 Payments 🔥 down', expected: 'payments-down' },
    { title: 'Café down', expected: 'cafe-down' },
    { title: 'CHECKOUT Is DOWN', expected: 'checkout-is-down' },
    { title: '<!channel> everything broke' }, // Slack sends an @channel picked from the list like this
    { title: 'api/v2/orders //failing\\', expected: 'api-v2-orders-failing' },
    { title: '数据库'.repeat(50), expected: '' }, // 150 code points, nothing ASCII
    { title: '!!! ??? *** ### %%%', expected: '' },
    { title: longAscii },
    { title: 'Ｆｕｌｌ－ｗｉｄｔｈ ｔｉｔｌｅ', expected: 'full-width-title' },
  ];

  it('always creates a valid Slack channel name inc-<n>[-slug]', async () => {
    h = await startHarness();
    for (const [i, c] of cases.entries()) {
      const n = i + 1;
      const ack = await h.command(`sev2 ${c.title}`);
      expect(shownText(ack.body), c.title).toContain(`INC-${n}`);
    }
    await h.drain();

    const created = h.slack.callsTo('conversations.create');
    expect(
      created.every((call) => call.ok),
      JSON.stringify(created.filter((call) => !call.ok)),
    ).toBe(true);
    for (const [i, c] of cases.entries()) {
      const n = i + 1;
      const stored = await incident(h, n);
      const name = stored.roomName ?? '';
      expect(name, c.title).toMatch(VALID_ROOM);
      expect(name, c.title).toMatch(new RegExp(`^inc-${n}(-|$)`));
      if (c.expected !== undefined) expect(name, c.title).toBe(c.expected ? `inc-${n}-${c.expected}` : `inc-${n}`);
      expect(h.slack.channels.get(stored.roomId!)?.name, c.title).toBe(name);
    }
    const long = (await incident(h, cases.findIndex((c) => c.title === longAscii) + 1)).roomName!;
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long.length).toBeGreaterThan(70);
    expect(long).not.toMatch(/-$/);
    expect((await incident(h, 4)).roomName).toMatch(/^inc-4-[a-z0-9-]*everything-broke$/);
  });

  it('takes the next free name when the name is taken', async () => {
    h = await startHarness({
      fake: {
        channels: [
          { id: ANNOUNCE, name: 'incidents' },
          { id: 'C0GENERAL', name: 'general' },
          { id: 'C0OLDROOM', name: 'inc-1-payment-gateway-down' },
        ],
      },
    });
    await declare(h, 'sev1 Payment gateway down');
    const names = h.slack.callsTo('conversations.create').map((c) => [c.params.name, c.error ?? 'ok']);
    expect(names).toEqual([
      ['inc-1-payment-gateway-down', 'name_taken'],
      ['inc-1-payment-gateway-down-2', 'ok'],
    ]);
    const room = h.slack.channelByName('inc-1-payment-gateway-down-2')!;
    expect(await incident(h, 1)).toMatchObject({ roomId: room.id, roomName: room.name });
    // Nobody was invited into the old channel, nothing posted there.
    expect([...h.slack.channels.get('C0OLDROOM')!.members]).toEqual(['UBOT']);
    expect(h.slack.messagesIn('C0OLDROOM')).toHaveLength(0);
    expect(h.slack.pins).toEqual([{ channel: room.id, ts: (await incident(h, 1)).cardRef }]);
  });
});

describe('configured room prefix and long descriptions', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('uses channelPrefix exactly as configured (an underscore is valid in the config and in Slack)', async () => {
    h = await startHarness({ configYaml: `incidents:\n  announceChannel: ${ANNOUNCE}\n  channelPrefix: ir_prod\n` });
    await declare(h, 'sev1 Payment gateway down');
    // Contract: war rooms are <prefix>-<number>-<slug>.
    expect((await incident(h, 1)).roomName).toBe('ir_prod-1-payment-gateway-down');
  });

  it('the pinned card shows the whole description the declare form accepted (3000 characters)', async () => {
    h = await startHarness();
    const description = 'R&D <team> '.repeat(272).trim(); // 2991 characters, one line
    expect(Array.from(description).length).toBeLessThanOrEqual(3000);
    // The modal's description field takes up to 3000 characters (max_length in the view).
    const submitted = await h.interaction(
      declareSubmission({ viewId: 'V0LONGDESC', title: 'Research cluster down', description }),
    );
    expect(submitted.body).toBeUndefined();
    await h.drain();
    expect((await incident(h, 1)).description).toBe(description);
    // Long text is split into several sections at a space; nothing is lost.
    const shown = blockTexts((await cardMessage(h, 1)).blocks)
      .join(' ')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    expect(shown).toContain(description);
    for (const text of blockTexts((await cardMessage(h, 1)).blocks)) expect(text.length).toBeLessThanOrEqual(3000);
  });
});

describe('user text never becomes Slack markup', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  /** Every piece of content firelane sent to Slack: posts, updates, ephemerals, response_url bodies. */
  function everythingSent(acks: unknown[]): string {
    const calls = h.slack.calls
      .filter((c) => c.method.startsWith('chat.') || c.method === 'views.open')
      .map((c) => JSON.stringify(c.params));
    return [
      ...calls,
      ...h.slack.responses.map((r) => JSON.stringify(r.body)),
      ...acks.map((a) => JSON.stringify(a)),
    ].join('\n');
  }

  it('a title typed as "<!channel> & <@U0EVIL>" is shown literally, never as a broadcast or a mention', async () => {
    h = await startHarness();
    // With should_escape on, Slack sends characters people type as &lt; &gt; &amp;.
    const ack = await h.command('sev1 Outage &lt;!channel&gt; &amp; &lt;@U0EVIL&gt;');
    expect(ack.status).toBe(200);
    await h.drain();
    const show = await h.command('show INC-1');

    const sent = everythingSent([ack.body, show.body]);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
    expect(sent).not.toContain('<!channel>');
    expect(sent, 'U0EVIL is mentioned (pinged) by the ack, card and announcement').not.toContain('<@U0EVIL');
    expect(sent).toContain('&lt;!channel&gt;');
    expect(sent).toContain('&amp;');
    expect((await incident(h, 1)).title).toBe('Outage <!channel> & <@U0EVIL>');
  });

  it("an @channel picked from Slack's list (<!channel>) is not sent back as a live broadcast", async () => {
    h = await startHarness();
    const ack = await h.command('sev1 <!channel> <!here> <!subteam^S0ONCALL|@oncall> checkout down');
    await h.drain();
    const sent = everythingSent([ack.body]);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
    expect(sent).not.toMatch(/<!(channel|here|everyone|subteam)/);
    expect((await incident(h, 1)).title).toContain('checkout down');
  });

  it('a title from the declare modal is escaped as well, and cannot forge firelane tokens', async () => {
    h = await startHarness();
    const result = await h.interaction(
      declareSubmission({
        viewId: 'V0ESCAPE',
        title: 'Outage <!channel> & <@U0EVIL> @{U0EVIL} #{C0GENERAL|general}',
        description: 'plain words',
      }),
    );
    expect(result.status).toBe(200);
    await h.drain();
    // Stored as typed (firelane may break up its own token syntax with an invisible U+200B).
    expect((await incident(h, 1)).title.replace(/\u200b/g, '')).toBe(
      'Outage <!channel> & <@U0EVIL> @{U0EVIL} #{C0GENERAL|general}',
    );
    const sent = everythingSent([]);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
    expect(sent).toContain('&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;');
    expect(sent).not.toMatch(/<!(channel|everyone)/);
    expect(sent).not.toContain('<@U0EVIL');
    expect(sent).not.toContain('<#C0GENERAL>');
  });

  it('a description (modal or --description) cannot forge mentions, channel links or dates', async () => {
    h = await startHarness();
    const forged = '<!everyone> @{U0EVIL} {{time:86400000}} #{C0GENERAL|general}';
    await h.interaction(declareSubmission({ viewId: 'V0DESC', title: 'Checkout broken', description: forged }));
    const ack = await h.command(`sev2 Search broken --description="${forged}"`);
    expect(ack.body.response_type).toBe('in_channel');
    await h.drain();
    expect((await incident(h, 1)).description).toBe(forged);
    expect((await incident(h, 2)).description?.replace(/\u200b/g, '')).toBe(forged);
    for (const id of [1, 2]) {
      const card = messageJson(await cardMessage(h, id));
      expect(card).toContain('&lt;!everyone&gt;');
      expect(card, `INC-${id} card`).not.toContain('<@U0EVIL>');
      expect(card, `INC-${id} card`).not.toContain('<!date^86400^');
      expect(card, `INC-${id} card`).not.toContain('<#C0GENERAL>');
    }
  });
});

describe('independent Slack calls run concurrently', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('invite, card and announcement start together once the room exists; the pin waits for the card', async () => {
    // Long against what the job does between rounds (its steps and updates, each a round trip to
    // PostgreSQL with FIRELANE_TEST_STORE=postgres): at 100 ms a loaded machine took over a fourth round.
    const latency = 200;
    h = await startHarness({ fake: { latencyMs: latency } });
    await declare(h, 'sev1 Payment gateway down');

    const only = (method: string, filter: (p: Record<string, unknown>) => boolean = () => true) => {
      const calls = h.slack.callsTo(method).filter((c) => filter(c.params));
      expect(calls, method).toHaveLength(1);
      return calls[0]!;
    };
    const room = (await incident(h, 1)).roomId!;
    const create = only('conversations.create');
    const invite = only('conversations.invite');
    const card = only('chat.postMessage', (p) => p.channel === room && !String(p.text).startsWith('Checklist'));
    const announce = only('chat.postMessage', (p) => p.channel === ANNOUNCE);
    const pin = only('pins.add');

    // Each depends on the room, so none starts before the create answered ...
    for (const call of [invite, card, announce]) expect(call.at).toBeGreaterThanOrEqual(create.at + latency);
    // ... but none waits for another: each starts before the earliest of them could have finished.
    const firstStart = Math.min(invite.at, card.at, announce.at);
    for (const call of [invite, card, announce]) expect(call.at).toBeLessThan(firstStart + latency);
    // The pin needs the card's ts.
    expect(pin.at).toBeGreaterThanOrEqual(card.at + latency);
    // Three rounds (create; invite|card|announce; pin) instead of five in a row.
    const lastStart = Math.max(...h.slack.calls.filter((c) => c.at >= create.at).map((c) => c.at));
    expect(lastStart - create.at).toBeLessThan(4 * latency);
    expect(h.slack.pins).toHaveLength(1);
  });
});
