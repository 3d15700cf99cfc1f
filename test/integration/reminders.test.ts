// Reminders and escalation through the real app and a fake Slack, on a clock the test moves:
// cadence per severity, reset on update, severity changes, snooze, escalation, resolve/reopen,
// the postmortem reminder, the war room's topic, and restarts (nothing lost, nothing twice).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tickReminders } from '../../src/jobs/reminder-tick.js';
import { createManualClock, type ManualClock } from '../../src/ports/clock.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { ANNOUNCE, DEFAULT_YAML, startHarness, type Harness } from '../support/harness.js';
import { ON_POSTGRES, sqliteOnly } from '../support/test-store.js';
import { declare, messageJson } from './slack-helpers.js';

const MIN = 60_000;
const ESCALATE = 'C0ESCALATE';

describe('reminders', () => {
  let clock: ManualClock;
  let slack: FakeSlack;
  let dir: string;
  let h: Harness;
  let room: string;

  async function start(configYaml = DEFAULT_YAML): Promise<Harness> {
    h = await startHarness({ clock, slack, dir, configYaml });
    return h;
  }
  beforeEach(async () => {
    clock = createManualClock(Date.now());
    dir = mkdtempSync(join(tmpdir(), 'firelane-reminders-'));
    slack = await startFakeSlack({
      channels: [
        { id: ANNOUNCE, name: 'incidents' },
        { id: ESCALATE, name: 'escalations' },
        { id: 'C0GENERAL', name: 'general' },
      ],
    });
  });
  afterEach(async () => {
    await h?.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Moves the clock, runs one tick and the jobs it made. */
  async function at(minutes: number, start: number) {
    clock.set(start + minutes * MIN);
    await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    await h.drain();
  }
  const reminders = () => slack.messagesIn(room).filter((m) => messageJson(m).includes('⏰'));
  const escalations = () => slack.messagesIn(ESCALATE);

  async function declareAt(text: string) {
    const t0 = clock.now();
    const incident = await declare(h, text);
    room = incident.roomId!;
    return t0;
  }

  it('reminds every 15 minutes for SEV1, asking for a commander when there is none', async () => {
    await start();
    const t0 = await declareAt('sev1 Payment gateway down');
    await at(14.9, t0);
    expect(reminders()).toHaveLength(0);
    await at(15, t0);
    expect(reminders()).toHaveLength(1);
    expect(messageJson(reminders()[0]!)).toContain('has no incident commander');
    expect(messageJson(reminders()[0]!)).toContain('/incident update');
    // With a commander, the reminder mentions them and says how long since the last update.
    await h.command('lead @me', { channel: room, user: 'U0ALICE' });
    await h.drain();
    await at(30, t0);
    expect(reminders()).toHaveLength(2);
    expect(messageJson(reminders()[1]!)).toContain('<@U0ALICE>');
    expect(messageJson(reminders()[1]!)).toContain('no status update for 30m');
  });

  it('counts from the last update, not from the declaration', async () => {
    await start();
    const t0 = await declareAt('sev1 Checkout errors');
    clock.set(t0 + 10 * MIN);
    await h.command('update identified "bad deploy"', { channel: room });
    await h.drain();
    await at(15, t0);
    await at(24.9, t0);
    expect(reminders()).toHaveLength(0);
    await at(25, t0);
    expect(reminders()).toHaveLength(1);
    expect(messageJson(reminders()[0]!)).toContain('no status update for 15m');
  });

  it('follows severity changes: SEV1 -> SEV0 is every 10 minutes, SEV1 -> SEV3 every hour', async () => {
    await start();
    const t0 = await declareAt('sev1 Latency up');
    clock.set(t0 + 5 * MIN);
    await h.command('severity sev0', { channel: room });
    await h.drain();
    await at(10, t0);
    expect(reminders()).toHaveLength(1);
    await at(20, t0);
    expect(reminders()).toHaveLength(2);
    await h.command('severity sev3', { channel: room });
    await h.drain();
    await at(45, t0);
    expect(reminders()).toHaveLength(2);
    await at(60, t0); // SEV3: an hour after the last update (the declaration)
    expect(reminders()).toHaveLength(3);
  });

  it('snooze holds reminders until it ends, then the cadence resumes', async () => {
    await start();
    const t0 = await declareAt('sev1 Search slow');
    clock.set(t0 + 5 * MIN);
    const ack = await h.command('snooze 30m', { channel: room });
    expect(ack.body.response_type).toBe('ephemeral');
    await h.drain();
    await at(15, t0);
    await at(30, t0);
    expect(reminders()).toHaveLength(0);
    await at(35, t0);
    expect(reminders()).toHaveLength(1);
    await at(50, t0);
    expect(reminders()).toHaveLength(2);
    // A bad duration changes nothing.
    const bad = await h.command('snooze forever', { channel: room });
    expect(JSON.stringify(bad.body.blocks)).toContain('is not a duration');
  });

  it('escalates after escalateAfterMissed reminders in a row, naming incident, severity, commander and the silence', async () => {
    await start();
    const t0 = await declareAt('sev1 Payments failing');
    await h.command('lead <@U0BOB|bob>', { channel: room });
    await h.drain();
    await at(15, t0);
    expect(escalations()).toHaveLength(0);
    await at(30, t0); // second reminder in a row without an update: SEV1 escalates after 2
    expect(escalations()).toHaveLength(1);
    const text = messageJson(escalations()[0]!);
    expect(text).toContain('INC-1');
    expect(text).toContain('SEV1');
    expect(text).toContain('<@U0BOB>');
    expect(text).toContain('30m');
    expect(
      slack.messagesIn(room).some((m) => messageJson(m).includes('🔺') && messageJson(m).includes('<@U0BOB>')),
    ).toBe(true);
    expect((await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'escalated')).toHaveLength(1);
    // An update resets the count: the next escalation needs two more misses.
    clock.set(t0 + 31 * MIN);
    await h.command('update monitoring "fix deployed"', { channel: room });
    await h.drain();
    expect((await h.firelane.store.incidents.get(1))!.missedReminders).toBe(0);
    await at(46, t0);
    expect(escalations()).toHaveLength(1);
    // The count started again: this is the first reminder since the update, not the third.
    expect(messageJson(reminders().at(-1)!)).toContain('Reminder 1; it escalates after 2 in a row.');
    expect((await h.firelane.store.incidents.get(1))!.missedReminders).toBe(1);
    await at(61, t0);
    expect(escalations()).toHaveLength(2);
  });

  it('never escalates when escalateAfterMissed is 0 (SEV3 default)', async () => {
    await start();
    const t0 = await declareAt('sev3 Typo on the status page');
    for (let m = 60; m <= 360; m += 60) await at(m, t0);
    expect(reminders()).toHaveLength(6);
    expect(escalations()).toHaveLength(0);
  });

  it('resolve stops reminders, announces the duration, records action items, and asks for the postmortem 48h later; reopen resumes', async () => {
    await start();
    const t0 = await declareAt('sev2 Queue backlog');
    clock.set(t0 + 80 * MIN);
    const ack = await h.command(
      'resolve --root-cause="consumer stuck on a poison message" --action-items="alert on lag; dead-letter queue"',
      { channel: room },
    );
    expect(ack.body.response_type).toBe('ephemeral');
    await h.drain();
    const incident = (await h.firelane.store.incidents.get(1))!;
    expect(incident).toMatchObject({
      status: 'resolved',
      rootCause: 'consumer stuck on a poison message',
      nextReminderAt: null,
    });
    expect((await h.firelane.store.incidents.actionItems(1)).map((a) => a.text)).toEqual([
      'alert on lag',
      'dead-letter queue',
    ]);
    const announced = slack.messagesIn(ANNOUNCE).map(messageJson).join('\n');
    expect(announced).toContain('Resolved after 1h 20m');
    expect(announced).toContain('poison message');
    for (let m = 90; m <= 600; m += 30) await at(m, t0);
    expect(reminders()).toHaveLength(0);
    // A resolved incident refuses updates, with the way out.
    const refused = await h.command('update identified "more"', { channel: room });
    expect(JSON.stringify(refused.body.blocks)).toContain('/incident reopen INC-1');
    // 48h after the resolution: the postmortem reminder.
    clock.set(t0 + 80 * MIN + 48 * 60 * MIN);
    await h.drain();
    expect(slack.messagesIn(room).some((m) => messageJson(m).includes('/incident postmortem INC-1'))).toBe(true);
    // Reopen: reminders resume from now.
    const t1 = clock.now();
    await h.command('reopen', { channel: room });
    await h.drain();
    expect((await h.firelane.store.incidents.get(1))!.status).toBe('investigating');
    await at(30, t1); // SEV2: every 30 minutes
    expect(reminders()).toHaveLength(1);
  });

  it('keeps the war room topic current: severity, status, commander, next update due', async () => {
    await start();
    const t0 = await declareAt('sev1 Login broken');
    const topic = () => slack.channels.get(room)!.topic;
    expect(topic()).toContain('SEV1 · Investigating · no IC');
    const due = new Date(t0 + 15 * MIN).toISOString().slice(11, 16);
    expect(topic()).toContain(`next update due ${due} UTC`);
    clock.set(t0 + 5 * MIN);
    await h.command('lead <@U0BOB|bob>', { channel: room });
    await h.command('update identified "token service down"', { channel: room });
    await h.drain();
    expect(topic()).toContain('SEV1 · Identified · IC <@U0BOB>');
    expect(topic()).toContain(`next update due ${new Date(t0 + 20 * MIN).toISOString().slice(11, 16)} UTC`);
    // A reminder moves the due time on, and the topic with it.
    await at(20, t0);
    expect(reminders()).toHaveLength(1);
    expect(topic()).toContain(`next update due ${new Date(t0 + 35 * MIN).toISOString().slice(11, 16)} UTC`);
  });

  it('an update that lands between the tick and the post drops the reminder it made moot', async () => {
    await start();
    const t0 = await declareAt('sev1 Queue backing up');
    clock.set(t0 + 15 * MIN);
    // The tick queues the reminder; before the job posts it, the commander posts an update.
    await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    expect(await h.firelane.store.jobs.state(`remind:1:${t0 + 15 * MIN}`)).toBe('queued');
    await h.command('update identified "consumer lag from a bad deploy"', { channel: room });
    await h.drain();
    expect(reminders()).toHaveLength(0);
    // The cadence counts from the update: the next reminder is 15 minutes after it.
    await at(29.9, t0);
    expect(reminders()).toHaveLength(0);
    await at(30, t0);
    expect(reminders()).toHaveLength(1);
  });

  it('a restart between the tick and the post neither loses nor repeats the reminder', async () => {
    await start();
    const t0 = await declareAt('sev1 Database failover');
    clock.set(t0 + 15 * MIN);
    await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    // The process goes away before the job ran (same database file, new process state).
    await h.close();
    await start();
    // A second tick at the same time finds nothing due: the due time moved with the job, atomically.
    await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    await h.drain();
    expect(reminders()).toHaveLength(1);
    await at(29.9, t0);
    expect(reminders()).toHaveLength(1);
    await at(30, t0);
    expect(reminders()).toHaveLength(2);
  });

  it('after downtime longer than the cadence, one reminder (not a burst), then the cadence restarts', async () => {
    await start();
    const t0 = await declareAt('sev1 Cache stampede');
    await h.close();
    await start();
    await at(95, t0); // down for six reminder periods
    expect(reminders()).toHaveLength(1);
    await at(109, t0);
    expect(reminders()).toHaveLength(1);
    await at(110, t0);
    expect(reminders()).toHaveLength(2);
  });
});

describe('a reminder due before the war room exists', () => {
  it('waits for the room instead of being dropped', async () => {
    const clock = createManualClock(Date.now());
    const slack = await startFakeSlack({
      channels: [
        { id: ANNOUNCE, name: 'incidents' },
        { id: 'C0GENERAL', name: 'general' },
      ],
    });
    const h = await startHarness({ clock, slack });
    try {
      slack.failNext('conversations.create', { status: 500 }, 1000);
      const t0 = clock.now();
      await h.command('sev1 Everything is down');
      clock.set(t0 + 15 * MIN);
      await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
      await h.drain();
      expect(await h.firelane.store.jobs.state(`remind:1:${t0 + 15 * MIN}`)).toBe('queued');
      slack.clearFailures();
      clock.advance(10 * MIN); // past every backoff: the room opens
      await h.drain();
      clock.advance(10_000); // the reminder's wait for the room is over
      await h.drain();
      const room = (await h.firelane.store.incidents.get(1))!.roomId!;
      expect(slack.messagesIn(room).filter((m) => messageJson(m).includes('⏰'))).toHaveLength(1);
    } finally {
      await h.close();
      await slack.close();
    }
  });
});

describe('the real ticker (node-cron, every second)', () => {
  it('posts a due reminder by itself', async () => {
    const yaml = `incidents:\n  announceChannel: ${ANNOUNCE}\n  severities:\n    sev1: { reminderEvery: 2s }\n`;
    const h = await startHarness({ configYaml: yaml, startWorker: true });
    try {
      await h.command('sev1 Real-time check');
      await expect.poll(async () => (await h.firelane.store.incidents.get(1))?.roomId, { timeout: 5000 }).toBeTruthy();
      const room = (await h.firelane.store.incidents.get(1))!.roomId!;
      await expect
        .poll(() => h.slack.messagesIn(room).filter((m) => messageJson(m).includes('⏰')).length, {
          timeout: 8000,
          interval: 200,
        })
        .toBeGreaterThanOrEqual(1);
    } finally {
      await h.close();
    }
  });

  // The SQLite file's WAL checkpointer: PostgreSQL has none.
  it.skipIf(ON_POSTGRES)(
    sqliteOnly('moves WAL checkpoints to their thread once a tick writes reminders (no chat request needed)'),
    async () => {
      const h = await startHarness({ reminderTicker: true });
      try {
        const sqlite = h.firelane.db!.sqlite;
        const autoCheckpoint = () => sqlite.pragma('wal_autocheckpoint', { simple: true });
        // Declared without a chat request (as the CLI would), with its reminder already due.
        await h.firelane.store.incidents.create({
          title: 'Queue backlog',
          description: null,
          severity: 'sev2',
          platform: 'slack',
          declaredBy: 'U0ALICE',
          declaredAt: Date.now() - 20 * MIN,
          nextReminderAt: Date.now() - 1000,
        });
        expect(autoCheckpoint()).toBe(1000); // the connection checkpoints itself until then
        await expect
          .poll(() => sqlite.prepare("SELECT count(*) AS n FROM jobs WHERE kind = 'incident.remind'").get(), {
            timeout: 5000,
            interval: 50,
          })
          .toEqual({ n: 1 });
        expect(autoCheckpoint()).toBe(0); // the checkpoint thread runs them now
      } finally {
        await h.close();
      }
    },
  );
});
