// Console sign-in in Chromium: firelane with console sign-in (FIRELANE_OIDC_* against the loopback
// provider of test/fakes/fake-oidc.ts, so not local mode), two people in two browser contexts. Signed
// out, the page says it is read-only and offers "Sign in"; after the provider's round trip each acts
// as their person: lee asks for a deploy and may not approve it, sam approves it, and signing out
// makes the page read-only again.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirelane, type Firelane } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startFakeOidc, type FakeOidc } from '../fakes/fake-oidc.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';
import { freePort } from '../support/process.js';
import { databaseEnv, queryDatabase } from '../support/test-store.js';
import { CHROMIUM, launchChromium, OUT, typeCommand } from './console-browser.js';

const IMAGE = 'ghcr.io/acme/payments';
const YAML = `services:
  payments:
    kubernetes: { namespace: payments, deployment: payments, container: app, image: ${IMAGE} }
    healthCheck: { window: 1s }
approvals:
  production: { approvers: [lee, sam], required: 1 }
people:
  lee: { slack: U0LEE, email: lee@acme.example }
  sam: { console: sam, email: sam@acme.example }
`;

describe.skipIf(!CHROMIUM)('console sign-in in Chromium', () => {
  let provider: FakeOidc;
  let firelane: Firelane;
  let browser: Browser;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    provider = await startFakeOidc({ redirectUris: [`${url}/auth/callback`] });
    dir = mkdtempSync(join(tmpdir(), 'firelane-e2e-oidc-'));
    writeFileSync(join(dir, 'firelane.yaml'), YAML);
    const config = loadConfig(
      {
        ...(await databaseEnv(dir)),
        HOME: dir,
        LOG_LEVEL: 'silent',
        FIRELANE_CONFIG: join(dir, 'firelane.yaml'),
        FIRELANE_OIDC_ISSUER: provider.issuer,
        FIRELANE_OIDC_CLIENT_ID: provider.clientId,
        FIRELANE_OIDC_CLIENT_SECRET: provider.clientSecret,
        FIRELANE_PUBLIC_URL: url,
      },
      dir,
    );
    const cluster = createMemoryCluster({ rolloutPolls: 2 });
    cluster.addDeployment({
      namespace: 'payments',
      name: 'payments',
      images: { app: `${IMAGE}:v2.1.0` },
      history: [{ app: `${IMAGE}:v2.0.0` }],
      replicas: 2,
    });
    firelane = await createFirelane({
      config,
      logger: pino({ level: 'silent' }),
      cluster,
      defaultMetrics: false,
      reminderTicker: false,
      worker: { pollMs: 20, baseDelayMs: 5, maxDelayMs: 50 },
      deploy: { pollIntervalMs: 5 },
    });
    await firelane.listen(port, '127.0.0.1');
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await firelane?.close(2_000);
    await provider?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A person in their own browser context (their own cookies), signed in through the provider. */
  async function signedIn(claims: Record<string, unknown>, shows: RegExp): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await page.goto(url);
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/Sign in to act/);
    expect(await page.locator('#command').isDisabled()).toBe(true);
    expect(await page.locator('#trial').isVisible()).toBe(false);
    provider.signInAs(claims);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#signed-in').textContent(), { timeout: 10_000 }).toMatch(shows);
    expect(page.url()).toBe(`${url}/`);
    expect(await page.locator('#notice').isVisible()).toBe(false);
    return page;
  }

  const card = (page: Page) => page.locator('.card', { hasText: 'Deploy REQ-1' });

  it('signed out the page reads only; signed in, each acts as their person; signing out ends it', async () => {
    const lee = await signedIn(
      { sub: 'lee-1', name: 'Lee', email: 'lee@acme.example', email_verified: true },
      /Signed in as Lee \(@lee\)/,
    );
    await typeCommand(lee, '/deploy payments v2.1.1');
    await expect.poll(() => card(lee).count(), { timeout: 10_000 }).toBe(1);
    await card(lee).getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => lee.locator('#messages').innerText())
      .toMatch(/You asked for REQ-1, so someone else must approve it/);
    expect(await firelane.store.deploys.get(1)).toMatchObject({
      status: 'pending',
      requester: 'lee',
      requesterPerson: 'lee',
      approvals: [],
    });

    const sam = await signedIn(
      { sub: 'sam-1', name: 'Sam', email: 'sam@acme.example', email_verified: true },
      /Signed in as Sam \(@sam\)/,
    );
    await expect.poll(() => card(sam).count(), { timeout: 10_000 }).toBe(1);
    await card(sam).getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(async () => (await firelane.store.deploys.get(1))?.approvals ?? [])
      .toEqual([expect.objectContaining({ by: 'sam', via: 'console', person: 'sam' })]);
    await expect.poll(() => card(sam).innerText(), { timeout: 20_000 }).toMatch(/approved by @sam/);
    mkdirSync(OUT, { recursive: true });
    await sam.screenshot({ path: join(OUT, 'console-sign-in.png') });
    expect(
      await queryDatabase(
        firelane,
        "select actor, platform from audit_log where action in ('deploy.requested', 'deploy.approved') order by seq",
      ),
    ).toEqual([
      { actor: 'lee', platform: 'oidc' },
      { actor: 'sam', platform: 'oidc' },
    ]);

    await sam.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => sam.locator('#notice').textContent()).toMatch(/Sign in to act/);
    expect(await sam.getByRole('link', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await sam.locator('#command').isDisabled()).toBe(true);
    expect(await card(sam).getByRole('button').first().isDisabled()).toBe(true);
  }, 60_000);
});
