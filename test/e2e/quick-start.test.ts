// The README's quick start as a fresh machine runs it: `npm start` (build, migrate, serve) in a
// temporary HOME with no KUBECONFIG, no ~/.kube/config and no firelane.yaml, then the README's
// deploy requested by alice and approved by bob in headless Chromium, to success on the simulated
// cluster. Real time throughout: the demo services' health window is 30 s.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/process.js';
import { databaseEnv, dropDatabase } from '../support/test-store.js';
import { CHROMIUM, OUT, actAs, launchChromium, typeCommand } from './console-browser.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe.skipIf(!CHROMIUM)('the quick start on a fresh machine', () => {
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let home: string | undefined;

  afterAll(async () => {
    await browser?.close();
    // npm runs node as its child: stop the whole process group.
    if (server?.pid) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        /* gone already */
      }
    }
    if (home) {
      rmSync(home, { recursive: true, force: true });
      await dropDatabase(home);
    }
  });

  it('npm start serves the console; /deploy payments v1.1.0 asked by alice, approved by bob, succeeds on the simulated cluster', async () => {
    expect(
      existsSync(join(ROOT, 'firelane.yaml')),
      'a firelane.yaml in the checkout: this test needs none (a fresh clone has none)',
    ).toBe(false);
    home = mkdtempSync(join(tmpdir(), 'firelane-home-'));
    const port = await freePort();
    // Only what a fresh shell has: PATH and an empty HOME. The database goes to the temporary folder
    // rather than ./data, so that a developer's own server on ./data is not disturbed (with
    // FIRELANE_TEST_STORE=postgres: a new, empty PostgreSQL database, which npm start migrates).
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      PORT: String(port),
      ...(await databaseEnv(home, { migrated: false })),
    };
    server = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await expect.poll(() => output, { timeout: 90_000, interval: 250 }).toMatch(/"msg":"firelane is up"/);
    expect(output).toContain('"config":"built-in defaults"');
    expect(output).toMatch(/kubernetes: SIMULATED \(local mode, no Kubernetes configuration found/);
    expect(output).toContain(`http://127.0.0.1:${port}/`);

    try {
      await deployThroughTheConsole(port);
    } catch (error) {
      // What the server said is what tells why (a refused click, a job that failed).
      console.error(`npm start's output (last 8 kB):\n${output.slice(-8_000)}`);
      throw error;
    }
  }, 240_000);

  async function deployThroughTheConsole(port: number): Promise<void> {
    browser = await launchChromium();
    const open = async (user: string): Promise<Page> => {
      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`http://127.0.0.1:${port}/`);
      await actAs(page, user);
      return page;
    };
    const alice = await open('alice');
    await expect.poll(() => alice.locator('#simulated-badge').textContent()).toContain('simulated');
    await typeCommand(alice, '/deploy payments v1.1.0');
    const card = (page: Page) => page.locator('.card', { hasText: 'Deploy REQ-1' });
    await expect.poll(() => card(alice).count(), { timeout: 10_000 }).toBe(1);
    expect(await card(alice).innerText()).toMatch(/Target\s+demo\/payments \(simulated cluster\)/);

    // alice may not approve her own request; bob may.
    await card(alice).getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => alice.locator('#messages').innerText())
      .toMatch(/You asked for REQ-1, so someone else must approve it/);
    const bob = await open('bob');
    await expect.poll(() => card(bob).count(), { timeout: 10_000 }).toBe(1);
    await card(bob).getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => card(bob).innerText(), { timeout: 90_000, interval: 500 })
      .toMatch(/Succeeded \(approved by @bob\)/);
    expect(await card(bob).innerText()).toMatch(/To\s+registry\.local\/demo\/payments:v1\.1\.0/);
    mkdirSync(OUT, { recursive: true });
    await bob.screenshot({ path: join(OUT, 'quick-start.png') });
    // The simulated cluster's panel shows the new version running on all replicas.
    await expect.poll(() => bob.locator('#deployments').innerText()).toMatch(/payments\s+healthy 3\/3/);
  }
});
