// The crash point the outbox cannot cover by itself: Slack has created the war room, but its answer never reached
// firelane, and the process dies before the step's result is recorded (the fake takes the create and never answers;
// the process is killed while it waits). The job runs again, conversations.create answers name_taken, and firelane
// must find the channel it made instead of opening a second, suffixed room. Once with one process on SQLite
// restarted, once with two replicas on one PostgreSQL database, where the other replica takes the job over.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { signedHeaders } from '../support/slack-signing.js';
import { ANNOUNCE, BOT_TOKEN, DEFAULT_YAML, SIGNING_SECRET } from '../support/harness.js';
import { freePort, startProcess, type RunningProcess } from '../support/process.js';
import { createDatabase, postgresServer } from '../support/postgres.js';

const ROOM = 'inc-1-payment-gateway-down';
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
  dir = mkdtempSync(join(tmpdir(), 'firelane-war-room-crash-'));
  writeFileSync(join(dir, 'firelane.yaml'), DEFAULT_YAML);
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
    trigger_id: 'trigger-war-room-crash',
    response_url: slack.responseUrl('war-room-crash'),
  }).toString();
  const ack = await fetch(`${url}/slack/events`, {
    method: 'POST',
    headers: signedHeaders(SIGNING_SECRET, form),
    body: form,
  });
  expect(ack.status).toBe(200);
  expect(((await ack.json()) as { text: string }).text).toContain('INC-1');
}

/** Slack created the channel; the answer is held back, so nothing in firelane knows its id yet. */
async function waitForTheLostCreate(): Promise<void> {
  await expect.poll(() => slack.channelByName(ROOM), { timeout: 10_000, interval: 20 }).toBeDefined();
  expect(slack.callsTo('conversations.create')).toEqual([expect.objectContaining({ lostAnswer: 'never' })]);
}

/** One war room, the one Slack created first, holding the card, the pin, the checklist and the responders. */
async function expectOneWarRoom(): Promise<void> {
  await expect.poll(() => slack.pins.length, { timeout: 30_000, interval: 100 }).toBe(1);
  await expect.poll(() => slack.messagesIn(ANNOUNCE).length, { timeout: 5_000 }).toBe(1);
  const room = slack.channelByName(ROOM)!;
  const rooms = [...slack.channels.values()].filter((c) => c.name.startsWith('inc-1'));
  expect(rooms.map((c) => c.name)).toEqual([ROOM]);
  expect(slack.callsTo('conversations.create').map((c) => c.error ?? c.lostAnswer)).toEqual(['never', 'name_taken']);
  expect(slack.pins).toEqual([{ channel: room.id, ts: expect.any(String) }]);
  expect(JSON.stringify(slack.messagesIn(ANNOUNCE)[0]!.blocks)).toContain(`War room: <#${room.id}>`);
  expect([...room.members]).toEqual(expect.arrayContaining(['UBOT', 'U0ALICE', 'U0ONCALL1', 'U0ONCALL2']));
  // The incident card and the checklist (a job of its own, which may come a moment later), each once.
  await expect.poll(() => slack.messagesIn(room.id).length, { timeout: 5_000, interval: 100 }).toBe(2);
  // firelane marked the channel as this incident's once it knew it.
  await expect.poll(() => room.purpose).toMatch(/^War room of INC-1, declared \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
}

describe('a crash between Slack creating the war room and firelane recording it', () => {
  it('one process on SQLite, killed while Slack’s answer is on its way: the restarted one finds the room', async () => {
    const env = { DATABASE_PATH: join(dir, 'firelane.db') };
    slack.failNext('conversations.create', { afterEffect: 'never' });
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
        slack.failNext('conversations.create', { afterEffect: 'never' });
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
        for (const p of running) p.child.kill('SIGKILL');
        await Promise.all(running.map((p) => p.exited));
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
