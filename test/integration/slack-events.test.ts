// Events API over the wire: URL verification, and a 📌 reaction that adds a war-room message to
// the timeline exactly once, whatever Slack retries (X-Slack-Retry-Num) or people repeat.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mention } from '../../src/ports/reply.js';
import { SIGNING_SECRET, startHarness, type Harness } from '../support/harness.js';
import { signedHeaders } from '../support/slack-signing.js';
import { declare, incident } from './slack-helpers.js';

let eventCounter = 0;

function reactionEvent(options: { user: string; channel: string; ts: string; reaction?: string; eventId?: string }) {
  return {
    token: 'deprecated',
    team_id: 'T0001',
    api_app_id: 'A0FIRELANE',
    type: 'event_callback',
    event_id: options.eventId ?? `Ev${++eventCounter}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0001', user_id: 'UBOT', is_bot: true }],
    event: {
      type: 'reaction_added',
      user: options.user,
      reaction: options.reaction ?? 'pushpin',
      item_user: 'U0BOB',
      item: { type: 'message', channel: options.channel, ts: options.ts },
      event_ts: `${Date.now() / 1000}`,
    },
  };
}

describe('Slack events', () => {
  let h: Harness;
  let room: string;
  beforeEach(async () => {
    h = await startHarness();
    await declare(h, 'sev1 Payment gateway down');
    room = (await incident(h, 1)).roomId!;
  });
  afterEach(async () => h?.close());

  async function sendEvent(payload: object, extra: Record<string, string> = {}) {
    const body = JSON.stringify(payload);
    return h.post(body, { ...signedHeaders(SIGNING_SECRET, body), 'content-type': 'application/json', ...extra });
  }
  const pinned = async () => (await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'pinned_message');
  /**
   * Bolt answers an event before its listener runs: once the listener has queued the pin's job (at
   * once on SQLite, a round trip later on PostgreSQL), a drain runs it.
   */
  const pinQueued = (ts: string) =>
    expect.poll(() => h.firelane.store.jobs.state(`pin:slack:${room}:${ts}`)).toBeDefined();

  it("answers Slack's URL verification challenge", async () => {
    const res = await sendEvent({ token: 'x', challenge: 'challenge-123', type: 'url_verification' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('challenge-123');
  });

  it('adds a pinned war-room message to the timeline, as neutral text', async () => {
    const ts = h.slack.postAsUser(
      room,
      'U0BOB',
      'Root cause: <@U0ALICE> found a &lt;bad&gt; flag in <https://status.example.com|the status page>',
    );
    const res = await sendEvent(reactionEvent({ user: 'U0CAROL', channel: room, ts }));
    expect(res.status).toBe(200);
    await pinQueued(ts);
    await h.drain();
    expect(await pinned()).toHaveLength(1);
    expect((await pinned())[0]).toMatchObject({
      actor: 'U0CAROL',
      platform: 'slack',
      data: { messageId: ts, author: 'U0BOB' },
    });
    expect((await pinned())[0]!.text).toBe(
      `📌 ${mention('U0BOB')}: Root cause: ${mention('U0ALICE')} found a <bad> flag in the status page (https://status.example.com)`,
    );
    expect(h.slack.callsTo('conversations.history')).toHaveLength(1);
    // `show` prints it.
    const show = await h.command('show', { channel: room });
    expect(JSON.stringify(show.body.blocks)).toContain('found a &lt;bad&gt; flag');
  });

  it('records the message once: a Slack retry of the event and a second 📌 by someone else add nothing', async () => {
    const ts = h.slack.postAsUser(room, 'U0BOB', 'Failover done at 12:03');
    const first = reactionEvent({ user: 'U0CAROL', channel: room, ts, eventId: 'EvSAME' });
    expect((await sendEvent(first)).status).toBe(200);
    expect((await sendEvent(first, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(
      200,
    );
    await pinQueued(ts);
    await h.drain();
    expect((await sendEvent(reactionEvent({ user: 'U0DAVE', channel: room, ts }))).status).toBe(200);
    await h.drain();
    expect(await pinned()).toHaveLength(1);
    expect(h.slack.callsTo('conversations.history')).toHaveLength(1);
  });

  it('ignores other reactions and channels that are no war room', async () => {
    const ts = h.slack.postAsUser(room, 'U0BOB', 'thanks all');
    await sendEvent(reactionEvent({ user: 'U0CAROL', channel: room, ts, reaction: 'thumbsup' }));
    const elsewhere = h.slack.postAsUser('C0GENERAL', 'U0BOB', 'lunch?');
    await sendEvent(reactionEvent({ user: 'U0CAROL', channel: 'C0GENERAL', ts: elsewhere }));
    await h.drain();
    expect(await pinned()).toHaveLength(0);
    expect((await h.firelane.store.jobs.depth()).queued).toBe(0);
    expect(h.slack.callsTo('conversations.history')).toHaveLength(0);
  });

  it('refuses an event with a bad signature (401) and records nothing', async () => {
    const ts = h.slack.postAsUser(room, 'U0BOB', 'secret plan');
    const body = JSON.stringify(reactionEvent({ user: 'U0CAROL', channel: room, ts }));
    const res = await h.post(body, {
      ...signedHeaders('wrong-secret-0000000000', body),
      'content-type': 'application/json',
    });
    expect(res.status).toBe(401);
    await h.drain();
    expect(await pinned()).toHaveLength(0);
  });
});
