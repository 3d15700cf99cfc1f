// What the console's browser tests share: firelane as `npm start` runs it on a fresh clone (no
// credentials, no firelane.yaml: the console, the demo services and the simulated cluster),
// in-process with a clock the test moves, and Debian's chromium driven by playwright-core.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createFirelane, type Firelane } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Clock } from '../../src/ports/clock.js';
import { requireTool, TOOLS } from '../support/require-tool.js';
import { databaseEnv, dropDatabase } from '../support/test-store.js';

/** Skip with `describe.skipIf(!CHROMIUM)`: without chromium the tests skip locally and fail under CI. */
export const CHROMIUM = requireTool(TOOLS.chromium);
/** Screenshots, for people to look at; no test reads them. */
export const OUT = join(process.cwd(), 'test-output');

/** Real time plus whatever the test (or a deploy's poll) skipped ahead. */
function jumpingClock(): Clock & { jump(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, jump: (ms) => (offset += ms) };
}

export interface ConsoleInBrowser {
  firelane: Firelane;
  url: string;
  browser: Browser;
  clock: ReturnType<typeof jumpingClock>;
  close(): Promise<void>;
}

/** Debian's chromium, headless, offline. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM!,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export async function startConsoleInBrowser(): Promise<ConsoleInBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'firelane-e2e-'));
  mkdirSync(OUT, { recursive: true });
  const clock = jumpingClock();
  // A fresh machine: HOME without ~/.kube/config, no KUBECONFIG, not in a cluster.
  const config = loadConfig({ ...(await databaseEnv(dir)), LOG_LEVEL: 'silent', HOME: dir }, dir);
  const firelane = await createFirelane({
    config,
    logger: pino({ level: 'silent' }),
    clock,
    reminderTicker: false,
    defaultMetrics: false,
    worker: { pollMs: 20, baseDelayMs: 5, maxDelayMs: 50 },
    // A rollout poll skips the clock ahead (the simulated cluster moves with it) and yields briefly.
    deploy: {
      pollIntervalMs: 2_000,
      sleep: async (ms) => {
        clock.jump(ms);
        await new Promise((r) => setTimeout(r, 25));
      },
    },
  });
  const address = await firelane.listen(0, '127.0.0.1');
  const browser = await launchChromium();
  return {
    firelane,
    url: `http://127.0.0.1:${address.port}`,
    browser,
    clock,
    async close() {
      await browser.close();
      await firelane.close(2_000);
      rmSync(dir, { recursive: true, force: true });
      await dropDatabase(dir);
    },
  };
}

/** Picks who the page acts as, the way a person does: types the name and leaves the field. */
/** Types a name in the "You are" box, as a person would (the console may refuse it). */
export async function pickName(page: Page, name: string): Promise<void> {
  await page.fill('#user', name);
  await page.dispatchEvent('#user', 'change');
}

export async function actAs(page: Page, user: string): Promise<void> {
  await pickName(page, user);
  // The room as this person sees it (their private answers too) is drawn: a click before that could
  // land on a button the redraw replaces.
  await page.locator(`#messages[data-viewer="${user}"]`).waitFor({ state: 'attached' });
}

export async function typeCommand(page: Page, command: string): Promise<void> {
  await page.fill('#command', command);
  await page.press('#command', 'Enter');
}

/** The token the console's page sends with every command (issued with its state, readable only by the page's own origin). */
export async function consoleToken(url: string): Promise<string> {
  const state = (await (await fetch(`${url}/api/console/state`)).json()) as { token: string };
  return state.token;
}

/** Runs a command over the console's HTTP API, as a page would, without one. */
export async function runCommand(run: ConsoleInBrowser, user: string, room: string, text: string): Promise<void> {
  const headers = { 'content-type': 'application/json', 'x-firelane-console': await consoleToken(run.url) };
  const response = await fetch(`${run.url}/api/console/command`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ text, user, room }),
  });
  if (!response.ok) throw new Error(`${text}: HTTP ${response.status}`);
}

/**
 * As alice: INC-1 declared in #incidents (its announcement links the war room), and REQ-1 asked for
 * in the war room, so a card with Approve and Reject waits there. Returns the war room's id.
 */
export async function seedDeployRequest(run: ConsoleInBrowser): Promise<string> {
  await runCommand(run, 'alice', 'incidents', '/incident sev1 Checkout errors');
  await runCommand(run, 'alice', 'inc-1-checkout-errors', '/deploy payments v1.1.0');
  return 'inc-1-checkout-errors';
}
