// Console sign-in with OpenID Connect (authorization code flow with PKCE, state and nonce), through
// openid-client: GET /auth/login sends the browser to the provider, GET /auth/callback exchanges the
// code and has the library verify the ID token (issuer, audience, expiry, nonce, and its signature
// against the provider's JWKS), POST /auth/logout ends the session. The signed-in person is matched to `people`
// (sign-in-person.ts).
//
// Sessions live in this process's memory: a random 256-bit id in an HttpOnly, SameSite=Lax cookie
// (Secure behind https) names a server-side record that expires after 12 hours. A restart signs
// everyone out, which a console can afford; SQLite serves one process anyway (the serve lock), and
// sessions shared by PostgreSQL replicas come with them. An unknown, expired or forged cookie is
// simply "signed out". The login in progress (PKCE verifier, state, nonce) is kept the same way for
// 10 minutes under a second cookie, and used once.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { People } from '../../domain/identity.js';
import type { RouteHandler } from '../http/server.js';
import type { ConsoleGuard } from './console-guard.js';
import { personOfClaims, type SignedInPerson } from './sign-in-person.js';

export const SESSION_COOKIE = 'firelane_session';
export const LOGIN_COOKIE = 'firelane_login';
export const SESSION_TTL_MS = 12 * 60 * 60_000;
const LOGIN_TTL_MS = 10 * 60_000;
const MAX_SESSIONS = 10_000;
const MAX_LOGINS = 1_000;

export interface ConsoleSession extends SignedInPerson {
  id: string;
  expiresAt: number;
  /** The console name the person acts under: people.<p>.console, else their key. */
  actorId?: string;
}

interface PendingLogin {
  verifier: string;
  state: string;
  nonce: string;
  expiresAt: number;
}

export interface ConsoleAuthOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** FIRELANE_PUBLIC_URL: the redirect URI is <publicUrl>/auth/callback. */
  publicUrl: URL;
  people: People;
  guard: ConsoleGuard;
  logger: Logger;
  now?: () => number;
}

export interface ConsoleAuth {
  routes: Record<string, RouteHandler>;
  /** The request's live session, if its cookie names one. */
  sessionOf(req: IncomingMessage): ConsoleSession | undefined;
}

/** The value of one cookie of the request (the first, if sent twice). */
export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

const randomId = () => randomBytes(32).toString('base64url');

function text(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string | string[]> = {},
): void {
  res
    .writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers })
    .end(`${body}\n`);
}

/** Keeps a map under `max` entries: expired ones first, then the oldest. */
function prune<T extends { expiresAt: number }>(map: Map<string, T>, now: number, max: number): void {
  for (const [key, value] of map) if (value.expiresAt <= now) map.delete(key);
  for (const key of map.keys()) {
    if (map.size < max) break;
    map.delete(key);
  }
}

export function createConsoleAuth(options: ConsoleAuthOptions): ConsoleAuth {
  const { guard, logger, people } = options;
  const now = options.now ?? Date.now;
  const issuer = new URL(options.issuer);
  const base = options.publicUrl.href.replace(/\/+$/, '');
  const redirectUri = `${base}/auth/callback`;
  const secure = options.publicUrl.protocol === 'https:';
  const sessions = new Map<string, ConsoleSession>();
  const logins = new Map<string, PendingLogin>();

  const cookie = (name: string, value: string, maxAgeSeconds: number) =>
    `${name}=${value}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;

  // Discovered on first use, so that start-up does not wait for (or fail on) the provider; a failed
  // discovery is tried again at the next sign-in.
  let discovered: Promise<client.Configuration> | undefined;
  const configuration = () =>
    (discovered ??= (async () => {
      const insecure = issuer.protocol === 'http:'; // loopback only: env.ts refuses http elsewhere
      const found = await client.discovery(
        issuer,
        options.clientId,
        options.clientSecret,
        undefined,
        insecure ? { execute: [client.allowInsecureRequests] } : undefined,
      );
      // The provider's token endpoint authentication: HTTP Basic (OpenID Connect's default) when it
      // takes it or does not say, else the secret in the form body.
      const methods = found.serverMetadata().token_endpoint_auth_methods_supported;
      const auth =
        !methods || methods.includes('client_secret_basic')
          ? client.ClientSecretBasic(options.clientSecret)
          : client.ClientSecretPost(options.clientSecret);
      const config = new client.Configuration(found.serverMetadata(), options.clientId, options.clientSecret, auth);
      if (insecure) client.allowInsecureRequests(config);
      // The ID token's signature is verified against the provider's JWKS as well: by default
      // openid-client trusts a token that came straight from the token endpoint over TLS.
      client.enableNonRepudiationChecks(config);
      return config;
    })().catch((error: unknown) => {
      discovered = undefined;
      throw error;
    }));

  const sessionOf = (req: IncomingMessage): ConsoleSession | undefined => {
    const id = cookieOf(req, SESSION_COOKIE);
    const session = id ? sessions.get(id) : undefined;
    if (!session) return undefined;
    if (session.expiresAt <= now()) {
      sessions.delete(session.id);
      return undefined;
    }
    return session;
  };

  const routes: Record<string, RouteHandler> = {};

  routes['GET /auth/login'] = async (_req, res) => {
    let config: client.Configuration;
    try {
      config = await configuration();
    } catch (error) {
      logger.warn({ err: error, issuer: issuer.href }, 'console sign-in: the OpenID provider cannot be reached');
      return text(
        res,
        502,
        `Sign-in is not available: the OpenID provider ${issuer.origin} cannot be reached. Try again in a moment.`,
      );
    }
    const login: PendingLogin = {
      verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
      expiresAt: now() + LOGIN_TTL_MS,
    };
    const challenge = await client.calculatePKCECodeChallenge(login.verifier);
    const id = randomId();
    prune(logins, now(), MAX_LOGINS);
    logins.set(id, login);
    const to = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    res
      .writeHead(302, {
        location: to.href,
        'cache-control': 'no-store',
        'set-cookie': cookie(LOGIN_COOKIE, id, LOGIN_TTL_MS / 1000),
      })
      .end();
  };

  routes['GET /auth/callback'] = async (req, res) => {
    const loginId = cookieOf(req, LOGIN_COOKIE);
    const login = loginId ? logins.get(loginId) : undefined;
    if (loginId) logins.delete(loginId);
    const clearLogin = cookie(LOGIN_COOKIE, '', 0);
    if (!login || login.expiresAt <= now()) {
      return text(
        res,
        400,
        'Sign-in failed: this sign-in was not started here or took too long. Start again at /auth/login.',
        { 'set-cookie': clearLogin },
      );
    }
    let person: SignedInPerson;
    try {
      const config = await configuration();
      const search = new URL(req.url ?? '/', 'http://callback').search;
      const tokens = await client.authorizationCodeGrant(config, new URL(`${redirectUri}${search}`), {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      person = personOfClaims(tokens.claims() ?? {}, people, issuer);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ reason }, 'console sign-in failed');
      return text(res, 400, `Sign-in failed: ${reason.slice(0, 200)}. Start again at /auth/login.`, {
        'set-cookie': clearLogin,
      });
    }
    // A new session id at every sign-in (none is ever carried over), and the old one ends.
    const old = cookieOf(req, SESSION_COOKIE);
    if (old) sessions.delete(old);
    prune(sessions, now(), MAX_SESSIONS);
    const actorId = person.person === undefined ? undefined : (people[person.person]!.console ?? person.person);
    const session: ConsoleSession = {
      ...person,
      id: randomId(),
      expiresAt: now() + SESSION_TTL_MS,
      ...(actorId !== undefined && { actorId }),
    };
    sessions.set(session.id, session);
    logger.info(
      { person: session.person ?? null, matchedBy: session.matchedBy ?? null },
      session.person ? 'console sign-in' : 'console sign-in matching no person (read-only)',
    );
    res
      .writeHead(303, {
        location: `${base}/`,
        'cache-control': 'no-store',
        'set-cookie': [clearLogin, cookie(SESSION_COOKIE, session.id, SESSION_TTL_MS / 1000)],
      })
      .end();
  };

  routes['POST /auth/logout'] = (req, res) => {
    const session = sessionOf(req);
    const problem = guard.writeProblem(req, session ? `session:${session.id}` : 'anon');
    req.resume();
    if (problem) return text(res, 403, `Refused: ${problem}.`);
    if (session) sessions.delete(session.id);
    res
      .writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'set-cookie': cookie(SESSION_COOKIE, '', 0),
      })
      .end(JSON.stringify({ signedOut: true }));
  };

  return { routes, sessionOf };
}
