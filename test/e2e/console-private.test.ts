// Private replies in the console (what a command or a click answers only to whoever ran it), in two
// tabs of one browser acting as two people: each sees only their own, in the order things happened
// in the room, and still after a reload.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actAs,
  CHROMIUM,
  pickName,
  startConsoleInBrowser,
  typeCommand,
  type ConsoleInBrowser,
} from './console-browser.js';

const ONLY_YOU = 'Only you see this';

/** The room as the page shows it, top to bottom: each message's text. */
const shown = (page: Page) => page.locator('#messages > li').allTextContents();
const position = (texts: string[], pattern: RegExp) => texts.findIndex((text) => pattern.test(text));

describe.skipIf(!CHROMIUM)('private replies in the console', () => {
  let run: ConsoleInBrowser;
  let alice: Page;
  let bob: Page;

  beforeAll(async () => {
    run = await startConsoleInBrowser();
    // Two tabs of one browser share its storage, as two tabs a person opens do.
    const context = await run.browser.newContext({ viewport: { width: 1280, height: 900 } });
    alice = await context.newPage();
    bob = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await run?.close();
  });

  it('each tab sees its own user’s private replies, in order, and keeps them on reload', async () => {
    await alice.goto(run.url);
    await actAs(alice, 'alice');
    await bob.goto(run.url);
    await actAs(bob, 'bob');

    await typeCommand(alice, '/incident list');
    await expect.poll(() => shown(alice)).toContainEqual(expect.stringMatching(/No open incidents/));
    await typeCommand(bob, '/incident sev2 Search slow');
    await expect.poll(() => shown(alice)).toContainEqual(expect.stringMatching(/INC-1 declared.*Search slow/));
    await typeCommand(alice, '/incident list');
    await expect.poll(() => shown(alice)).toContainEqual(expect.stringMatching(/1 open incident/));
    await typeCommand(bob, '/incident list');
    await expect.poll(() => shown(bob)).toContainEqual(expect.stringMatching(/1 open incident/));

    const check = async () => {
      expect(await alice.inputValue('#user')).toBe('alice');
      expect(await bob.inputValue('#user')).toBe('bob');
      const seenByAlice = await shown(alice);
      // alice's first answer came before bob's declaration, her second after it.
      const declared = position(seenByAlice, /bob.*\/incident sev2 Search slow/);
      expect(position(seenByAlice, /No open incidents/)).toBeGreaterThanOrEqual(0);
      expect(position(seenByAlice, /No open incidents/)).toBeLessThan(declared);
      expect(position(seenByAlice, /1 open incident/)).toBeGreaterThan(declared);
      expect(seenByAlice.filter((text) => text.includes(ONLY_YOU))).toHaveLength(2);
      const seenByBob = await shown(bob);
      expect(seenByBob.filter((text) => text.includes(ONLY_YOU))).toEqual([expect.stringMatching(/1 open incident/)]);
    };
    await check();
    await alice.reload();
    await bob.reload();
    await expect.poll(() => shown(alice)).toContainEqual(expect.stringMatching(/INC-1 declared.*Search slow/));
    await expect.poll(() => shown(bob)).toContainEqual(expect.stringMatching(/INC-1 declared.*Search slow/));
    await check();
  });

  it('a request the console refuses is said beside the command box, not posted as anyone’s message', async () => {
    const before = await shown(alice);
    await pickName(alice, 'not a name');
    await expect.poll(() => alice.textContent('#command-error')).toMatch(/Pick who you are/);
    await actAs(alice, 'alice');
    await expect.poll(() => alice.textContent('#command-error')).toBe('');
    expect(await shown(alice)).toEqual(before);
  });
});
