// A post whose answer was lost after Slack made it (a reset connection, a 500 from a gateway in front of a backend
// that did the work): the job's retry must find the message it posted, by the key its first try attached as message
// metadata, instead of posting it a second time. The first try of a job looks for nothing: no call is added to the
// path without failures. Only firelane's own message with that key counts; when the look-up is refused (a private
// channel without its history scope), the post is made again, as before, and the log says why.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { tickReminders } from '../../src/jobs/reminder-tick.js';
import { createManualClock, type ManualClock } from '../../src/ports/clock.js';
import { ANNOUNCE, startHarness, type Harness } from '../support/harness.js';
import { declare, incident, messageJson } from './slack-helpers.js';

const ESCALATE = 'C0ESCALATE';
const isReminder = (params: Record<string, unknown>) => String(params.text).startsWith('⏰');

describe('a post whose answer was lost is made once', () => {
  let h: Harness;
  let clock: ManualClock;
  afterEach(async () => h?.close());

  const start = async (logger?: pino.Logger) => {
    clock = createManualClock(Date.now());
    h = await startHarness({ clock, ...(logger && { logger }) });
  };

  /** Declares INC-1 and moves the clock to its first reminder; returns the reminder job's key and the war room. */
  async function firstReminderDue(): Promise<{ key: string; room: string }> {
    const declared = await declare(h, 'sev1 Payment gateway down');
    const due = declared.nextReminderAt!;
    clock.set(due);
    await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    return { key: `remind:${declared.id}:${due}`, room: declared.roomId! };
  }
  /** Runs the job with this key to its end, moving the clock to each retry (the worker's time is the clock's). */
  async function settle(key: string): Promise<string> {
    for (let run = 0; run < 20; run++) {
      await h.drain();
      const job = await h.firelane.store.jobs.get(key);
      if (!job || job.status === 'done' || job.status === 'dead') return job?.status ?? 'missing';
      clock.set(Math.max(clock.now(), job.runAt));
    }
    return 'unsettled';
  }
  const reminders = (room: string) => h.slack.messagesIn(room).filter((m) => messageJson(m).includes('⏰'));
  const cards = (room: string) => h.slack.messagesIn(room).filter((m) => messageJson(m).includes('Take command'));
  const progressOf = async (key: string) => (await h.firelane.store.jobs.get(key))!.progress;

  it.each([
    ['the connection is reset after Slack posted it', 'reset' as const],
    ['a gateway answers 500 after Slack posted it', 500 as const],
  ])('a reminder: %s: the retry finds it, once in the war room, and the job finishes', async (_, afterEffect) => {
    await start();
    const { key, room } = await firstReminderDue();
    h.slack.failNext('chat.postMessage', { afterEffect, when: isReminder });
    expect(await settle(key)).toBe('done');

    expect(reminders(room)).toHaveLength(1);
    const posts = h.slack.callsTo('chat.postMessage').filter((c) => isReminder(c.params));
    expect(posts.map((c) => c.lostAnswer ?? 'answered')).toEqual([afterEffect]);
    // The step records the message Slack made: later work (none for a reminder) would refer to that one.
    expect((await progressOf(key)).post).toBe(reminders(room)[0]!.ts);
    const history = h.slack.callsTo('conversations.history');
    expect(history.map((c) => c.params)).toEqual([
      expect.objectContaining({ channel: room, include_all_metadata: 'true' }),
    ]);
    // The reminder carried the topic along: that step ran after the post was found.
    expect(h.slack.channels.get(room)!.topic).toMatch(/INC-1/);
  });

  it('an escalation lost in the escalation channel and then in the war room: each posted once', async () => {
    await start();
    const declared = await declare(h, 'sev1 Payment gateway down');
    const room = declared.roomId!;
    const tick = async (at: number) => {
      clock.set(at);
      await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    };
    // SEV1 escalates after 2 reminders in a row without an update.
    await tick(declared.nextReminderAt!);
    await h.drain();
    const second = (await incident(h, 1)).nextReminderAt!;
    h.slack.failNext('chat.postMessage', { afterEffect: 'reset', when: (p) => p.channel === ESCALATE });
    h.slack.failNext('chat.postMessage', {
      afterEffect: 500,
      when: (p) => p.channel === room && String(p.text).startsWith('🔺'),
    });
    await tick(second);
    expect(await settle(`escalate:1:${second}`)).toBe('done');
    expect(h.slack.messagesIn(ESCALATE)).toHaveLength(1);
    expect(h.slack.messagesIn(room).filter((m) => m.text?.startsWith('🔺'))).toHaveLength(1);
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.lostAnswer)).toHaveLength(2);
  });

  it('the announcement of a declaration: announced once, and the war room is ready', async () => {
    await start();
    h.slack.failNext('chat.postMessage', { afterEffect: 'reset', when: (p) => p.channel === ANNOUNCE });
    const ack = await h.command('sev1 Payment gateway down', { user: 'U0ALICE', channel: 'C0GENERAL' });
    expect(ack.status).toBe(200);
    expect(await settle('war-room:1')).toBe('done');
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
    const { roomId, cardRef } = await incident(h, 1);
    expect(h.slack.pins).toEqual([{ channel: roomId, ts: cardRef }]);
    expect(cards(roomId!).map((m) => m.ts)).toEqual([cardRef]);
  });

  it('the incident card: posted once, and the pin is on it', async () => {
    await start();
    h.slack.failNext('chat.postMessage', {
      afterEffect: 500,
      when: (p) => messageJson(p as never).includes('Take command'),
    });
    const ack = await h.command('sev1 Payment gateway down', { user: 'U0ALICE', channel: 'C0GENERAL' });
    expect(ack.status).toBe(200);
    expect(await settle('war-room:1')).toBe('done');
    const { roomId, cardRef } = await incident(h, 1);
    expect(cards(roomId!).map((m) => m.ts)).toEqual([cardRef]);
    expect(h.slack.pins).toEqual([{ channel: roomId, ts: cardRef }]);
  });

  it('found on the second page of the history when a busy room buried it', async () => {
    await start();
    const { key, room } = await firstReminderDue();
    // Lost, and before the retry people write 150 messages in the room.
    h.slack.failNext('chat.postMessage', { afterEffect: 'reset', when: isReminder });
    await h.drain();
    for (let i = 0; i < 150; i++) h.slack.postAsUser(room, 'U0ALICE', `looking at graphs ${i}`);
    expect(await settle(key)).toBe('done');
    expect(reminders(room)).toHaveLength(1);
    expect(h.slack.callsTo('conversations.history').map((c) => c.params.cursor !== undefined)).toEqual([false, true]);
  });

  it('a message of another app carrying the same key is not taken for firelane’s own', async () => {
    await start();
    const { key, room } = await firstReminderDue();
    // The first try fails before Slack posts anything; meanwhile another app copies the key it saw.
    h.slack.failNext('chat.postMessage', { status: 500, when: isReminder });
    await h.drain();
    const tried = h.slack.callsTo('chat.postMessage').find((c) => isReminder(c.params))!;
    const metadata = tried.params.metadata as { event_type: string; event_payload: Record<string, unknown> };
    expect(metadata.event_payload).toEqual({ key: expect.stringContaining(key) });
    const impostor = h.slack.postAsUser(room, 'U0OTHERAPP', '⏰ nothing to see', metadata);
    expect(await settle(key)).toBe('done');
    const ours = reminders(room).filter((m) => m.user === 'UBOT');
    expect(ours).toHaveLength(1);
    expect((await progressOf(key)).post).toBe(ours[0]!.ts);
    expect((await progressOf(key)).post).not.toBe(impostor);
  });

  it('the look-up refused (missing_scope): posted again, as before, and the log says which scope', async () => {
    const lines: string[] = [];
    await start(pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }));
    const { key, room } = await firstReminderDue();
    h.slack.failNext('chat.postMessage', { afterEffect: 'reset', when: isReminder });
    h.slack.failNext('conversations.history', { error: 'missing_scope' });
    expect(await settle(key)).toBe('done');
    expect(reminders(room)).toHaveLength(2);
    expect(lines.join('')).toContain('groups:history');
  });

  it('without failures no history is read, and every post of a job carries its key', async () => {
    await start();
    const { key, room } = await firstReminderDue();
    await h.drain();
    await h.command('update investigating "rolling back"', { channel: room });
    await h.drain();
    await h.command('resolve "bad deploy rolled back"', { channel: room });
    await h.drain();
    expect(await settle(key)).toBe('done');
    expect(h.slack.callsTo('conversations.history')).toEqual([]);
    const posts = h.slack.callsTo('chat.postMessage');
    expect(posts.length).toBeGreaterThanOrEqual(5); // card, announcement, reminder, update, resolution (twice)
    for (const post of posts)
      expect(post.params.metadata, messageJson(post.params as never)).toEqual({
        event_type: 'firelane_post',
        event_payload: { key: expect.any(String) },
      });
    const keys = posts.map((c) => (c.params.metadata as { event_payload: { key: string } }).event_payload.key);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
