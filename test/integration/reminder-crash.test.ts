// The crash point of a chat post the outbox cannot cover by itself: Slack has posted a sev1 reminder, but the process
// is killed before its answer arrives (the fake takes the post and holds the answer), so the job's step is never
// recorded. Another run of the job (the restarted process on SQLite; on PostgreSQL the other replica, once the lease
// of 9 s has run out) must find that reminder instead of posting it again. Every reminder in the war room must then be
// the recorded post of exactly one reminder job (one due time): none twice, none lost.
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { slackProcesses } from '../support/slack-processes.js';
import { openDatabase } from '../../src/adapters/db/database.js';
import { REMIND } from '../../src/ports/jobs.js';
import { ANNOUNCE } from '../support/harness.js';
import type { RunningProcess } from '../support/process.js';
import { createDatabase, postgresServer } from '../support/postgres.js';

const ROOM = 'inc-1-payment-gateway-down';
const YAML = `incidents:
  announceChannel: ${ANNOUNCE}
  escalationChannel: C0ESCALATE
  severities:
    sev1: { responders: [U0ONCALL1], reminderEvery: 3s, escalateAfterMissed: 0 }
`;
const isReminder = (params: Record<string, unknown>) => String(params.text).startsWith('⏰');
const server = postgresServer();

const processes = slackProcesses('reminder-crash', YAML);
const { firelane } = processes;
const declare = (url: string) => processes.declare(url, 'trigger-reminder-crash');

const room = () => processes.slack.channelByName(ROOM)!.id;
const reminders = () => processes.slack.messagesIn(room()).filter((m) => m.text?.startsWith('⏰'));

/** Slack posted the first reminder and holds its answer: nothing in firelane knows its ts. Returns that ts. */
async function waitForTheHeldReminder(): Promise<string> {
  const held = () => processes.slack.callsTo('chat.postMessage').find((c) => c.lostAnswer === 'never');
  await expect.poll(held, { timeout: 20_000, interval: 20 }).toBeDefined();
  const message = reminders().find((m) => m.text === held()!.params.text);
  expect(message).toBeDefined();
  return message!.ts;
}

type RemindJob = { key: string; status: string; post: string | undefined };

/** The one reminder job left running by the killed process: the one whose post Slack holds the answer to. */
async function heldJob(remindJobs: () => Promise<RemindJob[]>): Promise<string> {
  const held = (await remindJobs()).filter((j) => j.status === 'running');
  expect(held).toHaveLength(1);
  return held[0]!.key;
}

/**
 * Once the held reminder's job is taken over and done, and a later reminder came: that job recorded the message Slack
 * posted for it, and each reminder in the room is the recorded post of one job (one due time).
 */
async function expectEachReminderOnce(
  held: { key: string; ts: string },
  stop: RunningProcess,
  remindJobs: () => Promise<RemindJob[]>,
): Promise<void> {
  const job = async () => (await remindJobs()).find((j) => j.key === held.key)!;
  await expect.poll(async () => (await job()).status, { timeout: 30_000, interval: 200 }).toBe('done');
  expect((await job()).post).toBe(held.ts);
  const after = reminders().length;
  await expect.poll(() => reminders().length, { timeout: 10_000, interval: 100 }).toBeGreaterThan(after);
  // Stopped, so that no post is under way while the room and the jobs are compared.
  stop.child.kill('SIGTERM');
  expect((await stop.exited).code).toBe(0);

  const posted = (await remindJobs()).filter((j) => j.post !== undefined);
  const shown = reminders().map((m) => m.ts);
  expect([...shown].sort()).toEqual(posted.map((j) => j.post).sort());
  expect(new Set(posted.map((j) => j.key)).size).toBe(posted.length);
  expect(processes.slack.callsTo('conversations.history').length).toBeGreaterThanOrEqual(1);
}

type JobRowRead = { key: string; status: string; progress: string | Record<string, unknown> };
const toRemindJob = (row: JobRowRead) => {
  const progress = (typeof row.progress === 'string' ? JSON.parse(row.progress) : row.progress) as {
    post?: string;
  };
  return { key: row.key, status: row.status, post: progress.post };
};

describe('a reminder posted by a process killed before Slack’s answer arrived', () => {
  it('SQLite: the restarted process finds it; every reminder is one due time’s, once', async () => {
    const file = join(processes.dir, 'firelane.db');
    const remindJobs = async () => {
      const db = openDatabase(file, { migrate: false });
      try {
        const rows = db.sqlite
          .prepare('SELECT key, status, progress FROM jobs WHERE kind = ? ORDER BY id')
          .all(REMIND) as JobRowRead[];
        return rows.map(toRemindJob);
      } finally {
        db.close();
      }
    };
    processes.slack.failNext('chat.postMessage', { afterEffect: 'never', when: isReminder });
    const first = await firelane({ DATABASE_PATH: file });
    await declare(first.url);
    const ts = await waitForTheHeldReminder();
    first.process.child.kill('SIGKILL');
    await first.process.exited;
    const key = await heldJob(remindJobs);

    const second = await firelane({ DATABASE_PATH: file });
    await expectEachReminderOnce({ key, ts }, second.process, remindJobs);
  }, 60_000);

  it.skipIf(!server)(
    'PostgreSQL: the replica holding the job is killed, the other takes it over and finds it',
    async () => {
      const database = await createDatabase(server!);
      const client = new pg.Client({ connectionString: database.url });
      try {
        processes.slack.failNext('chat.postMessage', { afterEffect: 'never', when: isReminder });
        const replicas = await Promise.all([
          firelane({ DATABASE_URL: database.url }),
          firelane({ DATABASE_URL: database.url }),
        ]);
        await client.connect();
        const remindJobs = async () =>
          (
            await client.query<JobRowRead>('SELECT key, status, progress FROM jobs WHERE kind = $1 ORDER BY id', [
              REMIND,
            ])
          ).rows.map(toRemindJob);
        await declare(replicas[0]!.url);
        const ts = await waitForTheHeldReminder();
        const key = await heldJob(remindJobs);
        // The replica waiting for Slack holds that job: its pid is in the lease (host:pid:worker).
        const { rows } = await client.query<{ locked_by: string }>('SELECT locked_by FROM jobs WHERE key = $1', [key]);
        const pid = Number(rows[0]!.locked_by.split(':')[1]);
        const [killed, survivor] = pid === replicas[0]!.process.child.pid ? replicas : [...replicas].reverse();
        expect(killed!.process.child.pid).toBe(pid);
        killed!.process.child.kill('SIGKILL');
        await killed!.process.exited;

        await expectEachReminderOnce({ key, ts }, survivor!.process, remindJobs);
      } finally {
        await client.end().catch(() => undefined);
        await processes.killAll();
        await database.drop();
      }
    },
    60_000,
  );
});
