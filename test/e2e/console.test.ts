// The local console end to end in headless Chromium: declare an incident, see the war room appear,
// receive a reminder, request a deploy as one user, approve it as another, watch it to success, and
// find the incident on /status. Screenshots go to test-output/.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tickReminders } from '../../src/jobs/reminder-tick.js';
import { actAs, CHROMIUM, OUT, startConsoleInBrowser, typeCommand, type ConsoleInBrowser } from './console-browser.js';

describe.skipIf(!CHROMIUM)('the local console in Chromium', () => {
  let run: ConsoleInBrowser;
  let page: Page;

  beforeAll(async () => {
    run = await startConsoleInBrowser();
    page = await run.browser.newPage({ viewport: { width: 1280, height: 820 } });
  }, 60_000);

  afterAll(async () => {
    await run?.close();
  });

  const messages = (p: Page) => p.locator('#messages');

  it('declare, war room, reminder, deploy approved by another user, status page', async () => {
    const { firelane, clock, url } = run;
    await page.goto(url);
    await expect.poll(() => page.locator('#simulated-badge').isVisible()).toBe(true);
    await expect.poll(() => page.textContent('#simulated-badge')).toContain('simulated');
    // The blue-green demo service's Service selects blue: the panel names that colour live, and only it.
    await expect.poll(() => page.locator('#deployments').innerText()).toMatch(/web-blue\s+healthy 3\/3 live/);
    expect(await page.locator('#deployments').innerText()).not.toMatch(/web-green[^\n]*live/);

    // Declare in #incidents; the war room appears in the room list by itself (server-sent events).
    await actAs(page, 'alice');
    await typeCommand(page, '/incident sev1 Payment gateway down');
    const warRoom = page.locator('#rooms').getByRole('button', { name: '#inc-1-payment-gateway-down' });
    await warRoom.waitFor();
    await warRoom.click();
    await expect.poll(() => messages(page).textContent()).toContain('INC-1: Payment gateway down');

    // A reminder arrives live when its time comes.
    clock.jump(16 * 60_000);
    await tickReminders({ store: firelane.store, config: firelane.config.file, clock });
    await expect.poll(() => messages(page).textContent(), { timeout: 10_000 }).toMatch(/status update/i);

    // alice asks for a deploy; her own Approve is refused (only she sees why); bob approves.
    await typeCommand(page, '/deploy payments v1.1.0');
    const approve = page.getByRole('button', { name: 'Approve' }).last();
    await approve.waitFor({ timeout: 10_000 });
    await approve.click();
    await expect
      .poll(() => messages(page).textContent())
      .toMatch(/You asked for REQ-1, so someone else must approve it/);
    await actAs(page, 'bob');
    await page.getByRole('button', { name: 'Approve' }).last().click();
    await expect.poll(() => messages(page).textContent(), { timeout: 20_000 }).toMatch(/Succeeded/);
    expect(await firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded', approvals: [{ by: 'bob' }] });
    await page.screenshot({ path: join(OUT, 'console.png') });

    // The status page shows the open incident.
    await page.goto(`${url}/status`);
    await expect.poll(() => page.textContent('main')).toContain('Payment gateway down');
    await page.screenshot({ path: join(OUT, 'status.png'), fullPage: true });
  }, 90_000);
});
