// The console page in a browser, served by replica B of two firelanes on one PostgreSQL database:
// what is posted in its room through replica A appears without a reload, and when B is told that
// some room changed without knowing which (a room name too long for a notification, or hearing
// restarted after a lost connection), the page loads its room again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirelane, type Firelane } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase, postgresServer } from '../support/postgres.js';
import { TEMPLATE_DATABASE } from '../support/postgres-server.js';
import { queryDatabase } from '../support/test-store.js';
import { actAs, CHROMIUM, launchChromium } from './console-browser.js';

const server = CHROMIUM ? postgresServer() : undefined;
const shown = (page: Page) => page.locator('#messages > li').allTextContents();

describe.skipIf(!CHROMIUM || !server)('the console page on one replica of two', () => {
  let database: { url: string; drop(): Promise<void> };
  let dir: string;
  let a: Firelane;
  let b: Firelane;
  let browser: Browser;
  let page: Page;

  const start = async () => {
    const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', HOME: dir }, dir);
    const firelane = await createFirelane({
      config,
      logger: pino({ level: 'silent' }),
      defaultMetrics: false,
      reminderTicker: false,
      worker: { pollMs: 20 },
    });
    return firelane;
  };

  beforeAll(async () => {
    database = await createDatabase(server!, TEMPLATE_DATABASE);
    dir = mkdtempSync(join(tmpdir(), 'firelane-e2e-replicas-'));
    a = await start();
    b = await start();
    const onB = await b.listen(0, '127.0.0.1');
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`http://127.0.0.1:${onB.port}`);
    await actAs(page, 'alice');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await a?.close(1_000);
    await b?.close(1_000);
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows a post made through the other replica, and loads its room again when told "a room changed"', async () => {
    await a.consoleChat.chat.post('incidents', { visibility: 'channel', text: 'Posted through replica A' });
    await expect.poll(() => shown(page), { timeout: 5_000 }).toContainEqual(expect.stringMatching(/replica A/));

    // A message nobody was told about (as if written while B was not listening) ...
    await queryDatabase(
      a,
      `INSERT INTO console_messages (room_id, author, body, created_at) VALUES ('incidents', 'firelane', ?, 1)`,
      [JSON.stringify({ visibility: 'channel', text: 'Written unheard' })],
    );
    // ... shows once B hears that some room changed (this one's name is too long to send).
    await a.consoleChat.chat.post('r'.repeat(8_000), { visibility: 'channel', text: 'long' });
    await expect.poll(() => shown(page), { timeout: 5_000 }).toContainEqual(expect.stringMatching(/Written unheard/));
  });
});
