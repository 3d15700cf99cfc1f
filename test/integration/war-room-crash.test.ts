// The crash point the outbox cannot cover by itself: Slack has created the war room, but its answer never reached
// firelane, and the process dies before the step's result is recorded (the fake takes the create and never answers;
// the process is killed while it waits). The job runs again, conversations.create answers name_taken, and firelane
// must find the channel it made instead of opening a second, suffixed room. Once with one process on SQLite
// restarted, once with two replicas on one PostgreSQL database, where the other replica takes the job over.
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { slackProcesses } from '../support/slack-processes.js';
import { ANNOUNCE, DEFAULT_YAML } from '../support/harness.js';
import { createDatabase, postgresServer } from '../support/postgres.js';

const ROOM = 'inc-1-payment-gateway-down';
const server = postgresServer();

const processes = slackProcesses('war-room-crash', DEFAULT_YAML);
const { firelane } = processes;
const declare = (url: string) => processes.declare(url, 'trigger-war-room-crash');

/** Slack created the channel; the answer is held back, so nothing in firelane knows its id yet. */
async function waitForTheLostCreate(): Promise<void> {
  await expect.poll(() => processes.slack.channelByName(ROOM), { timeout: 10_000, interval: 20 }).toBeDefined();
  expect(processes.slack.callsTo('conversations.create')).toEqual([expect.objectContaining({ lostAnswer: 'never' })]);
}

/** One war room, the one Slack created first, holding the card, the pin, the checklist and the responders. */
async function expectOneWarRoom(): Promise<void> {
  await expect.poll(() => processes.slack.pins.length, { timeout: 30_000, interval: 100 }).toBe(1);
  await expect.poll(() => processes.slack.messagesIn(ANNOUNCE).length, { timeout: 5_000 }).toBe(1);
  const room = processes.slack.channelByName(ROOM)!;
  const rooms = [...processes.slack.channels.values()].filter((c) => c.name.startsWith('inc-1'));
  expect(rooms.map((c) => c.name)).toEqual([ROOM]);
  expect(processes.slack.callsTo('conversations.create').map((c) => c.error ?? c.lostAnswer)).toEqual([
    'never',
    'name_taken',
  ]);
  expect(processes.slack.pins).toEqual([{ channel: room.id, ts: expect.any(String) }]);
  expect(JSON.stringify(processes.slack.messagesIn(ANNOUNCE)[0]!.blocks)).toContain(`War room: <#${room.id}>`);
  expect([...room.members]).toEqual(expect.arrayContaining(['UBOT', 'U0ALICE', 'U0ONCALL1', 'U0ONCALL2']));
  // The incident card and the checklist (a job of its own, which may come a moment later), each once.
  await expect.poll(() => processes.slack.messagesIn(room.id).length, { timeout: 5_000, interval: 100 }).toBe(2);
  // firelane marked the channel as this incident's once it knew it.
  await expect.poll(() => room.purpose).toMatch(/^War room of INC-1, declared \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
}

describe('a crash between Slack creating the war room and firelane recording it', () => {
  it('one process on SQLite, killed while Slack’s answer is on its way: the restarted one finds the room', async () => {
    const env = { DATABASE_PATH: join(processes.dir, 'firelane.db') };
    processes.slack.failNext('conversations.create', { afterEffect: 'never' });
    const first = await firelane(env);
    await declare(first.url);
    await waitForTheLostCreate();
    first.process.child.kill('SIGKILL');
    await first.process.exited;

    const second = await firelane(env);
    await expectOneWarRoom();
    second.process.child.kill('SIGTERM');
    expect((await second.process.exited).code).toBe(0);
  }, 60_000);

  it.skipIf(!server)(
    'two replicas on PostgreSQL: the one holding the job is killed, the other takes it over and finds the room',
    async () => {
      const database = await createDatabase(server!);
      try {
        processes.slack.failNext('conversations.create', { afterEffect: 'never' });
        const replicas = await Promise.all([
          firelane({ DATABASE_URL: database.url }),
          firelane({ DATABASE_URL: database.url }),
        ]);
        await declare(replicas[0]!.url);
        await waitForTheLostCreate();
        // Whichever replica claimed the job waits for Slack: its pid is in the job's lease (host:pid:worker).
        const holder = await lockedBy(database.url, 'war-room:1');
        const [killed, survivor] =
          Number(holder.split(':')[1]) === replicas[0]!.process.child.pid ? replicas : [...replicas].reverse();
        expect(Number(holder.split(':')[1])).toBe(killed!.process.child.pid);
        killed!.process.child.kill('SIGKILL');
        await killed!.process.exited;

        await expectOneWarRoom();
        survivor!.process.child.kill('SIGTERM');
        expect((await survivor!.process.exited).code).toBe(0);
      } finally {
        await processes.killAll();
        await database.drop();
      }
    },
    90_000,
  );
});

/** The worker holding the job with this key (`host:pid:id`), '' when none does. */
async function lockedBy(url: string, key: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ locked_by: string | null }>('SELECT locked_by FROM jobs WHERE key = $1', [
      key,
    ]);
    return rows[0]?.locked_by ?? '';
  } finally {
    await client.end();
  }
}
