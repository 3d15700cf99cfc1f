// Console sign-in with OpenID Connect, end to end over HTTP: the real firelane app (Slack configured,
// FIRELANE_CONSOLE=1, FIRELANE_OIDC_*) with the real openid-client against a loopback provider
// (test/fakes/fake-oidc.ts: discovery, JWKS, code with PKCE, signed ID tokens), driven by a
// cookie-following fetch sequence as a browser would follow the redirects. A signed-in person acts
// as that person everywhere (platform `oidc` in the audit log): their approval counts for an approver
// entry naming them, and they cannot approve what they asked for in Slack. Unsigned requests,
// forged or stale session cookies, someone matching no person, and broken callbacks act on nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createFirelane, type Firelane } from '../../src/app.js';
import { startFakeOidc, type FakeOidc } from '../fakes/fake-oidc.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';
import { SIGNING_SECRET, testConfig } from '../support/harness.js';
import { databaseEnv, queryDatabase } from '../support/test-store.js';
import { freePort } from '../support/process.js';
import { signedHeaders } from '../support/slack-signing.js';
import { CHANNEL, IMAGE, PAYMENTS, deployYaml } from './deploy-config.js';

const YAML = `${deployYaml(['lee', 'sam'])}people:
  lee: { slack: U0LEE, email: lee@acme.example }
  sam: { slack: U0SAM, console: sam, email: sam@acme.example }
`;
const LEE = { sub: 'lee-0001', name: 'Lee', 'https://slack.com/user_id': 'U0LEE' };
const SAM = { sub: 'sam-0001', name: 'Sam', email: 'Sam@Acme.example', email_verified: true };

let provider: FakeOidc | undefined;
let slack: FakeSlack | undefined;
let firelane: Firelane | undefined;
let dir: string | undefined;
let url = '';
afterEach(async () => {
  await firelane?.close(1_000);
  await slack?.close();
  await provider?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  firelane = slack = provider = dir = undefined;
});

/** firelane with Slack, the console forced on and sign-in through the fake provider; `publicUrl` defaults to where it listens. */
async function start(publicUrl?: string) {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const base = publicUrl ?? url;
  provider = await startFakeOidc({ redirectUris: [`${base}/auth/callback`] });
  slack = await startFakeSlack({
    channels: [
      { id: 'C0INCIDENTS', name: 'incidents' },
      { id: CHANNEL, name: 'general' },
    ],
  });
  dir = mkdtempSync(join(tmpdir(), 'firelane-oidc-'));
  const env = {
    ...(await databaseEnv(dir)),
    FIRELANE_CONSOLE: '1',
    FIRELANE_OIDC_ISSUER: provider.issuer,
    FIRELANE_OIDC_CLIENT_ID: provider.clientId,
    FIRELANE_OIDC_CLIENT_SECRET: provider.clientSecret,
    FIRELANE_PUBLIC_URL: base,
  };
  const config = testConfig(dir, slack.apiUrl, { configYaml: YAML, env });
  const cluster = createMemoryCluster({ rolloutPolls: 2 });
  cluster.addDeployment({
    ...PAYMENTS,
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
    slackClientOptions: { retryConfig: { retries: 0 } },
    worker: { pollMs: 20, baseDelayMs: 5, maxDelayMs: 50 },
    deploy: { pollIntervalMs: 5 },
  });
  await firelane.listen(port, '127.0.0.1');
}

/** A browser's cookies for firelane's origin. */
function cookieJar() {
  const cookies = new Map<string, string>();
  const setCookies: string[] = [];
  return {
    cookies,
    setCookies,
    header: () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    take(response: Response) {
      for (const line of response.headers.getSetCookie()) {
        setCookies.push(line);
        const [pair] = line.split(';');
        const at = pair!.indexOf('=');
        const [name, value] = [pair!.slice(0, at), pair!.slice(at + 1)];
        if (/;\s*Max-Age=0(;|$)/i.test(line)) cookies.delete(name);
        else cookies.set(name, value);
      }
    },
  };
}
type Jar = ReturnType<typeof cookieJar>;

/** GET /auth/login, the provider's authorization endpoint, then the callback, as a browser follows them. Returns the callback's response. */
async function signIn(
  claims: Record<string, unknown> | null,
  jar: Jar = cookieJar(),
  rewrite: (back: URL) => string = (back) => back.href,
): Promise<{ jar: Jar; callback: Response; back: URL }> {
  provider!.signInAs(claims);
  const login = await fetch(`${url}/auth/login`, { redirect: 'manual', headers: { cookie: jar.header() } });
  expect(login.status).toBe(302);
  jar.take(login);
  const authorize = new URL(login.headers.get('location')!);
  expect(authorize.origin).toBe(provider!.issuer);
  const answer = await fetch(authorize, { redirect: 'manual' });
  expect(answer.status).toBe(302);
  const back = new URL(answer.headers.get('location')!);
  const callback = await fetch(rewrite(back), { redirect: 'manual', headers: { cookie: jar.header() } });
  jar.take(callback);
  return { jar, callback, back };
}

async function stateOf(jar?: Jar): Promise<any> {
  return (await fetch(`${url}/api/console/state`, { headers: jar ? { cookie: jar.header() } : {} })).json();
}

/** A command from the console's page: JSON, the page's token, its origin, its cookies. */
async function act(jar: Jar | undefined, text: string, token?: string): Promise<Response> {
  const headers = {
    'content-type': 'application/json',
    'x-firelane-console': token ?? (await stateOf(jar)).token,
    origin: url,
    ...(jar && { cookie: jar.header() }),
  };
  return fetch(`${url}/api/console/command`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ text, room: 'incidents', user: 'sam' }),
  });
}

/** lee asks for a deploy in Slack (a signed slash command), and its card is posted. */
async function leeRequestsInSlack(): Promise<void> {
  const form = new URLSearchParams({
    team_id: 'T0001',
    channel_id: CHANNEL,
    channel_name: 'general',
    user_id: 'U0LEE',
    user_name: 'lee',
    command: '/deploy',
    text: 'payments v2.1.1',
    api_app_id: 'A0FIRELANE',
    response_url: slack!.responseUrl('deploy'),
    trigger_id: 'trigger-1',
  }).toString();
  const response = await fetch(`${url}/slack/events`, {
    method: 'POST',
    headers: signedHeaders(SIGNING_SECRET, form),
    body: form,
  });
  expect(response.status).toBe(200);
  await expect
    .poll(async () => (await firelane!.store.deploys.get(1))?.cardRef ?? null, { timeout: 10_000 })
    .not.toBeNull();
}

const auditRows = (action: string) =>
  queryDatabase(firelane!, 'select actor, platform from audit_log where action = ? order by seq', [action]);
const pending = async () =>
  expect(await firelane!.store.deploys.get(1)).toMatchObject({ status: 'pending', approvals: [] });

describe('console sign-in (OpenID Connect)', () => {
  it('signs a person in with PKCE, state and nonce; they act as that person: self-approval refused across identities, their approval counts, the audit says oidc', async () => {
    await start();
    expect(await stateOf()).toMatchObject({
      mode: 'sign-in',
      users: [],
      you: { signedIn: false, canAct: false, signIn: '/auth/login' },
    });
    await leeRequestsInSlack();

    // lee signs in: matched by the Slack user id claim.
    const lee = await signIn(LEE);
    expect(lee.callback.status).toBe(303);
    expect(lee.callback.headers.get('location')).toBe(`${url}/`);
    const session = lee.jar.setCookies.find((c) => c.startsWith('firelane_session=') && !/Max-Age=0/.test(c))!;
    expect(session).toMatch(/^firelane_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=\/; Max-Age=43200$/);
    expect(lee.jar.cookies.has('firelane_login')).toBe(false); // used once, cleared
    const asked = provider!.authorizations[0]!;
    expect(asked).toMatchObject({
      response_type: 'code',
      client_id: provider!.clientId,
      redirect_uri: `${url}/auth/callback`,
      code_challenge_method: 'S256',
      scope: 'openid email profile',
    });
    expect(asked.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(asked.state).toBeTruthy();
    expect(asked.nonce).toBeTruthy();
    expect(provider!.tokenRequests).toEqual([{ status: 200, auth: 'basic' }]);
    expect((await stateOf(lee.jar)).you).toEqual({
      signedIn: true,
      name: 'Lee',
      person: 'lee',
      as: 'lee',
      canAct: true,
      signOut: '/auth/logout',
    });

    // lee asked in Slack; in the console he is the same person, so he may not approve.
    const own = await act(lee.jar, '/deploy approve REQ-1');
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({
      outcome: 'refused',
      reply: { text: expect.stringMatching(/You asked for REQ-1, so someone else must approve it/) },
    });
    await pending();

    // sam signs in (matched by verified e-mail, case aside) and approves: the entry `sam` names him.
    const sam = await signIn(SAM);
    expect(sam.callback.status).toBe(303);
    expect((await stateOf(sam.jar)).you).toMatchObject({ signedIn: true, person: 'sam', as: 'sam', canAct: true });
    const approved = await act(sam.jar, '/deploy approve REQ-1');
    expect(await approved.json()).toMatchObject({
      outcome: 'ok',
      reply: { text: expect.stringMatching(/You approved REQ-1/) },
    });
    expect(await firelane!.store.deploys.get(1)).toMatchObject({
      approvals: [{ by: 'sam', via: 'console', person: 'sam' }],
    });
    expect(await auditRows('deploy.requested')).toEqual([{ actor: 'U0LEE', platform: 'slack' }]);
    expect(await auditRows('deploy.approved')).toEqual([{ actor: 'sam', platform: 'oidc' }]);
    // The Slack card names who approved, and where.
    await expect
      .poll(() => JSON.stringify(slack!.callsTo('chat.update').map((c) => c.params)), { timeout: 10_000 })
      .toMatch(/approved by sam \(console\)/);
    // sam's private answer is his alone; a typed ?user= changes nothing outside local mode.
    const messages = async (jar?: Jar, user = '') =>
      (
        (await (
          await fetch(`${url}/api/console/messages?room=incidents${user}`, {
            headers: jar ? { cookie: jar.header() } : {},
          })
        ).json()) as any
      ).messages;
    expect((await messages(sam.jar)).map((m: any) => m.body.visibleTo)).toContain('sam');
    expect(await messages(undefined, '&user=sam')).toEqual([]);
  });

  it('unsigned requests and forged or stolen-token requests are refused with nothing changed', async () => {
    await start();
    await leeRequestsInSlack();
    const refused = async (response: Response, pattern: RegExp) => {
      expect(response.status).toBe(403);
      expect(await response.text()).toMatch(pattern);
    };
    // No cookie at all, with the token a signed-out page gets.
    await refused(await act(undefined, '/deploy approve REQ-1'), /Sign in to act/);
    // A forged session cookie is nobody: the page it gets is signed out, and cannot act.
    const forged = cookieJar();
    forged.cookies.set('firelane_session', 'A'.repeat(43));
    expect((await stateOf(forged)).you).toMatchObject({ signedIn: false, canAct: false });
    await refused(await act(forged, '/deploy approve REQ-1'), /Sign in to act/);

    const sam = await signIn(SAM);
    const samToken = (await stateOf(sam.jar)).token as string;
    // sam's page token with a forged cookie, or a one-character change of sam's cookie: signed out.
    await refused(await act(forged, '/deploy approve REQ-1', samToken), /token/);
    const altered = cookieJar();
    const id = sam.jar.cookies.get('firelane_session')!;
    altered.cookies.set('firelane_session', `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`);
    expect((await stateOf(altered)).you.signedIn).toBe(false);
    // sam's cookie with a token that is not his page's (a signed-out page's, or none): refused.
    await refused(await act(sam.jar, '/deploy approve REQ-1', (await stateOf()).token), /token/);
    await refused(
      await fetch(`${url}/api/console/command`, {
        method: 'POST',
        headers: { cookie: sam.jar.header(), 'content-type': 'application/json' },
        body: JSON.stringify({ text: '/deploy approve REQ-1' }),
      }),
      /token/,
    );
    // sam's cookie and token, but sent by another origin or as a form: refused.
    await refused(
      await fetch(`${url}/api/console/command`, {
        method: 'POST',
        headers: {
          cookie: sam.jar.header(),
          'content-type': 'application/json',
          'x-firelane-console': samToken,
          origin: 'http://127.0.0.1:1',
        },
        body: JSON.stringify({ text: '/deploy approve REQ-1' }),
      }),
      /another origin/,
    );
    await refused(
      await fetch(`${url}/api/console/command`, {
        method: 'POST',
        headers: {
          cookie: sam.jar.header(),
          'content-type': 'application/x-www-form-urlencoded',
          'x-firelane-console': samToken,
        },
        body: 'text=%2Fdeploy+approve+REQ-1',
      }),
      /application\/json/,
    );
    await pending();
    expect(await auditRows('deploy.approved')).toEqual([]);
    expect(await auditRows('deploy.approval')).toEqual([]);
  });

  it('someone who matches no person may sign in, but reads only, and is told why', async () => {
    await start();
    await leeRequestsInSlack();
    const stranger = await signIn({
      sub: 'kim-0001',
      name: 'Kim',
      email: 'kim@elsewhere.example',
      email_verified: true,
    });
    expect(stranger.callback.status).toBe(303);
    const you = (await stateOf(stranger.jar)).you;
    expect(you).toMatchObject({
      signedIn: true,
      name: 'Kim',
      canAct: false,
      why: expect.stringMatching(
        /no one under people .* e-mail kim@elsewhere\.example: you can read this console, not act in it/,
      ),
    });
    const response = await act(stranger.jar, '/deploy approve REQ-1');
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/not act in it/);
    // sam's address, but not verified by the provider: not sam.
    const unverified = await signIn({ ...SAM, email_verified: false });
    expect((await stateOf(unverified.jar)).you).toMatchObject({
      canAct: false,
      why: expect.stringMatching(/not verified by the provider/),
    });
    expect((await act(unverified.jar, '/deploy approve REQ-1')).status).toBe(403);
    await pending();
  });

  it('claims with control characters: the name is kept without them', async () => {
    await start();
    const kim = await signIn({ sub: 'kim-0002', name: 'Kim\u0000 \u001b[1mAdmin', email: 'kim@elsewhere.example' });
    expect(kim.callback.status).toBe(303);
    expect((await stateOf(kim.jar)).you).toMatchObject({ signedIn: true, name: 'Kim [1mAdmin', canAct: false });
  });

  it('signing out ends the session: from the page only, the cookie cleared, the old cookie no longer acts', async () => {
    await start();
    await leeRequestsInSlack();
    const sam = await signIn(SAM);
    const old = sam.jar.header();
    const token = (await stateOf(sam.jar)).token as string;
    const logout = (headers: Record<string, string>) =>
      fetch(`${url}/auth/logout`, { method: 'POST', headers: { cookie: old, ...headers }, body: '{}' });
    expect((await logout({ 'content-type': 'application/json' })).status).toBe(403);
    expect(
      (await logout({ 'content-type': 'application/json', 'x-firelane-console': token, origin: 'http://127.0.0.1:1' }))
        .status,
    ).toBe(403);
    expect((await stateOf(sam.jar)).you.signedIn).toBe(true);
    const out = await logout({ 'content-type': 'application/json', 'x-firelane-console': token, origin: url });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie()).toEqual(['firelane_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0']);
    const after = await fetch(`${url}/api/console/state`, { headers: { cookie: old } });
    expect(((await after.json()) as any).you).toMatchObject({ signedIn: false, canAct: false });
    const response = await fetch(`${url}/api/console/command`, {
      method: 'POST',
      headers: { cookie: old, 'content-type': 'application/json', 'x-firelane-console': token },
      body: JSON.stringify({ text: '/deploy approve REQ-1' }),
    });
    expect(response.status).toBe(403);
    await pending();
  });

  it('a callback not started here, replayed, with another state, a forged ID token or a refusal makes no session', async () => {
    await start();
    const noSession = (jar: Jar) => expect(jar.cookies.has('firelane_session')).toBe(false);

    // Straight to the callback with someone else's code: no login in progress here.
    const elsewhere = await signIn(SAM);
    const fresh = cookieJar();
    const direct = await fetch(elsewhere.back, { redirect: 'manual' });
    fresh.take(direct);
    expect(direct.status).toBe(400);
    expect(await direct.text()).toMatch(/^Sign-in failed: this sign-in was not started here/);
    noSession(fresh);

    // The same callback twice: the login was used up by the first.
    const once = await signIn(SAM);
    expect(once.callback.status).toBe(303);
    const again = await fetch(once.back, {
      redirect: 'manual',
      headers: {
        cookie: `firelane_login=${once.jar.setCookies.find((c) => c.startsWith('firelane_login=') && !/Max-Age=0/.test(c))!.split(/[=;]/)[1]}`,
      },
    });
    expect(again.status).toBe(400);

    // Another state than the one sent (a login CSRF), a forged ID token, the user declining.
    const swapped = await signIn(SAM, cookieJar(), (back) => {
      back.searchParams.set('state', 'not-the-state');
      return back.href;
    });
    expect(swapped.callback.status).toBe(400);
    noSession(swapped.jar);
    for (const forgery of ['other-key', 'other-audience', 'other-nonce', 'expired'] as const) {
      provider!.forge(forgery);
      const forged = await signIn(SAM);
      expect(forged.callback.status, forgery).toBe(400);
      expect(await forged.callback.text(), forgery).toMatch(/^Sign-in failed: /);
      noSession(forged.jar);
    }
    const declined = await signIn(null);
    expect(declined.callback.status).toBe(400);
    noSession(declined.jar);
  });

  it('behind https the session cookie is Secure and the redirects use the public URL', async () => {
    await start('https://firelane.acme.test');
    // The provider sends the browser to the public URL; here that proxy is the test, which passes it on.
    const sam = await signIn(SAM, cookieJar(), (back) => {
      expect(back.origin).toBe('https://firelane.acme.test');
      return `${url}${back.pathname}${back.search}`;
    });
    expect(provider!.authorizations[0]!.redirect_uri).toBe('https://firelane.acme.test/auth/callback');
    expect(sam.callback.status).toBe(303);
    expect(sam.callback.headers.get('location')).toBe('https://firelane.acme.test/');
    expect(sam.jar.setCookies.filter((c) => c.startsWith('firelane_session='))).toEqual([
      expect.stringMatching(/; HttpOnly; SameSite=Lax; Path=\/; Max-Age=43200; Secure$/),
    ]);
    expect(sam.jar.setCookies.filter((c) => c.startsWith('firelane_login=')).every((c) => c.endsWith('; Secure'))).toBe(
      true,
    );
  });
});
