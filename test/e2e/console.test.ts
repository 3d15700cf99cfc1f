// The local console end to end in headless Chromium (Debian's chromium driven by playwright-core):
// firelane as `npm start` runs it on a fresh clone (no credentials, no firelane.yaml: the console,
// the demo services and the simulated cluster), in-process with a clock the test moves. Declare an
// incident, see the war room appear, receive a reminder, request a deploy as one user, approve it as
// another, watch it to success, and find the incident on /status. Screenshots go to test-output/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirelane, type Firelane } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { tickReminders } from '../../src/jobs/reminder-tick.js';
import type { Clock } from '../../src/ports/clock.js';
import { findExecutable } from '../support/process.js';

const CHROMIUM = findExecutable('chromium') ?? findExecutable('chromium-browser');
if (!CHROMIUM) console.log('console e2e tests skipped: no chromium on PATH (apt-get install chromium; .ci/run installs it)');
const OUT = join(process.cwd(), 'test-output');

/** Real time plus whatever the test (or a deploy's poll) skipped ahead. */
function jumpingClock(): Clock & { jump(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, jump: (ms) => (offset += ms) };
}

describe.skipIf(!CHROMIUM)('the local console in Chromium', () => {
  let dir: string;
  let firelane: Firelane;
  let browser: Browser;
  let page: Page;
  let url: string;
  const clock = jumpingClock();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-e2e-'));
    mkdirSync(OUT, { recursive: true });
    const config = loadConfig({ DATABASE_PATH: join(dir, 'firelane.db'), LOG_LEVEL: 'silent', KUBECONFIG: join(dir, 'no-kubeconfig') }, dir);
    firelane = await createFirelane({
      config,
      logger: pino({ level: 'silent' }),
      clock,
      reminderTicker: false,
      defaultMetrics: false,
      worker: { pollMs: 20, baseDelayMs: 5, maxDelayMs: 50 },
      // A rollout poll skips the clock ahead (the simulated cluster moves with it) and yields briefly.
      deploy: { pollIntervalMs: 2_000, sleep: async (ms) => { clock.jump(ms); await new Promise((r) => setTimeout(r, 25)); } },
    });
    const address = await firelane.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${address.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM!,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await firelane?.close(2_000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function as(user: string) {
    await page.fill('#user', user);
    await page.dispatchEvent('#user', 'change');
  }
  async function type(command: string) {
    await page.fill('#command', command);
    await page.press('#command', 'Enter');
  }
  const messages = (p: Page) => p.locator('#messages');

  it('declare, war room, reminder, deploy approved by another user, status page', async () => {
    await page.goto(url);
    await expect.poll(() => page.locator('#simulated-badge').isVisible()).toBe(true);
    await expect.poll(() => page.textContent('#simulated-badge')).toContain('simulated');

    // Declare in #incidents; the war room appears in the room list by itself (server-sent events).
    await as('alice');
    await type('/incident sev1 Payment gateway down');
    const warRoom = page.locator('#rooms').getByRole('button', { name: '#inc-1-payment-gateway-down' });
    await warRoom.waitFor();
    await warRoom.click();
    await expect.poll(() => messages(page).textContent()).toContain('INC-1: Payment gateway down');

    // A reminder arrives live when its time comes.
    clock.jump(16 * 60_000);
    tickReminders({ store: firelane.store, config: firelane.config.file, clock });
    await expect.poll(() => messages(page).textContent(), { timeout: 10_000 }).toMatch(/status update/i);

    // alice asks for a deploy; her own Approve is refused (only she sees why); bob approves.
    await type('/deploy payments v1.1.0');
    const approve = page.getByRole('button', { name: 'Approve' }).last();
    await approve.waitFor({ timeout: 10_000 });
    await approve.click();
    await expect.poll(() => messages(page).textContent()).toMatch(/You asked for REQ-1, so someone else must approve it/);
    await as('bob');
    await page.getByRole('button', { name: 'Approve' }).last().click();
    await expect.poll(() => messages(page).textContent(), { timeout: 20_000 }).toMatch(/Succeeded/);
    expect(firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded', approvals: [{ by: 'bob' }] });
    await page.screenshot({ path: join(OUT, 'console.png') });

    // The status page shows the open incident.
    await page.goto(`${url}/status`);
    await expect.poll(() => page.textContent('main')).toContain('Payment gateway down');
    await page.screenshot({ path: join(OUT, 'status.png'), fullPage: true });
  }, 90_000);
});
