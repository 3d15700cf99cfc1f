// The crash point of a chat post the outbox cannot cover by itself: Slack has posted a sev1 reminder, but the process
// is killed before its answer arrives (the fake takes the post and holds the answer), so the job's step is never
// recorded. Another run of the job (the restarted process on SQLite; on PostgreSQL the other replica, once the lease
// of 9 s has run out) must find that reminder instead of posting it again. Every reminder in the war room must then be
// the recorded post of exactly one reminder job (one due time): none twice, none lost.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/db/database.js';
import { REMIND } from '../../src/ports/jobs.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { signedHeaders } from '../support/slack-signing.js';
import { ANNOUNCE, BOT_TOKEN, SIGNING_SECRET } from '../support/harness.js';
import { freePort, startProcess, type RunningProcess } from '../support/process.js';
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

let slack: FakeSlack;
let dir: string;
let running: RunningProcess[] = [];

beforeEach(async () => {
  slack = await startFakeSlack({
    channels: [
      { id: ANNOUNCE, name: 'incidents' },
      { id: 'C0ESCALATE', name: 'escalations' },
      { id: 'C0GENERAL', name: 'general' },
    ],
  });
  dir = mkdtempSync(join(tmpdir(), 'firelane-reminder-crash-'));
  writeFileSync(join(dir, 'firelane.yaml'), YAML);
});
afterEach(async () => {
  for (const p of running) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  running = [];
  await slack.close();
  rmSync(dir, { recursive: true, force: true });
});

async function firelane(database: Record<string, string>): Promise<{ process: RunningProcess; url: string }> {
  const port = await freePort();
  const process = startProcess({
    ...database,
    PORT: String(port),
    HOST: '127.0.0.1',
    FIRELANE_CONFIG: join(dir, 'firelane.yaml'),
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: 'info',
  });
  running.push(process);
  await process.waitFor(/firelane is up/, 30_000);
  return { process, url: `http://127.0.0.1:${port}` };
}

async function declare(url: string): Promise<void> {
  const form = new URLSearchParams({
    command: '/incident',
    text: 'sev1 Payment gateway down',
    user_id: 'U0ALICE',
    user_name: 'alice',
    channel_id: 'C0GENERAL',
    team_id: 'T0001',
    trigger_id: 'trigger-reminder-crash',
    response_url: slack.responseUrl('reminder-crash'),
  }).toString();
  const ack = await fetch(`${url}/slack/events`, {
    method: 'POST',
    headers: signedHeaders(SIGNING_SECRET, form),
    body: form,
  });
  expect(ack.status).toBe(200);
  expect(((await ack.json()) as { text: string }).text).toContain('INC-1');
}

const room = () => slack.channelByName(ROOM)!.id;
const reminders = () => slack.messagesIn(room()).filter((m) => m.text?.startsWith('⏰'));

/** Slack posted the first reminder and holds its answer: nothing in firelane knows its ts. Returns that ts. */
async function waitForTheHeldReminder(): Promise<string> {
  const held = () => slack.callsTo('chat.postMessage').find((c) => c.lostAnswer === 'never');
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
  expect(slack.callsTo('conversations.history').length).toBeGreaterThanOrEqual(1);
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
    const file = join(dir, 'firelane.db');
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
    slack.failNext('chat.postMessage', { afterEffect: 'never', when: isReminder });
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
        slack.failNext('chat.postMessage', { afterEffect: 'never', when: isReminder });
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
        for (const p of running) p.child.kill('SIGKILL');
        await Promise.all(running.map((p) => p.exited));
        await database.drop();
      }
    },
    60_000,
  );
});
