// The status page over a real node:http server and a real SQLite store on `:memory:`, with a manual clock.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore } from '../../../../src/adapters/db/sqlite-store.js';
import { createHttpServer } from '../../../../src/adapters/http/server.js';
import { createStatusRoutes } from '../../../../src/adapters/http/status-page.js';
import type { Severity } from '../../../../src/domain/severity.js';
import { createManualClock, type ManualClock } from '../../../../src/ports/clock.js';

const T0 = Date.parse('2026-03-10T12:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const BY = { actor: 'alice', platform: 'console' };

let clock: ManualClock;
let handle: DbHandle;
let store: SqliteStore;
let server: Server;
let base: string;

beforeEach(async () => {
  clock = createManualClock(T0);
  handle = openDatabase(':memory:');
  store = createSqliteStore(handle, clock);
  server = createHttpServer({
    routes: createStatusRoutes({ store, clock, title: 'Acme' }),
    isReady: () => true,
    registry: new Registry(),
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise((done) => server.close(done));
  handle.close();
});

async function declare(severity: Severity, title: string, declaredAt: number): Promise<number> {
  const created = await store.incidents.create({
    title,
    description: null,
    severity,
    platform: 'console',
    declaredBy: 'alice',
    declaredAt,
    nextReminderAt: declaredAt + 15 * MINUTE,
  });
  return created.id;
}

async function resolve(id: number, at: number): Promise<void> {
  await store.incidents.update(
    id,
    { status: 'resolved', resolvedAt: at, nextReminderAt: null },
    { ...BY, action: 'incident.resolved' },
  );
}

async function page(path = '/status'): Promise<{ status: number; headers: Headers; html: string }> {
  const response = await fetch(base + path);
  return { status: response.status, headers: response.headers, html: await response.text() };
}

async function json(): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${base}/status.json`);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** The `<tbody>` of the table under the given heading id. */
function tableBody(html: string, headingId: string): string {
  const start = html.indexOf(`aria-labelledby="${headingId}"`);
  expect(start).toBeGreaterThan(-1);
  return html.slice(html.indexOf('<tbody>', start), html.indexOf('</tbody>', start));
}

describe('IncidentStore.recentlyResolved', () => {
  it('returns incidents resolved at or after `since`, newest first, up to the limit; reopened ones drop out', async () => {
    const a = await declare('sev1', 'A', T0 - 10 * DAY);
    const b = await declare('sev2', 'B', T0 - 10 * DAY);
    const c = await declare('sev3', 'C', T0 - 10 * DAY);
    const d = await declare('sev2', 'D', T0 - 10 * DAY);
    await declare('sev0', 'still open', T0 - DAY);
    await resolve(a, T0 - 5 * DAY);
    await resolve(b, T0 - 2 * DAY);
    await resolve(c, T0 - 9 * DAY);
    await resolve(d, T0 - DAY);
    const since = T0 - 5 * DAY;
    expect((await store.incidents.recentlyResolved(since, 10)).map((i) => i.title)).toEqual(['D', 'B', 'A']); // A exactly at `since`
    expect((await store.incidents.recentlyResolved(since, 2)).map((i) => i.title)).toEqual(['D', 'B']);
    await store.incidents.update(
      b,
      { status: 'investigating', resolvedAt: null },
      { ...BY, action: 'incident.reopened' },
    );
    expect((await store.incidents.recentlyResolved(since, 10)).map((i) => i.title)).toEqual(['D', 'A']);
  });
});

describe('GET /status and /status.json', () => {
  it('empty state: all systems operational', async () => {
    const { status, html } = await page();
    expect(status).toBe(200);
    expect(html).toContain('All systems operational');
    expect(html).toContain('No open incidents.');
    expect(html).toContain('No incidents resolved in the last 7 days.');
    expect(html).toContain('<h1>Acme status</h1>');
    const { body } = await json();
    expect(body).toEqual({ generatedAt: '2026-03-10T12:00:00.000Z', open: [], resolved: [] });
  });

  it('sends the security and caching headers', async () => {
    const { headers } = await page();
    expect(headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(headers.get('cache-control')).toBe('no-store');
    expect(headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    const data = await json();
    expect(data.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(data.headers.get('cache-control')).toBe('no-store');
  });

  it('lists open incidents most severe first, then oldest first, with the worst severity in the headline', async () => {
    await declare('sev2', 'Slow search', T0 - 5 * HOUR);
    await declare('sev1', 'Checkout errors (newer)', T0 - 1 * HOUR);
    await declare('sev0', 'Payments down', T0 - 30 * MINUTE);
    await declare('sev1', 'Checkout errors (older)', T0 - 2 * HOUR);
    await declare('sev3', 'Typo on the login page', T0 - 3 * DAY);

    const { body } = await json();
    expect(body.open.map((i: { title: string }) => i.title)).toEqual([
      'Payments down',
      'Checkout errors (older)',
      'Checkout errors (newer)',
      'Slow search',
      'Typo on the login page',
    ]);
    expect(body.open.map((i: { severity: string }) => i.severity)).toEqual(['sev0', 'sev1', 'sev1', 'sev2', 'sev3']);

    const { html } = await page();
    expect(html).toContain('5 open incidents (worst: SEV0)');
    expect(html).not.toContain('All systems operational');
    const rows = tableBody(html, 'open-heading');
    const order = [
      'Payments down',
      'Checkout errors (older)',
      'Checkout errors (newer)',
      'Slow search',
      'Typo on the login page',
    ].map((t) => rows.indexOf(t));
    expect(order.every((at) => at > -1)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(rows).toContain('<span class="badge sev0">SEV0</span>');
  });

  it('says "1 open incident" in the singular', async () => {
    await declare('sev2', 'Slow search', T0 - HOUR);
    expect((await page()).html).toContain('1 open incident (worst: SEV2)');
  });

  it('shows incidents resolved in the last 7 days (3 days ago yes, 8 days ago no), newest first, with durations', async () => {
    const recent = await declare('sev1', 'Resolved three days ago', T0 - 3 * DAY - 90 * MINUTE);
    await resolve(recent, T0 - 3 * DAY);
    const old = await declare('sev2', 'Resolved eight days ago', T0 - 8 * DAY - HOUR);
    await resolve(old, T0 - 8 * DAY);
    const yesterday = await declare('sev3', 'Resolved yesterday', T0 - DAY - 45 * 1000);
    await resolve(yesterday, T0 - DAY);

    const { body } = await json();
    expect(body.open).toEqual([]);
    expect(body.resolved).toEqual([
      {
        id: `INC-${yesterday}`,
        title: 'Resolved yesterday',
        severity: 'sev3',
        declaredAt: '2026-03-09T11:59:15.000Z',
        resolvedAt: '2026-03-09T12:00:00.000Z',
        durationSeconds: 45,
      },
      {
        id: `INC-${recent}`,
        title: 'Resolved three days ago',
        severity: 'sev1',
        declaredAt: '2026-03-07T10:30:00.000Z',
        resolvedAt: '2026-03-07T12:00:00.000Z',
        durationSeconds: 5400,
      },
    ]);

    const { html } = await page();
    expect(html).toContain('All systems operational');
    const rows = tableBody(html, 'resolved-heading');
    expect(rows).toContain('Resolved three days ago');
    expect(rows).toContain('<time datetime="PT5400S">1h 30m</time>');
    expect(rows).toContain('<time datetime="PT45S">45s</time>');
    expect(rows).toContain('<time datetime="2026-03-07T12:00:00.000Z">2026-03-07 12:00 UTC</time>');
    expect(rows.indexOf('Resolved yesterday')).toBeLessThan(rows.indexOf('Resolved three days ago'));
    expect(html).not.toContain('Resolved eight days ago');
  });

  it('shows the duration so far and the last update of open incidents, as UTC times', async () => {
    const id = await declare('sev1', 'Checkout errors', T0 - 2 * HOUR - 20 * MINUTE);
    await store.incidents.update(
      id,
      { status: 'identified', lastUpdateAt: T0 - 10 * MINUTE },
      { ...BY, action: 'incident.status_update' },
    );
    const { body } = await json();
    expect(body.open[0]).toMatchObject({
      status: 'identified',
      lastUpdateAt: '2026-03-10T11:50:00.000Z',
      durationSeconds: 8400,
    });
    const rows = tableBody((await page()).html, 'open-heading');
    expect(rows).toContain('Identified');
    expect(rows).toContain('<time datetime="2026-03-10T11:50:00.000Z">2026-03-10 11:50 UTC</time>');
    expect(rows).toContain('<time datetime="PT8400S">2h 20m</time>');

    clock.advance(DAY); // the duration so far follows the clock
    expect((await json()).body.open[0].durationSeconds).toBe(8400 + 86_400);
    expect((await page()).html).toContain('<time datetime="PT94800S">1d 2h</time>');
  });

  it('escapes incident text in the HTML and keeps it intact in the JSON', async () => {
    const title = `<script>alert(1)</script> & "quotes" 'too'`;
    const open = await declare('sev0', title, T0 - HOUR);
    const gone = await declare('sev3', '<img src=x onerror=alert(2)>', T0 - DAY);
    await resolve(gone, T0 - HOUR);

    const { html } = await page();
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;too&#39;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');

    const { body } = await json();
    expect(body.open[0]).toMatchObject({ id: `INC-${open}`, title });
    expect(body.resolved[0].title).toBe('<img src=x onerror=alert(2)>');
  });

  it('references nothing outside the page: no URL, script, stylesheet, font or image', async () => {
    await declare('sev1', 'Checkout errors', T0 - HOUR);
    const old = await declare('sev2', 'Slow search', T0 - DAY);
    await resolve(old, T0 - HOUR);
    for (const path of ['/status', '/status?refresh=30']) {
      const { html } = await page(path);
      expect(html).not.toMatch(/https?:\/\//i);
      expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=/i);
    }
  });

  it('is a semantic, accessible page', async () => {
    await declare('sev1', 'Checkout errors', T0 - HOUR);
    const { html } = await page();
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<main>');
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect(html).toContain('<th scope="col">Severity</th>');
    expect(html).toContain('<th scope="row">');
    expect(html).toContain(':focus-visible');
    expect(html).toContain('@media (prefers-color-scheme:dark)');
    expect(html).toContain('<a href="status.json">');
  });

  it('reloads itself only when asked (?refresh=N, kept within 10..3600 seconds)', async () => {
    expect((await page()).html).not.toContain('http-equiv="refresh"');
    expect((await page('/status?refresh=30')).html).toContain('<meta http-equiv="refresh" content="30">');
    expect((await page('/status?refresh=1')).html).toContain('<meta http-equiv="refresh" content="10">');
    expect((await page('/status?refresh=999999')).html).toContain('<meta http-equiv="refresh" content="3600">');
    expect((await page('/status?refresh=soon')).html).not.toContain('http-equiv="refresh"');
  });

  it('/status.json has exactly the documented fields', async () => {
    const openId = await declare('sev2', 'Slow search', T0 - HOUR);
    const doneId = await declare('sev1', 'Checkout errors', T0 - 2 * DAY);
    await resolve(doneId, T0 - DAY);
    const { status, body } = await json();
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['generatedAt', 'open', 'resolved']);
    expect(body.generatedAt).toBe(new Date(T0).toISOString());
    expect(body.open).toEqual([
      {
        id: `INC-${openId}`,
        title: 'Slow search',
        severity: 'sev2',
        status: 'investigating',
        declaredAt: '2026-03-10T11:00:00.000Z',
        lastUpdateAt: '2026-03-10T11:00:00.000Z',
        durationSeconds: 3600,
      },
    ]);
    expect(body.resolved).toEqual([
      {
        id: `INC-${doneId}`,
        title: 'Checkout errors',
        severity: 'sev1',
        declaredAt: '2026-03-08T12:00:00.000Z',
        resolvedAt: '2026-03-09T12:00:00.000Z',
        durationSeconds: 86_400,
      },
    ]);
  });

  it('answers other methods with 405', async () => {
    const response = await fetch(`${base}/status`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(405);
  });
});

describe('statusPage.showTitles', () => {
  let other: Server | undefined;
  afterEach(async () => {
    if (other) await new Promise((done) => other!.close(done));
    other = undefined;
  });

  /** The page and its JSON from a server with the given setting. */
  async function served(showTitles: boolean): Promise<{ html: string; body: any }> {
    other = createHttpServer({
      routes: createStatusRoutes({ store, clock, title: 'Acme', showTitles }),
      isReady: () => true,
      registry: new Registry(),
    });
    await new Promise<void>((done) => other!.listen(0, '127.0.0.1', done));
    const at = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const [html, body] = await Promise.all([
      fetch(`${at}/status`).then((r) => r.text()),
      fetch(`${at}/status.json`).then((r) => r.json()),
    ]);
    return { html, body };
  }

  const TITLES = ['Card data of ACME Corp exposed', '<b>Payments</b> down for @bigcustomer', 'Refunds fail'];

  async function incidents() {
    const open = await declare('sev0', TITLES[0]!, T0 - HOUR);
    const identified = await declare('sev2', TITLES[1]!, T0 - 2 * HOUR);
    await store.incidents.update(
      identified,
      { status: 'identified', lastUpdateAt: T0 - 10 * MINUTE },
      { ...BY, action: 'incident.status_update' },
    );
    const done = await declare('sev1', TITLES[2]!, T0 - 2 * DAY);
    await resolve(done, T0 - DAY);
    return { open, identified, done };
  }

  it('false: ids, severities, statuses and times, never a title or any other text people typed', async () => {
    const { open, identified, done } = await incidents();
    const { html, body } = await served(false);
    for (const text of [...TITLES, 'ACME', 'Payments', 'bigcustomer', 'Refunds']) {
      expect(html).not.toContain(text);
      expect(JSON.stringify(body)).not.toContain(text);
    }
    expect(html).toContain('2 open incidents (worst: SEV0)');
    const openRows = tableBody(html, 'open-heading');
    expect(openRows.indexOf(`INC-${open}`)).toBeLessThan(openRows.indexOf(`INC-${identified}`));
    expect(openRows).toContain('<span class="badge sev0">SEV0</span>');
    expect(openRows).toContain('Identified');
    expect(openRows).toContain('<time datetime="2026-03-10T11:50:00.000Z">2026-03-10 11:50 UTC</time>');
    expect(tableBody(html, 'resolved-heading')).toContain(`INC-${done}`);
    expect(html).toContain('Incident titles are not shown on this page.');
    // The JSON keeps its shape: title is null.
    expect(body.open).toEqual([
      {
        id: `INC-${open}`,
        title: null,
        severity: 'sev0',
        status: 'investigating',
        declaredAt: '2026-03-10T11:00:00.000Z',
        lastUpdateAt: '2026-03-10T11:00:00.000Z',
        durationSeconds: 3600,
      },
      {
        id: `INC-${identified}`,
        title: null,
        severity: 'sev2',
        status: 'identified',
        declaredAt: '2026-03-10T10:00:00.000Z',
        lastUpdateAt: '2026-03-10T11:50:00.000Z',
        durationSeconds: 7200,
      },
    ]);
    expect(body.resolved).toEqual([
      {
        id: `INC-${done}`,
        title: null,
        severity: 'sev1',
        declaredAt: '2026-03-08T12:00:00.000Z',
        resolvedAt: '2026-03-09T12:00:00.000Z',
        durationSeconds: 86_400,
      },
    ]);
  });

  it('true (the default): the titles are shown, escaped in the HTML, intact in the JSON', async () => {
    const { open } = await incidents();
    const { html, body } = await served(true);
    expect(html).toContain(TITLES[0]);
    expect(html).toContain('&lt;b&gt;Payments&lt;/b&gt; down for @bigcustomer');
    expect(html).not.toContain('Incident titles are not shown');
    expect(body.open[0]).toMatchObject({ id: `INC-${open}`, title: TITLES[0] });
    expect(body.resolved[0].title).toBe(TITLES[2]);
    // Without the option (as the suite above is served), the same.
    expect((await page()).html).toContain(TITLES[0]);
  });
});
