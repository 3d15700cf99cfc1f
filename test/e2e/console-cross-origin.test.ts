// The local console attacked as issue 26 reproduced it: a page on another origin (here another
// loopback port, as any website the on-call engineer visits would be) tries to approve a pending
// deploy as bob through the console's API, with a plain HTML form, a `text/plain` fetch (no-cors)
// and a JSON fetch with a made-up token (which needs a CORS preflight firelane never answers).
// Nothing changes: the request stays pending and the audit log gets no row. A request whose Host is
// not the console's own address (DNS rebinding) is refused even with a valid token.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  consoleToken,
  seedDeployRequest,
  startConsoleInBrowser,
  type ConsoleInBrowser,
} from './console-browser.js';
import { queryDatabase, queryOne } from '../support/test-store.js';

/** The attacker's page: an auto-submitting form and two fetches, all aimed at the console. */
function attackPage(consoleUrl: string, room: string): string {
  const target = `${consoleUrl}/api/console/command`;
  const body = JSON.stringify({ text: '/deploy approve REQ-1', user: 'bob', room, key: 'attack-0001' });
  return `<!doctype html><html><body>
<form id="f" method="POST" action="${target}" enctype="text/plain">
  <input name='${body.slice(0, -2)}' value='"}'>
</form>
<form id="g" method="POST" action="${target}">
  <input name="text" value="/deploy approve REQ-1"><input name="user" value="bob"><input name="room" value="${room}">
</form>
<script>
window.results = {};
async function attack() {
  try {
    const r = await fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(body.replace('attack-0001', 'attack-0002'))} });
    window.results.textPlain = r.type;
  } catch (e) { window.results.textPlain = 'error: ' + e.message; }
  try {
    const r = await fetch(${JSON.stringify(target)}, { method: 'POST', headers: { 'content-type': 'application/json', 'x-firelane-console': 'guessed' }, body: ${JSON.stringify(body.replace('attack-0001', 'attack-0003'))} });
    window.results.json = r.status;
  } catch (e) { window.results.json = 'error: ' + e.message; }
  window.results.done = true;
}
</script>
</body></html>`;
}

/** A raw HTTP request, so that the Host header is whatever the test says (fetch sets its own). */
function rawRequest(
  url: string,
  options: { method?: string; host: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: { host: options.host, ...options.headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe.skipIf(!CHROMIUM)('the console against another origin', () => {
  let run: ConsoleInBrowser;
  let attacker: Server;
  let attackerUrl: string;
  let warRoom: string;

  beforeAll(async () => {
    run = await startConsoleInBrowser();
    warRoom = await seedDeployRequest(run);
    attacker = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(attackPage(run.url, warRoom)),
    );
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
  }, 60_000);

  afterAll(async () => {
    await run?.close();
    await new Promise((resolve) => attacker?.close(resolve));
  });

  const auditRows = async () => (await queryOne<{ n: number }>(run.firelane, 'select count(*) n from audit_log'))!.n;
  const pendingUnchanged = async () =>
    expect(await run.firelane.store.deploys.get(1)).toMatchObject({ status: 'pending', approvals: [] });

  it('a form and fetches from another loopback origin cannot approve as bob; nothing changes', async () => {
    await expect
      .poll(async () => (await run.firelane.store.deploys.get(1))?.cardRef ?? null, { timeout: 10_000 })
      .not.toBeNull();
    await pendingUnchanged();
    const before = await auditRows();
    const page = await run.browser.newPage();

    // Two fetches: text/plain without CORS (the response is opaque, the request is sent), and JSON
    // with a guessed token (a CORS preflight first, which the console does not answer).
    await page.goto(attackerUrl);
    await page.evaluate('attack()');
    await expect.poll(() => page.evaluate('window.results.done === true')).toBe(true);
    expect(await page.evaluate('window.results.json')).toMatch(/^error: /);

    // A text/plain form whose body is the JSON the API takes, and a url-encoded form: both are sent
    // by the browser (a top-level navigation) and both are refused with a plain 403.
    for (const form of ['#f', '#g']) {
      await page.goto(attackerUrl);
      const [response] = await Promise.all([
        page.waitForEvent('response', (r) => r.url().endsWith('/api/console/command')),
        page.evaluate(`document.querySelector('${form}').submit()`),
      ]);
      expect(response.status(), form).toBe(403);
      expect(response.headers()['content-type'], form).toMatch(/^text\/plain/);
      expect(await response.text(), form).toMatch(/refused/i);
    }

    await pendingUnchanged();
    expect(await auditRows()).toBe(before);
    await page.close();
  });

  it('a foreign Host header is refused, for the page, its data and its commands (even with a valid token)', async () => {
    const token = await consoleToken(run.url);
    const before = await auditRows();
    for (const path of [
      '/',
      '/api/console/state',
      `/api/console/messages?room=${warRoom}&user=bob`,
      '/api/console/events',
    ]) {
      const answer = await rawRequest(run.url + path, { host: 'attacker.example' });
      expect(answer.status, path).toBe(403);
      expect(answer.text, path).not.toContain('REQ-1');
    }
    const body = JSON.stringify({ text: '/deploy approve REQ-1', user: 'bob', room: warRoom, key: 'attack-0004' });
    const port = new URL(run.url).port;
    for (const host of ['attacker.example', `attacker.example:${port}`, `127.0.0.2:${port}`]) {
      const answer = await rawRequest(`${run.url}/api/console/command`, {
        method: 'POST',
        host,
        headers: { 'content-type': 'application/json', 'x-firelane-console': token },
        body,
      });
      expect(answer.status, host).toBe(403);
    }
    // The console's own addresses are served.
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`])
      expect((await rawRequest(`${run.url}/api/console/state`, { host })).status, host).toBe(200);
    await pendingUnchanged();
    expect(await auditRows()).toBe(before);
  });

  it('the console’s own page still approves: bob in the console is a trial name that counts for the demo approvers', async () => {
    const page = await run.browser.newPage();
    await page.goto(run.url);
    await page.fill('#user', 'bob');
    await page.dispatchEvent('#user', 'change');
    await page
      .locator('#rooms')
      .getByRole('button', { name: `#${warRoom}` })
      .click();
    await page.getByRole('button', { name: 'Approve' }).last().click();
    await expect
      .poll(async () => (await run.firelane.store.deploys.get(1))?.approvals ?? [])
      .toEqual([expect.objectContaining({ by: 'bob', via: 'console' })]);
    const rows = await queryDatabase(
      run.firelane,
      "select actor, platform from audit_log where action like 'deploy.approv%'",
    );
    expect(rows).toEqual([{ actor: 'bob', platform: 'console' }]);
    await page.close();
  });
});
