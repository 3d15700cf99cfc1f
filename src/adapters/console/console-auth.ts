// Console sign-in with OpenID Connect (authorization code flow with PKCE, state and nonce), through
// openid-client: GET /auth/login sends the browser to the provider, GET /auth/callback exchanges the
// code and has the library verify the ID token (issuer, audience, expiry, nonce, and its signature
// against the provider's JWKS), POST /auth/logout ends the session. The signed-in person is matched to `people`
// (sign-in-person.ts).
//
// Sessions live in the database (session-store.ts), so every replica knows every sign-in and a restart
// signs nobody out: a random 256-bit id in an HttpOnly, SameSite=Lax cookie (Secure behind https)
// names a record, kept under the id's SHA-256, that expires after 12 hours. An unknown, expired or
// forged cookie is simply "signed out". The login in progress (PKCE verifier, state, nonce) is kept
// the same way for 10 minutes under a second cookie, and used once (by whichever replica the
// callback reaches).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { People } from '../../domain/identity.js';
import type { RouteHandler } from '../http/server.js';
import { SESSION_SCOPE, type ConsoleGuard } from './console-guard.js';
import type { SessionStore, StoredSession } from './session-store.js';
import { personOfClaims, type SignedInPerson } from './sign-in-person.js';

export const SESSION_COOKIE = 'firelane_session';
export const LOGIN_COOKIE = 'firelane_login';
export const SESSION_TTL_MS = 12 * 60 * 60_000;
const LOGIN_TTL_MS = 10 * 60_000;
const MAX_SESSIONS = 10_000;
const MAX_LOGINS = 1_000;

export interface ConsoleSession extends StoredSession {
  /** The session's id (from its cookie; the database has only its hash). */
  id: string;
}

export interface ConsoleAuthOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** FIRELANE_PUBLIC_URL: the redirect URI is <publicUrl>/auth/callback. */
  publicUrl: URL;
  people: People;
  /** Where sessions and logins in progress are kept (the database: shared by every replica). */
  sessions: SessionStore;
  guard: ConsoleGuard;
  logger: Logger;
  now?: () => number;
}

export interface ConsoleAuth {
  routes: Record<string, RouteHandler>;
  /** The request's live session, if its cookie names one. */
  sessionOf(req: IncomingMessage): Promise<ConsoleSession | undefined>;
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
/** What randomId makes: 32 bytes in base64url. */
const ID = /^[A-Za-z0-9_-]{43}$/;

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

export function createConsoleAuth(options: ConsoleAuthOptions): ConsoleAuth {
  const { guard, logger, people, sessions } = options;
  const now = options.now ?? Date.now;
  const issuer = new URL(options.issuer);
  const base = options.publicUrl.href.replace(/\/+$/, '');
  const redirectUri = `${base}/auth/callback`;
  const secure = options.publicUrl.protocol === 'https:';

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

  // A cookie that is no id of ours is nobody, without a query.
  const sessionOf = async (req: IncomingMessage): Promise<ConsoleSession | undefined> => {
    const id = cookieOf(req, SESSION_COOKIE);
    if (!id || !ID.test(id)) return undefined;
    const session = await sessions.session(id, now());
    return session && { ...session, id };
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
    const login = {
      verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
      expiresAt: now() + LOGIN_TTL_MS,
    };
    const challenge = await client.calculatePKCECodeChallenge(login.verifier);
    const id = randomId();
    await sessions.pruneLogins(now(), MAX_LOGINS - 1);
    await sessions.addLogin(id, login);
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
    const login = loginId && ID.test(loginId) ? await sessions.takeLogin(loginId, now()) : undefined;
    const clearLogin = cookie(LOGIN_COOKIE, '', 0);
    if (!login) {
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
    if (old && ID.test(old)) await sessions.endSession(old);
    await sessions.pruneSessions(now(), MAX_SESSIONS - 1);
    const actorId = person.person === undefined ? undefined : (people[person.person]!.console ?? person.person);
    const at = now();
    const session: ConsoleSession = {
      ...person,
      id: randomId(),
      createdAt: at,
      expiresAt: at + SESSION_TTL_MS,
      ...(actorId !== undefined && { actorId }),
    };
    const { id: sessionId, ...stored } = session;
    await sessions.addSession(sessionId, stored);
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

  routes['POST /auth/logout'] = async (req, res) => {
    const session = await sessionOf(req);
    const problem = guard.writeProblem(req, session ? `${SESSION_SCOPE}${session.id}` : 'anon');
    req.resume();
    if (problem) return text(res, 403, `Refused: ${problem}.`);
    if (session) await sessions.endSession(session.id);
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
