// Slack failing the way Slack fails: rate limits, 500s, missing membership, unknown users.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createFirelane, type Firelane } from '../../src/app.js';
import { createManualClock } from '../../src/ports/clock.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { signedHeaders } from '../support/slack-signing.js';
import { ANNOUNCE, SIGNING_SECRET, startHarness, testConfig, type Harness } from '../support/harness.js';
import { databaseEnv } from '../support/test-store.js';
import { cardMessage, commandForm, declare, drainUntilSettled, incident, messageJson, sleep } from './slack-helpers.js';

const WAR_ROOM_JOB = 'war-room:1';

describe('Slack failures during the war-room job', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('a 429 on conversations.create waits for Retry-After, then creates the channel exactly once', async () => {
    h = await startHarness();
    h.slack.failNext('conversations.create', { status: 429, retryAfter: 1 });
    await h.command('sev1 Payment gateway down');
    const failedAt = Date.now();
    await h.drain();

    // Not lost, not done: queued again no sooner than Slack asked.
    expect(h.slack.callsTo('conversations.create').map((c) => c.status)).toEqual([429]);
    expect(h.slack.channelByName('inc-1-payment-gateway-down')).toBeUndefined();
    const job = (await h.firelane.store.jobs.get(WAR_ROOM_JOB))!;
    expect(job).toMatchObject({ status: 'queued', attempts: 1 });
    expect(job.lastError).toContain('ratelimited');
    expect(job.runAt - failedAt).toBeGreaterThanOrEqual(900);
    expect(job.runAt - failedAt).toBeLessThan(2000);
    expect((await incident(h, 1)).roomId).toBeNull();

    // An early drain does nothing: the job is not due.
    await h.drain();
    expect(h.slack.callsTo('conversations.create')).toHaveLength(1);

    await sleep(job.runAt - Date.now() + 5);
    await h.drain();
    expect(await h.firelane.store.jobs.get(WAR_ROOM_JOB)).toMatchObject({ status: 'done', attempts: 2 });
    expect(h.slack.callsTo('conversations.create').map((c) => c.status)).toEqual([429, 200]);
    const rooms = [...h.slack.channels.values()].filter((c) => c.name.startsWith('inc-1'));
    expect(rooms.map((c) => c.name)).toEqual(['inc-1-payment-gateway-down']);
    expect((await incident(h, 1)).roomId).toBe(rooms[0]!.id);
    expect(h.slack.pins).toHaveLength(1);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
  });

  it('a 500 on a chat.postMessage is retried; steps already done are not repeated', async () => {
    // A backoff no drain outruns: the first drain leaves the job waiting for its retry.
    h = await startHarness({ worker: { baseDelayMs: 300, maxDelayMs: 300 } });
    h.slack.failNext('chat.postMessage', { status: 500 });
    await h.command('sev1 Payment gateway down');
    await h.drain();
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.status === 500)).toHaveLength(1);
    expect(await h.firelane.store.jobs.get(WAR_ROOM_JOB)).toMatchObject({ status: 'queued', attempts: 1 });

    expect(await drainUntilSettled(h, WAR_ROOM_JOB)).toBe('done');
    const inc = await incident(h, 1);
    expect(h.slack.callsTo('conversations.create')).toHaveLength(1);
    expect(h.slack.callsTo('conversations.invite')).toHaveLength(1);
    expect(h.slack.pins).toEqual([{ channel: inc.roomId, ts: inc.cardRef }]);
    expect(h.slack.messagesIn(inc.roomId!)).toHaveLength(2); // the card and the checklist, once each
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1); // the announcement, once
    expect((await cardMessage(h, 1)).ts).toBe(inc.cardRef);
    expect((await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'war_room_opened')).toHaveLength(1);
  });

  it('a 500 on pins.add re-pins the same card, never posts a second one', async () => {
    h = await startHarness();
    h.slack.failNext('pins.add', { status: 500 }, 2);
    await h.command('sev1 Payment gateway down');
    expect(await drainUntilSettled(h, WAR_ROOM_JOB)).toBe('done');
    const inc = await incident(h, 1);
    expect(h.slack.callsTo('pins.add')).toHaveLength(3);
    expect(h.slack.pins).toEqual([{ channel: inc.roomId, ts: inc.cardRef }]);
    expect(h.slack.messagesIn(inc.roomId!)).toHaveLength(2); // the card and the checklist, once each
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
    expect(h.slack.callsTo('conversations.invite')).toHaveLength(1);
  });

  it('not_in_channel on a public announcement channel: firelane joins it once and announces', async () => {
    h = await startHarness({
      fake: {
        channels: [
          { id: ANNOUNCE, name: 'incidents', isMember: false },
          { id: 'C0GENERAL', name: 'general' },
        ],
      },
    });
    await declare(h, 'sev1 Payment gateway down');
    const inc = await incident(h, 1);
    const room = h.slack.channels.get(inc.roomId!)!;
    expect([...room.members].sort()).toEqual(['U0ALICE', 'U0ONCALL1', 'U0ONCALL2', 'UBOT']);
    expect(h.slack.pins).toEqual([{ channel: room.id, ts: inc.cardRef }]);
    expect(
      h.slack
        .callsTo('chat.postMessage')
        .filter((c) => c.params.channel === ANNOUNCE)
        .map((c) => c.error ?? 'ok'),
    ).toEqual(['not_in_channel', 'ok']);
    expect(h.slack.callsTo('conversations.join')).toHaveLength(1);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
    expect(await h.firelane.store.jobs.state('war-room:1')).toBe('done');
  });

  it('an announcement channel firelane cannot join does not keep the war room from opening: a warning instead', async () => {
    h = await startHarness({
      fake: {
        channels: [
          { id: ANNOUNCE, name: 'incidents', isMember: false },
          { id: 'C0GENERAL', name: 'general' },
        ],
      },
    });
    h.slack.failNext('conversations.join', { error: 'missing_scope' }, 10);
    await declare(h, 'sev1 Payment gateway down');
    const inc = await incident(h, 1);
    expect(inc.roomId).toBeTruthy();
    const room = h.slack.channels.get(inc.roomId!)!;
    expect(h.slack.pins).toEqual([{ channel: room.id, ts: inc.cardRef }]);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(0);
    // The job finished (not retried for minutes, not dead) and said why in the war room.
    expect(await h.firelane.store.jobs.state('war-room:1')).toBe('done');
    const warning = h.slack.messagesIn(room.id).find((m) => messageJson(m).includes('Could not announce'));
    expect(warning).toBeDefined();
    expect(messageJson(warning!)).toContain('missing_scope');

    // The room works: an update reaches it and the card.
    const ack = await h.command('update identified "db failover"', { channel: room.id });
    expect(ack.body.response_type).toBe('ephemeral');
    await h.drain();
    expect(h.slack.messagesIn(room.id).some((m) => messageJson(m).includes('IDENTIFIED'))).toBe(true);
    expect(messageJson(await cardMessage(h, 1))).toContain('Identified');
    expect(h.slack.callsTo('conversations.create')).toHaveLength(1);
    expect(h.slack.callsTo('pins.add')).toHaveLength(1);
  });

  it('user_not_found for one responder: the others are invited and the room is told who is missing', async () => {
    h = await startHarness({ fake: { knownUsers: ['U0ALICE', 'U0ONCALL1'] } });
    await declare(h, 'sev1 Payment gateway down');
    const inc = await incident(h, 1);
    const room = h.slack.channels.get(inc.roomId!)!;
    expect([...room.members].sort()).toEqual(['U0ALICE', 'U0ONCALL1', 'UBOT']);
    const warnings = h.slack.messagesIn(room.id).filter((m) => m.ts !== inc.cardRef && m.ts !== inc.playbookRef);
    expect(warnings).toHaveLength(1);
    expect(messageJson(warnings[0]!)).toContain('U0ONCALL2');
    expect(messageJson(warnings[0]!)).toContain('user_not_found');
    expect((await h.firelane.store.jobs.get(WAR_ROOM_JOB))?.status).toBe('done');
    expect(h.slack.pins).toHaveLength(1);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
  });
});

describe('a Slack outage of about a minute while the war room is being opened', () => {
  let slack: FakeSlack;
  let firelane: Firelane;
  let dir: string;
  afterEach(async () => {
    await firelane?.close(1000);
    await slack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a status update given meanwhile still reaches the war room once it opens', async () => {
    // Production retry settings on a hand-moved clock, so a minute passes in milliseconds.
    slack = await startFakeSlack({
      channels: [
        { id: ANNOUNCE, name: 'incidents' },
        { id: 'C0GENERAL', name: 'general' },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'firelane-outage-'));
    const clock = createManualClock(Date.now());
    firelane = await createFirelane({
      config: testConfig(dir, slack.apiUrl, { env: await databaseEnv(dir) }),
      logger: pino({ level: 'silent' }),
      clock,
      slackClientOptions: { retryConfig: { retries: 0 } },
      defaultMetrics: false,
    });
    const { port } = await firelane.listen(0, '127.0.0.1');
    await firelane.worker.stop(0);
    const command = async (text: string) => {
      const form = commandForm(text);
      const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
        method: 'POST',
        headers: signedHeaders(SIGNING_SECRET, form),
        body: form,
      });
      return (await res.json()) as { response_type: string; text: string };
    };

    slack.failNext('conversations.create', { status: 500 }, 6);
    expect((await command('sev1 Payment gateway down')).text).toContain('INC-1');
    expect((await command('update INC-1 identified "db failover"')).response_type).toBe('ephemeral');

    for (let elapsed = 0; elapsed < 120_000; elapsed += 2_500) {
      await firelane.worker.drain();
      clock.advance(2_500);
    }
    await firelane.worker.drain();

    const inc = (await firelane.store.incidents.get(1))!;
    expect(inc.roomId, 'the war room opened after Slack recovered').toBeTruthy();
    const broadcast = await firelane.store.jobs.get('broadcast:2');
    expect(broadcast, 'the update was queued for broadcast').toBeDefined();
    expect(broadcast!.status, `broadcast job: ${broadcast!.lastError ?? ''}`).toBe('done');
    expect(slack.messagesIn(inc.roomId!).some((m) => messageJson(m).includes('IDENTIFIED'))).toBe(true);
  });
});
