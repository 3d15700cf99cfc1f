// Text contrast of the console as Chromium renders it, in the light and the dark colour scheme:
// every visible piece of text (each button style, the command box's placeholder) against what is
// painted behind it must reach WCAG AA's 4.5:1.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contrastRatio, effectiveBackground, parseColor } from '../support/contrast.js';
import {
  actAs,
  CHROMIUM,
  OUT,
  runCommand,
  seedDeployRequest,
  startConsoleInBrowser,
  type ConsoleInBrowser,
} from './console-browser.js';

/** The page's globals `textSamples` uses (tsconfig has no DOM library; the function runs in the page). */
interface PageNode {
  nodeType: number;
  textContent: string | null;
}
interface PageElement extends PageNode {
  tagName: string;
  id: string;
  className: string;
  placeholder?: string;
  childNodes: Iterable<PageNode>;
  parentElement: PageElement | null;
  getAttribute(name: string): string | null;
  checkVisibility(): boolean;
  getBoundingClientRect(): { width: number };
}
declare const document: { querySelectorAll(selectors: string): Iterable<PageElement> };
declare function getComputedStyle(element: PageElement, pseudo?: string): { color: string; backgroundColor: string };

interface Sample {
  what: string;
  /** The button style, for buttons: its class, or what else sets it apart. */
  button: string | null;
  color: string;
  /** Background colours from the element up to <html>. */
  layers: string[];
}

/** Runs in the page: each visible element with text of its own, its colour and the backgrounds behind it. */
function textSamples(): Sample[] {
  const samples: Sample[] = [];
  for (const element of document.querySelectorAll('body *')) {
    const own = Array.from(element.childNodes)
      .filter((node) => node.nodeType === 3)
      .map((node) => node.textContent)
      .join('')
      .trim();
    const placeholder = element.tagName === 'INPUT' ? (element.placeholder ?? '') : '';
    // Visually hidden labels (1px, clipped) are for screen readers, which read no colours.
    if ((!own && !placeholder) || !element.checkVisibility() || element.getBoundingClientRect().width <= 1) continue;
    const layers: string[] = [];
    for (let at: PageElement | null = element; at; at = at.parentElement)
      layers.push(getComputedStyle(at).backgroundColor);
    const tag = `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}${element.className ? `.${element.className.trim().replace(/\s+/g, '.')}` : ''}`;
    if (own) {
      const current = element.getAttribute('aria-current') === 'true' ? 'current' : 'default';
      const button = element.tagName === 'BUTTON' ? element.className || current : null;
      samples.push({ what: `${tag} "${own.slice(0, 40)}"`, button, color: getComputedStyle(element).color, layers });
    }
    if (placeholder)
      samples.push({
        what: `${tag} placeholder`,
        button: null,
        color: getComputedStyle(element, '::placeholder').color,
        layers,
      });
  }
  return samples;
}

describe.skipIf(!CHROMIUM)('the console text contrast in Chromium', () => {
  let run: ConsoleInBrowser;
  let page: Page;
  /** Each room to look at, and what shows that its messages are on the page. */
  let rooms: Record<string, string>;

  beforeAll(async () => {
    run = await startConsoleInBrowser();
    const warRoom = await seedDeployRequest(run);
    await runCommand(run, 'alice', 'incidents', '/incident list'); // a private answer, with its note
    rooms = { incidents: 'li.private', [warRoom]: 'button.primary' };
    page = await run.browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(run.url);
    await actAs(page, 'alice');
  }, 60_000);

  afterAll(async () => {
    await run?.close();
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`every text and button style reaches 4.5:1 in the ${scheme} scheme`, async () => {
      await page.emulateMedia({ colorScheme: scheme });
      const samples: Sample[] = [];
      for (const [room, loaded] of Object.entries(rooms)) {
        await page
          .locator('#rooms')
          .getByRole('button', { name: `#${room}` })
          .click();
        // The page marks which room it has drawn: the room shown before may hold what `loaded` waits for too.
        await page.locator(`#messages[data-room="${room}"]`).locator(loaded).first().waitFor();
        samples.push(...(await page.evaluate(textSamples)));
        await page.screenshot({ path: join(OUT, `console-${scheme}-${room}.png`) });
      }
      const styles = new Set(samples.map((s) => s.button).filter((style) => style !== null));
      expect([...styles]).toEqual(expect.arrayContaining(['primary', 'danger', 'default', 'current', 'link']));

      const low = samples
        .map((s) => ({ what: s.what, ratio: contrastRatio(parseColor(s.color), effectiveBackground(s.layers)) }))
        .filter((s) => s.ratio < 4.5)
        .map((s) => `${s.what}: ${s.ratio.toFixed(2)}:1`);
      expect([...new Set(low)]).toEqual([]);
    });
  }
});
