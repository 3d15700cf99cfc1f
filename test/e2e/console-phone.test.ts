// The console on a phone-sized screen (390x844, touch): nothing scrolls sideways, and the room list,
// the messages, the command box and a card's buttons are all within reach.
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actAs,
  CHROMIUM,
  OUT,
  seedDeployRequest,
  startConsoleInBrowser,
  typeCommand,
  type ConsoleInBrowser,
} from './console-browser.js';

const WIDTH = 390;

/** The page's globals `overflowing` uses (tsconfig has no DOM library; the function runs in the page). */
interface Box {
  scrollWidth: number;
  clientWidth: number;
}
declare const document: { scrollingElement: Box; querySelector(selectors: string): Box | null };

/** Runs in the page: the page and each of its scrolling panes, where wider than they are. */
function overflowing(): string[] {
  const boxes: [string, Box | null][] = [
    ['page', document.scrollingElement],
    ...['nav', '#messages', '.top'].map((s): [string, Box | null] => [s, document.querySelector(s)]),
  ];
  return boxes
    .filter(([, box]) => box && box.scrollWidth > box.clientWidth)
    .map(([name, box]) => `${name}: ${box!.scrollWidth} > ${box!.clientWidth}`);
}

/** Scrolled to (up or down, as a thumb would), it is on screen from its left edge to its right. */
async function expectOnScreen(locator: Locator): Promise<void> {
  await locator.scrollIntoViewIfNeeded();
  const box = await locator.boundingBox();
  expect(box).not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(WIDTH);
}

describe.skipIf(!CHROMIUM)('the console on a phone', () => {
  let run: ConsoleInBrowser;
  let page: Page;
  let warRoom: string;

  beforeAll(async () => {
    run = await startConsoleInBrowser();
    warRoom = await seedDeployRequest(run);
    const context = await run.browser.newContext({
      viewport: { width: WIDTH, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await run?.close();
  });

  it('rooms, messages, command box and card buttons fit the width and work', async () => {
    await page.goto(run.url);
    await actAs(page, 'bob');
    await page.locator('#messages li').first().waitFor();
    expect(await page.evaluate(overflowing)).toEqual([]);

    const room = page.locator('#rooms').getByRole('button', { name: `#${warRoom}` });
    await expectOnScreen(room);
    await room.tap();
    const approve = page.getByRole('button', { name: 'Approve' });
    await approve.waitFor();
    expect(await page.evaluate(overflowing)).toEqual([]);
    for (const control of [
      approve,
      page.getByRole('button', { name: 'Reject' }),
      page.locator('#command'),
      page.getByRole('button', { name: 'Send' }),
    ]) {
      await expectOnScreen(control);
    }
    await page.screenshot({ path: join(OUT, 'console-phone.png') });

    await approve.tap();
    await expect
      .poll(async () => (await run.firelane.store.deploys.get(1))?.approvals)
      .toEqual([expect.objectContaining({ by: 'bob' })]);
    await typeCommand(page, '/incident list');
    await expect.poll(() => page.locator('#messages').textContent()).toMatch(/1 open incident/);
    expect(await page.evaluate(overflowing)).toEqual([]);
  }, 60_000);
});
