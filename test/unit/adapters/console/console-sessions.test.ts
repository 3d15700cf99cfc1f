// Console sign-in's sessions in the database, on each database: kept under the SHA-256 of their id
// (the raw id is never stored), signed out once expired and pruned, ended by signing out; a login in
// progress is taken once. On PostgreSQL, two replicas (two pools on one database) share them: a
// sign-in started on one and finished on the other holds on both, its page's token is taken by both,
// and signing out on one ends it on the other. On SQLite the second "replica" is a restarted process
// on the same file: the sign-in outlives the restart.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleAuth, SESSION_COOKIE, SESSION_TTL_MS } from '../../../../src/adapters/console/console-auth.js';
import type { RouteHandler } from '../../../../src/adapters/http/server.js';
import { createConsoleGuard, SESSION_SCOPE, TOKEN_HEADER } from '../../../../src/adapters/console/console-guard.js';
import type { SessionStore, StoredSession } from '../../../../src/adapters/console/session-store.js';
import { createSqliteSessionStore } from '../../../../src/adapters/db/session-store.js';
import { createPgSessionStore } from '../../../../src/adapters/postgres/session-store.js';
import { startFakeOidc, type FakeOidc } from '../../../fakes/fake-oidc.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

function sessionStoreOf(t: StoreUnderTest): SessionStore {
  return 'gate' in t.store
    ? createSqliteSessionStore(t.sqliteHandle!, t.store.gate)
    : createPgSessionStore(t.store.handle);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const ID = 'x'.repeat(11) + 'session-id-under-test-0001';
const OTHER = 'y'.repeat(11) + 'session-id-under-test-0002';

const SAM = { sub: 'sam-0001', name: 'Sam', email: 'sam@acme.example', email_verified: true };
const PEOPLE = { sam: { console: 'samc', email: 'sam@acme.example' } };

for (const dialect of dialects()) {
  describe(`console sessions on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    let replicas: StoreUnderTest[];
    let servers: Server[];
    let provider: FakeOidc | undefined;
    beforeEach(async () => {
      t = await dialect.open();
      replicas = [];
      servers = [];
      provider = undefined;
    });
    afterEach(async () => {
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
      await provider?.close();
      for (const replica of replicas) await replica.close();
      await t.close();
    });

    /** Another replica on the same database (PostgreSQL), or the same store again (SQLite: one process). */
    const other = async (): Promise<StoreUnderTest> => {
      if (!t.replica) return t;
      const replica = await t.replica();
      replicas.push(replica);
      return replica;
    };

    const session = (over: Partial<StoredSession> = {}): StoredSession => ({
      name: 'Sam',
      person: 'sam',
      actorId: 'samc',
      matchedBy: 'e-mail',
      createdAt: t.clock.now(),
      expiresAt: t.clock.now() + SESSION_TTL_MS,
      ...over,
    });

    const rows = async () => [
      ...(await t.query('select * from console_sessions')),
      ...(await t.query('select * from console_logins')),
    ];

    it('keeps a session under the SHA-256 of its id, never the id itself, with the person it proved', async () => {
      const sessions = sessionStoreOf(t);
      await sessions.addSession(ID, session());
      await sessions.addSession(
        OTHER,
        session({ person: undefined, actorId: undefined, matchedBy: undefined, why: 'no one' }),
      );
      await sessions.addLogin('login-id-under-test', {
        verifier: 'v',
        state: 's',
        nonce: 'n',
        expiresAt: t.clock.now() + 1,
      });

      expect(await sessions.session(ID, t.clock.now())).toEqual(session());
      expect(await sessions.session(OTHER, t.clock.now())).toEqual({
        name: 'Sam',
        why: 'no one',
        createdAt: t.clock.now(),
        expiresAt: t.clock.now() + SESSION_TTL_MS,
      });
      expect(await sessions.session(sha256(ID), t.clock.now())).toBeUndefined(); // the hash is no cookie
      expect(await sessions.session('A'.repeat(43), t.clock.now())).toBeUndefined();

      const stored = JSON.stringify(await rows());
      for (const id of [ID, OTHER, 'login-id-under-test']) {
        expect(stored).not.toContain(id);
        expect(stored).toContain(sha256(id));
      }
      expect(
        (await t.query('select id_hash from console_sessions order by name, why')).map((r) => r.id_hash).sort(),
      ).toEqual([sha256(ID), sha256(OTHER)].sort());
    });

    it('signs an expired session out, prunes it, and ends a session at sign-out', async () => {
      const sessions = sessionStoreOf(t);
      await sessions.addSession(ID, session());
      t.clock.advance(60_000);
      await sessions.addSession(OTHER, session());
      t.clock.advance(SESSION_TTL_MS - 60_001);
      expect(await sessions.session(ID, t.clock.now())).toBeDefined();
      t.clock.advance(1); // 12 hours to the millisecond
      expect(await sessions.session(ID, t.clock.now())).toBeUndefined();
      expect(await sessions.session(OTHER, t.clock.now())).toBeDefined();

      await sessions.pruneSessions(t.clock.now(), 10);
      expect(await t.query('select id_hash from console_sessions')).toEqual([{ id_hash: sha256(OTHER) }]);
      await sessions.endSession(OTHER);
      await sessions.endSession(OTHER); // twice: nothing
      expect(await sessions.session(OTHER, t.clock.now())).toBeUndefined();
      expect(await rows()).toEqual([]);
    });

    it('keeps at most the newest sessions and logins it is told to', async () => {
      const sessions = sessionStoreOf(t);
      for (let i = 0; i < 5; i++) {
        t.clock.advance(1_000);
        await sessions.addSession(`session-${i}`, session());
        await sessions.addLogin(`login-${i}`, {
          verifier: 'v',
          state: 's',
          nonce: 'n',
          expiresAt: t.clock.now() + 600_000,
        });
      }
      await sessions.pruneSessions(t.clock.now(), 2);
      await sessions.pruneLogins(t.clock.now(), 3);
      const live = async (prefix: string, take: (id: string) => Promise<unknown>) => {
        const found: number[] = [];
        for (let i = 0; i < 5; i++) if (await take(`${prefix}-${i}`)) found.push(i);
        return found;
      };
      expect(await live('session', (id) => sessions.session(id, t.clock.now()))).toEqual([3, 4]);
      expect(await live('login', (id) => sessions.takeLogin(id, t.clock.now()))).toEqual([2, 3, 4]);
    });

    it('gives a login in progress once, and not once expired', async () => {
      const sessions = sessionStoreOf(t);
      const login = { verifier: 'verifier', state: 'state', nonce: 'nonce', expiresAt: t.clock.now() + 600_000 };
      await sessions.addLogin('login-a', login);
      await sessions.addLogin('login-b', login);
      expect(await sessions.takeLogin('login-a', t.clock.now())).toEqual(login);
      expect(await sessions.takeLogin('login-a', t.clock.now())).toBeUndefined();
      t.clock.advance(600_000);
      expect(await sessions.takeLogin('login-b', t.clock.now())).toBeUndefined();
      expect(await rows()).toEqual([]); // taken even when too late
      await sessions.addLogin('login-c', { ...login, expiresAt: t.clock.now() + 1 });
      t.clock.advance(1);
      await sessions.pruneLogins(t.clock.now(), 10);
      expect(await rows()).toEqual([]);
    });

    it.runIf(dialect.name === 'postgres')(
      'shares sessions between replicas: made on one, honoured and ended on the other; a login is taken by one replica only',
      async () => {
        const a = sessionStoreOf(t);
        const b = sessionStoreOf(await other());
        await a.addSession(ID, session());
        expect(await b.session(ID, t.clock.now())).toEqual(session());
        await b.endSession(ID);
        expect(await a.session(ID, t.clock.now())).toBeUndefined();

        const login = { verifier: 'verifier', state: 'state', nonce: 'nonce', expiresAt: t.clock.now() + 600_000 };
        await b.addLogin('login-a', login);
        const taken = await Promise.all([a.takeLogin('login-a', t.clock.now()), b.takeLogin('login-a', t.clock.now())]);
        expect(taken.filter(Boolean)).toEqual([login]);
      },
    );

    /** An HTTP server on loopback serving `routes` (filled in later); its URL. */
    async function listen(routes: Record<string, RouteHandler>): Promise<string> {
      const server = createServer((req, res) => {
        const route = routes[`${req.method} ${(req.url ?? '/').split('?')[0]}`];
        if (!route) return res.writeHead(404).end();
        Promise.resolve(route(req, res)).catch((error: unknown) => res.writeHead(500).end(String(error)));
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    /** One console sign-in replica on a store: its own guard (its own start-up key), its routes, and GET /whoami. */
    function signInRoutes(store: StoreUnderTest, publicUrl: URL): Record<string, RouteHandler> {
      const guard = createConsoleGuard({ publicUrl });
      const auth = createConsoleAuth({
        issuer: provider!.issuer,
        clientId: provider!.clientId,
        clientSecret: provider!.clientSecret,
        publicUrl,
        people: PEOPLE,
        sessions: sessionStoreOf(store),
        guard,
        logger: pino({ level: 'silent' }),
        now: () => t.clock.now(),
      });
      return {
        ...auth.routes,
        'GET /whoami': async (req, res) => {
          const found = await auth.sessionOf(req);
          const body = found
            ? {
                name: found.name,
                person: found.person,
                as: found.actorId,
                token: guard.issueToken(`${SESSION_SCOPE}${found.id}`),
              }
            : { signedOut: true };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        },
      };
    }

    it('a sign-in started on one replica and finished on another holds on both, until signed out on either', async () => {
      // Replica A answers at the public URL; B, on another pool (PostgreSQL) or after a restart (SQLite), elsewhere.
      const routesA: Record<string, RouteHandler> = {};
      const routesB: Record<string, RouteHandler> = {};
      const a = await listen(routesA);
      const b = await listen(routesB);
      provider = await startFakeOidc({ redirectUris: [`${a}/auth/callback`] });
      Object.assign(routesA, signInRoutes(t, new URL(a)));
      Object.assign(routesB, signInRoutes(await other(), new URL(a)));

      provider.signInAs(SAM);
      const login = await fetch(`${a}/auth/login`, { redirect: 'manual' });
      expect(login.status).toBe(302);
      const loginCookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      const loginId = loginCookie.split('=')[1]!;
      const answer = await fetch(login.headers.get('location')!, { redirect: 'manual' });
      const back = new URL(answer.headers.get('location')!);
      expect(back.origin).toBe(a);
      // The callback reaches B: it takes the login A started.
      const callback = await fetch(`${b}${back.pathname}${back.search}`, {
        redirect: 'manual',
        headers: { cookie: loginCookie },
      });
      expect(callback.status).toBe(303);
      const sessionCookie = callback.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
      expect(sessionCookie).toMatch(
        /^firelane_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=\/; Max-Age=43200$/,
      );
      const cookie = sessionCookie.split(';')[0]!;
      const id = cookie.split('=')[1]!;

      // Neither the session id nor the login id is in the database: only their hashes.
      const stored = JSON.stringify(await t.query('select * from console_sessions'));
      expect(stored).toContain(sha256(id));
      expect(stored).not.toContain(id);
      expect(await t.query('select * from console_logins')).toEqual([]); // used once
      expect(JSON.stringify(await t.query('select * from console_sessions'))).not.toContain(loginId);

      const whoami = async (at: string, cookieHeader = cookie) =>
        (await (await fetch(`${at}/whoami`, { headers: { cookie: cookieHeader } })).json()) as Record<string, string>;
      expect(await whoami(a)).toMatchObject({ name: 'Sam', person: 'sam', as: 'samc' });
      expect(await whoami(b)).toMatchObject({ name: 'Sam', person: 'sam', as: 'samc' });
      // A forged cookie, or the hash the database keeps, is nobody.
      expect(await whoami(b, `${SESSION_COOKIE}=${'A'.repeat(43)}`)).toEqual({ signedOut: true });
      expect(await whoami(b, `${SESSION_COOKIE}=${sha256(id)}`)).toEqual({ signedOut: true });

      // The page got its token from A; signing out goes to B, which takes it, and ends the session for A too.
      const { token } = await whoami(a);
      const logout = (at: string, tokenValue: string) =>
        fetch(`${at}/auth/logout`, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/json', [TOKEN_HEADER]: tokenValue },
          body: '{}',
        });
      expect((await logout(b, `${token!.split('.')[0]}.${'A'.repeat(43)}`)).status).toBe(403); // a forged token
      const out = await logout(b, token!);
      expect(out.status).toBe(200);
      expect(out.headers.getSetCookie()).toEqual(['firelane_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0']);
      expect(await whoami(a)).toEqual({ signedOut: true });
      expect(await whoami(b)).toEqual({ signedOut: true });
      expect(await t.query('select * from console_sessions')).toEqual([]);
    });

    it('a session expires after 12 hours on every replica, and the next sign-in prunes it', async () => {
      const sessions = sessionStoreOf(t);
      await sessions.addSession(ID, session());
      const replica = sessionStoreOf(await other());
      t.clock.advance(SESSION_TTL_MS - 1);
      expect(await replica.session(ID, t.clock.now())).toBeDefined();
      t.clock.advance(1);
      expect(await replica.session(ID, t.clock.now())).toBeUndefined();
      expect(await sessions.session(ID, t.clock.now())).toBeUndefined();
      expect(await t.query('select id_hash from console_sessions')).toEqual([{ id_hash: sha256(ID) }]); // ignored, still there
      await replica.pruneSessions(t.clock.now(), 9_999);
      expect(await t.query('select id_hash from console_sessions')).toEqual([]);
    });
  });
}
