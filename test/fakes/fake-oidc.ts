// A loopback OpenID Connect provider for the console sign-in tests: the discovery document, a JWKS
// with an RS256 key generated here, an authorization endpoint that signs in whoever the test says
// (`signInAs`) and redirects back with a code, and a token endpoint that checks the client secret
// (HTTP Basic or in the form), the redirect URI and the PKCE verifier (S256) before it returns a
// signed ID token carrying the nonce. Codes are single-use and expire after a minute. `forge` makes
// the next ID token wrong in one way, to see the client refuse it.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface FakeOidcOptions {
  clientId?: string;
  clientSecret?: string;
  /** The redirect URIs registered for the client. */
  redirectUris: string[];
}

/** What the next ID token gets wrong. */
export type Forgery = 'other-key' | 'other-audience' | 'other-issuer' | 'other-nonce' | 'expired';

export interface TokenRequest {
  status: number;
  auth: 'basic' | 'post' | 'none';
  error?: string;
}

export interface FakeOidc {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The claims the next sign-in carries (sub is required); null: the user declines (error=access_denied). */
  signInAs(claims: Record<string, unknown> | null): void;
  forge(what: Forgery | undefined): void;
  /** Every authorization request's query, in order. */
  authorizations: Array<Record<string, string>>;
  tokenRequests: TokenRequest[];
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string | undefined;
  claims: Record<string, unknown>;
  expiresAt: number;
}

const b64url = (buffer: Buffer) => buffer.toString('base64url');

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

export async function startFakeOidc(options: FakeOidcOptions): Promise<FakeOidc> {
  const clientId = options.clientId ?? 'firelane-console';
  const clientSecret = options.clientSecret ?? 'fake-oidc-client-secret';
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'fake-key-1', alg: 'RS256', use: 'sig' };
  const grants = new Map<string, Grant>();
  let next: Record<string, unknown> | null = null;
  let forgery: Forgery | undefined;
  const authorizations: Array<Record<string, string>> = [];
  const tokenRequests: TokenRequest[] = [];
  let issuer = '';

  async function idToken(grant: Grant): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const what = forgery;
    forgery = undefined;
    const key: CryptoKey = what === 'other-key' ? other.privateKey : privateKey;
    return new SignJWT({
      ...grant.claims,
      ...(grant.nonce !== undefined && { nonce: what === 'other-nonce' ? 'not-the-nonce' : grant.nonce }),
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'fake-key-1', typ: 'JWT' })
      .setIssuer(what === 'other-issuer' ? 'https://idp.attacker.example' : issuer)
      .setAudience(what === 'other-audience' ? 'someone-else' : grant.clientId)
      .setSubject(String(grant.claims.sub))
      .setIssuedAt(what === 'expired' ? now - 7200 : now)
      .setExpirationTime(what === 'expired' ? now - 3600 : now + 300)
      .sign(key);
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    let auth: TokenRequest['auth'] = 'none';
    let id: string | null = null;
    let secret: string | null = null;
    if (basic) {
      const [user, pass] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      auth = 'basic';
      id = decodeURIComponent(user ?? '');
      secret = decodeURIComponent(pass ?? '');
    } else if (form.has('client_secret')) {
      auth = 'post';
      id = form.get('client_id');
      secret = form.get('client_secret');
    }
    const fail = (status: number, error: string, description: string) => {
      tokenRequests.push({ status, auth, error });
      json(res, status, { error, error_description: description });
    };
    if (id !== clientId || secret !== clientSecret)
      return fail(401, 'invalid_client', 'unknown client or wrong secret');
    if (form.get('grant_type') !== 'authorization_code')
      return fail(400, 'unsupported_grant_type', 'only authorization_code');
    const code = form.get('code') ?? '';
    const grant = grants.get(code);
    grants.delete(code);
    if (!grant || grant.expiresAt < Date.now() || grant.clientId !== id)
      return fail(400, 'invalid_grant', 'unknown, used or expired code');
    if (form.get('redirect_uri') !== grant.redirectUri)
      return fail(400, 'invalid_grant', 'redirect_uri differs from the authorization request');
    const verifier = form.get('code_verifier') ?? '';
    if (b64url(createHash('sha256').update(verifier).digest()) !== grant.challenge)
      return fail(400, 'invalid_grant', 'PKCE verifier does not match the challenge');
    tokenRequests.push({ status: 200, auth });
    json(res, 200, {
      access_token: b64url(randomBytes(24)),
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'openid email profile',
      id_token: await idToken(grant),
    });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        scopes_supported: ['openid', 'email', 'profile'],
        claims_supported: ['sub', 'name', 'email', 'email_verified', 'https://slack.com/user_id'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const query = Object.fromEntries(url.searchParams);
      authorizations.push(query);
      const redirect = query.redirect_uri ?? '';
      // Like a real provider: an unknown client or redirect URI is an error page, never a redirect.
      if (query.client_id !== clientId || !options.redirectUris.includes(redirect))
        return json(res, 400, { error: 'invalid_request', error_description: 'unknown client or redirect_uri' });
      const back = new URL(redirect);
      if (query.state) back.searchParams.set('state', query.state);
      if (
        query.response_type !== 'code' ||
        query.code_challenge_method !== 'S256' ||
        !query.code_challenge ||
        !(query.scope ?? '').split(' ').includes('openid')
      ) {
        back.searchParams.set('error', 'invalid_request');
      } else if (next === null) {
        back.searchParams.set('error', 'access_denied');
      } else {
        const code = b64url(randomBytes(24));
        grants.set(code, {
          clientId,
          redirectUri: redirect,
          challenge: query.code_challenge,
          nonce: query.nonce,
          claims: next,
          expiresAt: Date.now() + 60_000,
        });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      token(req, res).catch(() => json(res, 500, { error: 'server_error' }));
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(claims) {
      next = claims;
    },
    forge(what) {
      forgery = what;
    },
    authorizations,
    tokenRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
