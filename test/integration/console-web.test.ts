// The local console's HTTP side without a browser: the page and its assets (strict CSP, nothing
// external), the command API (bad input refused, private answers not posted in the room), live
// updates by server-sent events, and the simulated cluster's health switch.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFirelane, type Firelane } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startFakeSlack } from '../fakes/fake-slack.js';
import { databaseEnv, queryOne } from '../support/test-store.js';

let firelane: Firelane | undefined;
let dir: string | undefined;
afterEach(async () => {
  await firelane?.close(1_000);
  firelane = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}) {
  dir = mkdtempSync(join(tmpdir(), 'firelane-console-'));
  // A fresh machine: HOME without ~/.kube/config, no KUBECONFIG, not in a cluster.
  const config = loadConfig(
    { ...(await databaseEnv(dir, { file: 'db.sqlite' })), LOG_LEVEL: 'silent', HOME: dir, ...env },
    dir,
  );
  firelane = await createFirelane({
    config,
    logger: pino({ level: 'silent' }),
    defaultMetrics: false,
    reminderTicker: false,
    worker: { pollMs: 20 },
  });
  const address = await firelane.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${address.port}`;
}

/** The token the page gets with its state and sends back with every command. */
const tokenOf = async (url: string) =>
  ((await (await fetch(`${url}/api/console/state`)).json()) as { token: string }).token;
/** A POST as the console's own page makes it: JSON, with the page's token. */
const post = async (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-firelane-console': await tokenOf(new URL(url).origin) },
    body: JSON.stringify(body),
  });

describe('the console over HTTP', () => {
  it('serves the page and its assets with a strict CSP and no external references', async () => {
    const url = await start();
    for (const path of ['/', '/console/app.js', '/console/style.css']) {
      const response = await fetch(url + path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      const text = await response.text();
      expect(text, path).not.toMatch(/https?:\/\/(?!adaptivecards)/);
    }
  });

  it('runs commands as the chosen user; refuses bad input; posts only what the channel would see', async () => {
    const url = await start();
    expect((await post(`${url}/api/console/command`, { text: '', user: 'alice' })).status).toBe(400);
    expect((await post(`${url}/api/console/command`, { text: '/incident list', user: '<script>' })).status).toBe(400);
    const before = (await (await fetch(`${url}/api/console/messages?room=incidents`)).json()) as any;

    const listed = (await (
      await post(`${url}/api/console/command`, {
        text: '/incident list',
        user: 'alice',
        room: 'incidents',
        key: 'key-aaaaaaaa',
      })
    ).json()) as any;
    expect(listed.reply.visibility).toBe('private');
    const after = (await (await fetch(`${url}/api/console/messages?room=incidents`)).json()) as any;
    expect(after.messages).toHaveLength(before.messages.length); // a private answer is not posted

    const declared = (await (
      await post(`${url}/api/console/command`, {
        text: '/incident sev2 Search slow',
        user: 'bob',
        room: 'incidents',
        key: 'key-bbbbbbbb',
      })
    ).json()) as any;
    expect(declared).toMatchObject({ outcome: 'ok', reply: { visibility: 'channel' } });
    const room = (await (await fetch(`${url}/api/console/messages?room=incidents`)).json()) as any;
    // The line bob typed, then firelane's answer (the announcement job may post in between).
    const typed = room.messages.findIndex(
      (m: { author: string; body: { text: string } }) =>
        m.author === 'bob' && m.body.text === '/incident sev2 Search slow',
    );
    expect(typed).toBeGreaterThanOrEqual(0);
    expect(
      room.messages
        .slice(typed + 1)
        .some((m: { author: string; body: { text: string } }) => m.author === 'firelane' && /INC-1/.test(m.body.text)),
    ).toBe(true);
    expect(await firelane!.store.incidents.get(1)).toMatchObject({ declaredBy: 'bob', platform: 'console' });
    // The same key again is the same request: no second incident.
    await post(`${url}/api/console/command`, {
      text: '/incident sev2 Search slow',
      user: 'bob',
      room: 'incidents',
      key: 'key-bbbbbbbb',
    });
    expect(await firelane!.store.incidents.listOpen(5)).toHaveLength(1);
    expect((await fetch(`${url}/api/console/messages?room=nope`)).status).toBe(404);
  });

  it('runs a command only in a room firelane made or the console’s own: any other room id is refused, nothing run or created', async () => {
    const url = await start();
    const rooms = async () =>
      ((await (await fetch(`${url}/api/console/state`)).json()) as { rooms: Array<{ id: string }> }).rooms.map(
        (r) => r.id,
      );
    const before = await rooms();
    expect(before).toEqual(['incidents', 'escalations']);
    for (const room of ['nope', 'x'.repeat(15_000), 'INCIDENTS', ' incidents']) {
      const response = await post(`${url}/api/console/command`, {
        text: '/incident sev2 Search slow',
        user: 'bob',
        room,
      });
      expect(response.status, room.slice(0, 20)).toBe(400);
      const { error } = (await response.json()) as { error: string };
      expect(error).toMatch(/^No room of that name: run commands in one of the rooms the console lists/);
      expect(error.length).toBeLessThan(200);
    }
    expect(await rooms()).toEqual(before);
    expect(await firelane!.store.incidents.listOpen(5)).toEqual([]);
    // The console's own rooms and the war rooms firelane opens take commands.
    const run = (room: string, text: string) => post(`${url}/api/console/command`, { text, user: 'bob', room });
    expect((await run('escalations', '/incident sev2 Search slow')).status).toBe(200);
    await vi.waitFor(async () =>
      expect(await firelane!.store.incidents.get(1)).toMatchObject({ roomId: expect.any(String) }),
    );
    const warRoom = (await firelane!.store.incidents.get(1))!.roomId!;
    const listed = (await (await run(warRoom, '/incident list')).json()) as { outcome: string };
    expect(listed.outcome).toBe('ok');
    expect(await rooms()).toEqual([...before, warRoom]);
  });

  it('keeps private answers in the room for whoever ran the command, in the order things happened', async () => {
    const url = await start();
    const run = (user: string, text: string) => post(`${url}/api/console/command`, { text, user, room: 'incidents' });
    const read = async (user?: string) =>
      ((await (await fetch(`${url}/api/console/messages?room=incidents${user ? `&user=${user}` : ''}`)).json()) as any)
        .messages as {
        author: string;
        body: { text: string; visibleTo?: string };
      }[];
    await run('alice', '/incident list');
    await run('bob', '/incident sev2 Search slow');
    await run('alice', '/incident list');
    await run('bob', '/incident lead INC-9 @bob'); // refused: no INC-9; only bob is told

    const alice = await read('alice');
    const declared = alice.findIndex((m) => m.author === 'bob' && m.body.text === '/incident sev2 Search slow');
    const first = alice.findIndex((m) => /No open incidents/.test(m.body.text));
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(declared);
    expect(alice.findIndex((m) => /1 open incident/.test(m.body.text))).toBeGreaterThan(declared);
    const only = (messages: { body: { visibleTo?: string } }[]) =>
      messages.filter((m) => m.body.visibleTo !== undefined);
    expect(only(alice).map((m) => m.body.visibleTo)).toEqual(['alice', 'alice']);
    expect(only(await read('bob'))).toEqual([
      expect.objectContaining({
        author: 'firelane',
        body: expect.objectContaining({ visibleTo: 'bob', text: expect.stringMatching(/INC-9/) }),
      }),
    ]);
    expect(only(await read())).toEqual([]);
    expect((await fetch(`${url}/api/console/messages?room=incidents&user=%3Cscript%3E`)).status).toBe(400);
  });

  it('pushes a room change to open pages by server-sent events', async () => {
    const url = await start();
    const controller = new AbortController();
    const stream = await fetch(`${url}/api/console/events`, { signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = stream.body!.getReader();
    await post(`${url}/api/console/command`, {
      text: '/incident sev1 Payments down',
      user: 'alice',
      room: 'incidents',
    });
    let seen = '';
    const deadline = Date.now() + 5_000;
    while (!/event: room\ndata: .*"room":"inc-1-payments-down"/.test(seen) && Date.now() < deadline) {
      const { value } = await reader.read();
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(seen).toMatch(/event: room\ndata: .*"room":"inc-1-payments-down"/);
  });

  it('on a fresh clone the simulated cluster and the demo services are there, and the console can break a deployment', async () => {
    const url = await start();
    const state = (await (await fetch(`${url}/api/console/state`)).json()) as any;
    expect(state.users).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect(state.simulated.deployments.map((d: { name: string }) => d.name)).toEqual(
      expect.arrayContaining(['payments', 'search', 'web-blue', 'web-green']),
    );
    const flipped = (await (
      await post(`${url}/api/console/simulated/health`, { namespace: 'demo', deployment: 'payments', healthy: false })
    ).json()) as any;
    expect(flipped.deployments.find((d: { name: string }) => d.name === 'payments')).toMatchObject({ healthy: false });
    expect((await post(`${url}/api/console/simulated/health`, { namespace: 'demo' })).status).toBe(400);
  });

  it('with a firelane.yaml, no demo services are invented; its console names are offered', async () => {
    const yamlDir = mkdtempSync(join(tmpdir(), 'firelane-yaml-'));
    const yaml = join(yamlDir, 'firelane.yaml');
    writeFileSync(yaml, 'approvals:\n  production: { approvers: [carol, U0SLACK1] }\n');
    const url = await start({ FIRELANE_CONFIG: yaml });
    const state = (await (await fetch(`${url}/api/console/state`)).json()) as any;
    expect(state.simulated.deployments).toEqual([]);
    // U0SLACK1 is a Slack identity: typed into the console it would match nobody, so it is not offered.
    expect(state.users).toEqual(['alice', 'bob', 'carol']);
    rmSync(yamlDir, { recursive: true, force: true });
  });

  it('a Kubernetes configuration that is there but broken is not "none": nothing is simulated, and a deploy is refused with the reason', async () => {
    const yamlDir = mkdtempSync(join(tmpdir(), 'firelane-yaml-'));
    writeFileSync(
      join(yamlDir, 'firelane.yaml'),
      'services:\n  payments:\n    kubernetes: { namespace: p, deployment: p, container: app, image: registry.example/p }\napprovals:\n  production: { approvers: [bob] }\n',
    );
    const url = await start({ KUBECONFIG: '/nonexistent/kubeconfig', FIRELANE_CONFIG: join(yamlDir, 'firelane.yaml') });
    const state = (await (await fetch(`${url}/api/console/state`)).json()) as any;
    expect(state.simulated ?? null).toBeNull();
    expect(firelane!.clusterProblem).toMatch(/^the kubeconfig cannot be read: /);
    const answer = await firelane!.router.handle({
      text: '/deploy payments v1.1.0',
      actor: { id: 'alice' },
      platform: 'console',
      roomId: 'deploys',
    });
    expect(answer.outcome).toBe('refused');
    expect(answer.reply.text).toMatch(/^firelane cannot deploy or roll back: the kubeconfig cannot be read: /);
    expect(await firelane!.store.deploys.get(1)).toBeUndefined();
    rmSync(yamlDir, { recursive: true, force: true });
  });

  it('with ~/.kube/config in HOME (client-node would find it), the real cluster is used, not the simulation', async () => {
    const home = mkdtempSync(join(tmpdir(), 'firelane-home-'));
    mkdirSync(join(home, '.kube'));
    writeFileSync(
      join(home, '.kube', 'config'),
      'apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "http://127.0.0.1:9" } }]\nusers: [{ name: u, user: {} }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n',
    );
    const yamlDir = mkdtempSync(join(tmpdir(), 'firelane-yaml-'));
    writeFileSync(
      join(yamlDir, 'firelane.yaml'),
      'services:\n  payments:\n    kubernetes: { namespace: p, deployment: p, container: app, image: registry.example/p }\napprovals:\n  production: { approvers: [bob] }\n',
    );
    await start({ HOME: home, FIRELANE_CONFIG: join(yamlDir, 'firelane.yaml') });
    expect(firelane!.simulated).toBeUndefined();
    expect(firelane!.clusterProblem).toBeUndefined();
    rmSync(home, { recursive: true, force: true });
    rmSync(yamlDir, { recursive: true, force: true });
  });

  it('a state-changing request must come from the console’s own page: JSON, its token, its origin; anything else is refused with nothing changed', async () => {
    const url = await start();
    const token = await tokenOf(url);
    const body = JSON.stringify({ text: '/incident sev1 Forged', user: 'bob', room: 'incidents' });
    const refusals: Array<[string, Record<string, string>, string]> = [
      ['no token', { 'content-type': 'application/json' }, body],
      [
        'a wrong token',
        { 'content-type': 'application/json', 'x-firelane-console': `${token.slice(0, -4)}AAAA` },
        body,
      ],
      ['text/plain', { 'content-type': 'text/plain', 'x-firelane-console': token }, body],
      [
        'a form',
        { 'content-type': 'application/x-www-form-urlencoded', 'x-firelane-console': token },
        'text=%2Fincident+sev1+Forged&user=bob',
      ],
      ['no content type', { 'x-firelane-console': token }, body],
      [
        'another origin',
        { 'content-type': 'application/json', 'x-firelane-console': token, origin: 'http://127.0.0.1:1' },
        body,
      ],
      ['an opaque origin', { 'content-type': 'application/json', 'x-firelane-console': token, origin: 'null' }, body],
      [
        'a cross-site fetch',
        { 'content-type': 'application/json', 'x-firelane-console': token, 'sec-fetch-site': 'cross-site' },
        body,
      ],
    ];
    for (const [what, headers, sent] of refusals) {
      const response = await fetch(`${url}/api/console/command`, { method: 'POST', headers, body: sent });
      expect(response.status, what).toBe(403);
      expect(response.headers.get('content-type'), what).toMatch(/^text\/plain/);
      expect(await response.text(), what).toMatch(/^Refused: /);
    }
    const flip = await fetch(`${url}/api/console/simulated/health`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ namespace: 'demo', deployment: 'payments', healthy: false }),
    });
    expect(flip.status).toBe(403);
    expect(firelane!.simulated!.describe().deployments.find((d) => d.name === 'payments')).toMatchObject({
      healthy: true,
    });
    expect(await firelane!.store.incidents.listOpen(5)).toEqual([]);
    expect(await queryOne(firelane!, 'select count(*) n from audit_log')).toEqual({ n: 0 });

    // The page's own origin (and no Origin at all, as from a script) with the token is served.
    const own = await fetch(`${url}/api/console/command`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-firelane-console': token,
        origin: url,
        'sec-fetch-site': 'same-origin',
      },
      body,
    });
    expect(own.status).toBe(200);
    expect(await firelane!.store.incidents.listOpen(5)).toHaveLength(1);
  });

  it('answers only requests for its own address (DNS rebinding): a foreign Host is refused everywhere', async () => {
    const url = await start();
    const port = new URL(url).port;
    const token = await tokenOf(url);
    const raw = (path: string, host: string, method = 'GET', body?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          url + path,
          { method, headers: { host, 'content-type': 'application/json', 'x-firelane-console': token } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    for (const host of [
      'attacker.example',
      `attacker.example:${port}`,
      `localhost.attacker.example:${port}`,
      `127.0.0.1:${Number(port) + 1}`,
    ]) {
      for (const path of [
        '/',
        '/console/app.js',
        '/api/console/state',
        '/api/console/messages?room=incidents&user=alice',
      ])
        expect(await raw(path, host), `${host} ${path}`).toBe(403);
      expect(
        await raw(
          '/api/console/command',
          host,
          'POST',
          JSON.stringify({ text: '/incident sev1 Rebound', user: 'bob' }),
        ),
        host,
      ).toBe(403);
    }
    expect(await firelane!.store.incidents.listOpen(5)).toEqual([]);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`])
      expect(await raw('/api/console/state', host), host).toBe(200);
    // Only the console is its business: probes and the status page answer whatever the Host.
    expect(await raw('/healthz', 'attacker.example')).toBe(200);
  });

  it('with chat credentials and no sign-in set up, the console is read-only and says so; its POSTs refuse', async () => {
    const slack = await startFakeSlack();
    try {
      const url = await start({
        FIRELANE_CONSOLE: '1',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: 'secret',
        SLACK_API_URL: slack.apiUrl,
      });
      expect((await fetch(url + '/')).status).toBe(200);
      const state = (await (await fetch(`${url}/api/console/state`)).json()) as any;
      expect(state.mode).toBe('read-only');
      expect(state.you).toMatchObject({ canAct: false, why: expect.stringMatching(/read-only.*FIRELANE_OIDC_ISSUER/) });
      expect(state.users).toEqual([]);
      const response = await post(`${url}/api/console/command`, {
        text: '/incident sev1 Typed name',
        user: 'alice',
        room: 'incidents',
      });
      expect(response.status).toBe(403);
      expect(await response.text()).toMatch(/read-only/);
      expect(await firelane!.store.incidents.listOpen(5)).toEqual([]);
    } finally {
      await firelane?.close(1_000);
      firelane = undefined;
      await slack.close();
    }
  });

  it('with the console off there is no page (the status page stays)', async () => {
    const url = await start({ FIRELANE_CONSOLE: '0' });
    expect((await fetch(url + '/')).status).toBe(404);
    expect((await fetch(`${url}/api/console/state`)).status).toBe(404);
    expect((await fetch(`${url}/status.json`)).status).toBe(200);
  });
});
