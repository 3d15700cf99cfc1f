// The console's live updates with two firelanes on one PostgreSQL database: a page open on replica B
// is told of what happens in a room through replica A (a command's answer, a job's post and its edit),
// by LISTEN/NOTIFY; a room whose name is too long to send is told as "a room", and pages look again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFirelane, type Firelane } from '../../src/app.js';
import { CHANGES_CHANNEL } from '../../src/adapters/postgres/notifications.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase, postgresServer } from '../support/postgres.js';
import { TEMPLATE_DATABASE } from '../support/postgres-server.js';

const server = postgresServer();

/** What a page receives on /api/console/events, as it arrives. */
async function openPage(url: string) {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/console/events`, { signal: controller.signal });
  expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = response.body!.getReader();
  let seen = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      seen += new TextDecoder().decode(value);
    }
  })().catch(() => undefined);
  return {
    /** The `room` events so far: which room each names (null: any). */
    rooms: () =>
      [...seen.matchAll(/event: room\ndata: (.*)\n/g)].map((m) => (JSON.parse(m[1]!) as { room: string | null }).room),
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not so after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(!server)('console live updates across replicas on one PostgreSQL database', () => {
  let database: { url: string; drop(): Promise<void> };
  let dir: string;
  const replicas: Firelane[] = [];
  const pages: Array<{ close(): Promise<void> }> = [];

  beforeEach(async () => {
    database = await createDatabase(server!, TEMPLATE_DATABASE);
    dir = mkdtempSync(join(tmpdir(), 'firelane-console-replicas-'));
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
    for (const replica of replicas.splice(0)) await replica.close(1_000);
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ firelane: Firelane; url: string }> {
    const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', HOME: dir }, dir);
    const firelane = await createFirelane({
      config,
      logger: pino({ level: 'silent' }),
      defaultMetrics: false,
      reminderTicker: false,
      worker: { pollMs: 20 },
    });
    replicas.push(firelane);
    const address = await firelane.listen(0, '127.0.0.1');
    return { firelane, url: `http://127.0.0.1:${address.port}` };
  }

  /** Until the page has heard a marker sent on the channel now: its replica is listening. */
  async function listening(page: Awaited<ReturnType<typeof openPage>>) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await waitFor(async () => {
        await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, `room ${'0'.repeat(16)} marker`]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        return page.rooms().includes('marker');
      });
    } finally {
      await client.end();
    }
  }

  it('a page on replica B sees what is said in a room through replica A: a command’s answer, a post and its edit', async () => {
    const a = await start();
    const b = await start();
    const onA = await openPage(a.url);
    const onB = await openPage(b.url);
    pages.push(onA, onB);
    await listening(onA);
    await listening(onB);
    const before = onB.rooms().length;

    // Through A's HTTP API: alice's /incident list, answered privately in the room (no job: B runs nothing).
    const token = ((await (await fetch(`${a.url}/api/console/state`)).json()) as { token: string }).token;
    const ran = await fetch(`${a.url}/api/console/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-firelane-console': token },
      body: JSON.stringify({ text: '/incident list', user: 'alice', room: 'incidents', key: 'key-aaaaaaaa' }),
    });
    expect(ran.status).toBe(200);
    await waitFor(() => onB.rooms().slice(before).includes('incidents'));
    const forAlice = (await (await fetch(`${b.url}/api/console/messages?room=incidents&user=alice`)).json()) as {
      messages: Array<{ body: { text: string } }>;
    };
    expect(forAlice.messages.at(-1)?.body.text).toMatch(/No open incidents/);

    // Through A's ChatPort, as a job posts and then edits a card: B's page is told of each.
    const count = (page: typeof onA) => page.rooms().filter((room) => room === 'hostile <b>"room"</b>').length;
    const id = await a.firelane.consoleChat.chat.post('hostile <b>"room"</b>', { visibility: 'channel', text: 'v1' });
    await waitFor(() => count(onB) === 1);
    await a.firelane.consoleChat.chat.update('hostile <b>"room"</b>', id, { visibility: 'channel', text: 'v2' });
    await waitFor(() => count(onB) === 2);
    // A's pages were told by A itself, once each: A's own notifications come back to it and are passed over.
    await listening(onA);
    expect(count(onA)).toBe(2);
    const room = (await (
      await fetch(`${b.url}/api/console/messages?room=${encodeURIComponent('hostile <b>"room"</b>')}`)
    ).json()) as { messages: Array<{ body: { text: string } }> };
    expect(room.messages.map((m) => m.body.text)).toEqual(['v2']);

    // Too long a name for a notification: B's page hears "a room" and looks again.
    const nulls = () => onB.rooms().filter((room) => room === null).length;
    const already = nulls();
    await a.firelane.consoleChat.chat.post('r'.repeat(8_000), { visibility: 'channel', text: 'long' });
    await waitFor(() => nulls() === already + 1);
  });
});
