/**
 * Offline identity kit for Teams in app-id mode: a loopback stand-in for the Bot Framework's OpenID metadata and
 * signing keys, tokens signed the way the Bot Connector signs them, and outbound tokens that need no login.
 *
 * What firelane checks (src/adapters/teams/bot-token.ts, after the Bot Framework's "connector to bot" rules):
 * - The token is `Authorization: Bearer <JWS>`, RS256, with a `kid` found in the keys that the OpenID metadata's
 *   `jwks_uri` lists (which must be on the metadata's origin). Keys are cached for a day and fetched again, at most
 *   every 5 minutes, for an unknown kid.
 * - `iss` is https://api.botframework.com, `aud` the app id, `exp` at most 300 s in the past (clock skew).
 * - A key with `endorsements` signs only for the channels listed (the activity's channelId).
 * - The `serviceurl` claim names the activity's serviceUrl (a trailing slash aside).
 *
 * The production identity is https://login.botframework.com/v1/.well-known/openidconfiguration; this server answers
 * the same paths on 127.0.0.1, and `identity` points firelane at it (TeamsAppOptions.identity).
 *
 * Outbound: the Agents SDK asks a token provider for a token per Bot Connector client (scope
 * https://api.botframework.com). `tokenSource()` answers with a fixed token (default 'test-outbound-token') so a
 * fake connector with requireAuth accepts the calls, and records the scopes asked for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSign, generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { BotIdentity } from '../../src/adapters/teams/bot-token.js';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
export const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com';
export const OUTBOUND_TOKEN = 'test-outbound-token';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface SignActivityTokenOptions {
  appId: string;
  serviceUrl: string;
  /** Lifetime from now; negative for an already expired token (300 s of clock skew are allowed). */
  expiresInSec?: number;
  /** Header kid (default: the kit's key id). */
  kid?: string;
  /** Signing key (default: the kit's key); pass another key for a bad signature. */
  key?: KeyObject;
  /** Default 'https://api.botframework.com'. */
  issuer?: string;
  /** Header alg (default RS256); the signature is RS256 whatever it says. */
  alg?: string;
  /** Extra or overriding claims. */
  claims?: Record<string, unknown>;
}

/** Outbound tokens for the SDK, and the scopes it asked for. */
export type RecordingTokenSource = ((scope: string) => Promise<string>) & { scopes: string[] };

export interface BotAuthKit {
  /** Base URL of the loopback identity server, no trailing slash. */
  url: string;
  /** What firelane's token check is pointed at (TeamsAppOptions.identity). */
  identity: BotIdentity;
  jwksUrl: string;
  kid: string;
  privateKey: KeyObject;
  /** Channels the key is endorsed for (default ['msteams']). */
  endorsements: string[];
  /** Requests the identity server received (path only). */
  requests: Array<{ method: string; path: string }>;
  signActivityToken(options: SignActivityTokenOptions): string;
  /** Outbound tokens that need no login (default 'test-outbound-token'). */
  tokenSource(token?: string): RecordingTokenSource;
  close(): Promise<void>;
}

/** An RSA-2048 signing key with a kid. */
export function generateSigningKey(kid: string = randomUUID()): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** An RS256-signed JWT with the given header kid (and alg, for tokens that lie about it) and claims. */
export function signJwt(claims: Record<string, unknown>, key: KeyObject, kid: string, alg = 'RS256'): string {
  const header = b64url(JSON.stringify({ alg, typ: 'JWT', kid, x5t: kid }));
  const payload = b64url(JSON.stringify(claims));
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key);
  return `${header}.${payload}.${b64url(signature)}`;
}

export function recordingTokenSource(token: string = OUTBOUND_TOKEN): RecordingTokenSource {
  const scopes: string[] = [];
  return Object.assign(
    async (scope: string) => {
      scopes.push(scope);
      return token;
    },
    { scopes },
  );
}

export async function startBotAuthServer(
  options: { endorsements?: string[]; key?: SigningKey } = {},
): Promise<BotAuthKit> {
  const key = options.key ?? generateSigningKey();
  const endorsements = options.endorsements ?? ['msteams'];
  const requests: BotAuthKit['requests'] = [];
  const jwk: JsonWebKey & Record<string, unknown> = {
    ...key.publicKey.export({ format: 'jwk' }),
    kid: key.kid,
    x5t: key.kid,
    use: 'sig',
    endorsements,
  };

  let base = '';
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ method: req.method ?? 'GET', path });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    switch (path) {
      case '/v1/.well-known/openidconfiguration': // as login.botframework.com serves it
        return json(200, {
          issuer: BOT_FRAMEWORK_ISSUER,
          authorization_endpoint: `${base}/v1/oauth2/authorize`,
          jwks_uri: `${base}/v1/.well-known/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
        });
      case '/v1/.well-known/keys':
        return json(200, { keys: [jwk] });
      default:
        return json(404, { error: 'not_found', path });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    identity: { openIdMetadataUrl: `${base}/v1/.well-known/openidconfiguration`, issuer: BOT_FRAMEWORK_ISSUER },
    jwksUrl: `${base}/v1/.well-known/keys`,
    kid: key.kid,
    privateKey: key.privateKey,
    endorsements,
    requests,
    signActivityToken(o) {
      const now = Math.floor(Date.now() / 1000);
      const exp = now + (o.expiresInSec ?? 3600);
      const claims = {
        iss: o.issuer ?? BOT_FRAMEWORK_ISSUER,
        aud: o.appId,
        serviceurl: o.serviceUrl,
        nbf: Math.min(now, exp) - 60,
        iat: Math.min(now, exp) - 60,
        exp,
        ...o.claims,
      };
      return signJwt(claims, o.key ?? key.privateKey, o.kid ?? key.kid, o.alg);
    },
    tokenSource: (token) => recordingTokenSource(token),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
