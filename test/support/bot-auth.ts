/**
 * Offline identity kit for botbuilder's CloudAdapter in app-id mode (botbuilder / botframework-connector 4.23).
 *
 * What botframework-connector needs (read from lib/auth/*):
 * - ConfigurationBotFrameworkAuthentication hands its URL options to BotFrameworkAuthenticationFactory.create. If ANY
 *   of ToChannelFromBotLoginUrl, ToChannelFromBotOAuthScope, ToBotFromChannelTokenIssuer, OAuthUrl,
 *   ToBotFromChannelOpenIdMetadataUrl, ToBotFromEmulatorOpenIdMetadataUrl, CallerId is set, it builds a
 *   ParameterizedBotFrameworkAuthentication from exactly those values and the unset ones stay undefined (so a partial
 *   set makes every token fail, e.g. an undefined issuer matches no `iss`); with none set it uses the public-cloud
 *   constants (login.botframework.com, login.microsoftonline.com).
 * - Inbound channel tokens (ChannelValidation path): JwtTokenExtractor fetches ToBotFromChannelOpenIdMetadataUrl, then
 *   its `jwks_uri` (node-fetch, cached per URL for 24 h, refetched at most hourly when a kid is unknown), picks the key
 *   by the JWT header `kid` (needs `n` and `e`), verifies with jsonwebtoken: issuer must be ToBotFromChannelTokenIssuer,
 *   algorithms RS256/RS384/RS512, clockTolerance 300 s (so "expired" means more than 5 minutes ago). If the key has
 *   `endorsements`, the activity's channelId must be one of them. Then `aud` must pass
 *   credentialsFactory.isValidAppId, and the `serviceurl` claim must equal activity.serviceUrl exactly (string
 *   compare: trailing slash matters).
 * - Tokens whose `iss` is an AAD/emulator issuer go to the emulator path (ToBotFromEmulatorOpenIdMetadataUrl);
 *   skill tokens too. Activities with channelId 'AseChannel' always use the public login.botframework.com metadata:
 *   that path cannot be redirected, don't send such activities in tests.
 * - Outbound calls: ConnectorFactoryImpl calls credentialsFactory.createCredentials(appId, audience,
 *   ToChannelFromBotLoginUrl, ValidateAuthority) and the ConnectorClient calls `signRequest(webResource)` before every
 *   request. The default (password) factory would use MSAL against ToChannelFromBotLoginUrl, so pass the factory
 *   from `credentialsFactory()` to the ConfigurationBotFrameworkAuthentication constructor (2nd argument). With a custom
 *   factory, MicrosoftAppId/MicrosoftAppPassword in the options only matter for AseChannelValidation; the bot's app id
 *   is whatever the factory's isValidAppId accepts.
 * - OAuthUrl is only used by the user-token client (OAuth prompts); CallerId becomes activity.callerId.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSign, generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { ConfigurationBotFrameworkAuthentication, ConfigurationBotFrameworkAuthenticationOptions } from 'botbuilder';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
export const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com';
export const PUBLIC_AZURE_CALLER_ID = 'urn:botframework:azure';
export const OUTBOUND_TOKEN = 'test-outbound-token';

/** botframework-connector's ServiceClientCredentialsFactory (not re-exported by botbuilder). */
export type ServiceClientCredentialsFactory = NonNullable<ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[1]>;
type ServiceClientCredentials = Awaited<ReturnType<ServiceClientCredentialsFactory['createCredentials']>>;
type WebResourceLike = Parameters<ServiceClientCredentials['signRequest']>[0];

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface SignActivityTokenOptions {
  appId: string;
  serviceUrl: string;
  /** Lifetime from now; negative for an already expired token (botbuilder allows 300 s of clock skew). */
  expiresInSec?: number;
  /** Header kid (default: the kit's key id). */
  kid?: string;
  /** Signing key (default: the kit's key); pass another key for a bad signature. */
  key?: KeyObject;
  /** Default 'https://api.botframework.com'. */
  issuer?: string;
  /** Extra or overriding claims. */
  claims?: Record<string, unknown>;
}

export interface CredentialsFactoryCall {
  appId: string;
  audience: string | undefined;
  loginEndpoint: string;
  validateAuthority: boolean;
}

export interface BotAuthKit {
  /** Base URL of the loopback identity server, no trailing slash. */
  url: string;
  openIdMetadataUrl: string;
  emulatorOpenIdMetadataUrl: string;
  jwksUrl: string;
  kid: string;
  privateKey: KeyObject;
  /** Channels the JWKS key is endorsed for (default ['msteams']). */
  endorsements: string[];
  /** Requests the identity server received (path only). */
  requests: Array<{ method: string; path: string }>;
  signActivityToken(options: SignActivityTokenOptions): string;
  /** Every ConfigurationBotFrameworkAuthentication option, pointed at this server (all or nothing). */
  botFrameworkAuthConfig(appId: string, password?: string): ConfigurationBotFrameworkAuthenticationOptions;
  /**
   * Outbound credentials that need no login: they add `Authorization: Bearer <token>` (default
   * 'test-outbound-token') so a fake connector with requireAuth accepts them. appId '' disables auth.
   */
  credentialsFactory(appId: string, token?: string): ServiceClientCredentialsFactory & { calls: CredentialsFactoryCall[] };
  close(): Promise<void>;
}

/** An RSA-2048 signing key with a kid. */
export function generateSigningKey(kid: string = randomUUID()): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** An RS256 JWT with the given header kid and claims. */
export function signJwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid, x5t: kid }));
  const payload = b64url(JSON.stringify(claims));
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key);
  return `${header}.${payload}.${b64url(signature)}`;
}

/** Outbound credentials that sign with a fixed bearer token (or nothing when appId is ''). */
export function staticCredentialsFactory(appId: string, token: string = OUTBOUND_TOKEN): ServiceClientCredentialsFactory & { calls: CredentialsFactoryCall[] } {
  const calls: CredentialsFactoryCall[] = [];
  const disabled = !appId;
  const credentials: ServiceClientCredentials = {
    async signRequest(webResource: WebResourceLike) {
      if (!disabled) webResource.headers.set('authorization', `Bearer ${token}`);
      return webResource;
    },
  };
  return {
    calls,
    isValidAppId: async (id: string) => id === appId,
    isAuthenticationDisabled: async () => disabled,
    async createCredentials(id: string, audience: string | undefined, loginEndpoint: string, validateAuthority: boolean) {
      calls.push({ appId: id, audience, loginEndpoint, validateAuthority });
      // Like PasswordServiceClientCredentialFactory: an unknown app id is a programming error.
      if (!disabled && id !== appId) throw new Error('Invalid appId.');
      return credentials;
    },
  };
}

export async function startBotAuthServer(options: { endorsements?: string[]; key?: SigningKey } = {}): Promise<BotAuthKit> {
  const key = options.key ?? generateSigningKey();
  const endorsements = options.endorsements ?? ['msteams'];
  const requests: BotAuthKit['requests'] = [];
  const jwk = (withEndorsements: boolean): JsonWebKey & Record<string, unknown> => ({
    ...key.publicKey.export({ format: 'jwk' }),
    kid: key.kid,
    x5t: key.kid,
    use: 'sig',
    ...(withEndorsements ? { endorsements } : {}),
  });

  let base = '';
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ method: req.method ?? 'GET', path });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    switch (path) {
      case '/.well-known/openidconfiguration': // Bot Framework channel metadata (login.botframework.com/v1/...)
        return json(200, {
          issuer: BOT_FRAMEWORK_ISSUER,
          authorization_endpoint: `${base}/oauth2/authorize`,
          jwks_uri: `${base}/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
        });
      case '/keys':
        return json(200, { keys: [jwk(true)] });
      case '/emulator/.well-known/openid-configuration': // AAD-style metadata (emulator and skill tokens)
        return json(200, {
          issuer: `${base}/emulator`,
          jwks_uri: `${base}/emulator/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
        });
      case '/emulator/keys':
        return json(200, { keys: [jwk(false)] });
      default:
        return json(404, { error: 'not_found', path });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    openIdMetadataUrl: `${base}/.well-known/openidconfiguration`,
    emulatorOpenIdMetadataUrl: `${base}/emulator/.well-known/openid-configuration`,
    jwksUrl: `${base}/keys`,
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
      return signJwt(claims, o.key ?? key.privateKey, o.kid ?? key.kid);
    },
    botFrameworkAuthConfig(appId, password = 'test-password') {
      return {
        MicrosoftAppId: appId,
        MicrosoftAppPassword: password,
        MicrosoftAppType: 'MultiTenant',
        ToBotFromChannelOpenIdMetadataUrl: `${base}/.well-known/openidconfiguration`,
        ToBotFromChannelTokenIssuer: BOT_FRAMEWORK_ISSUER,
        ToBotFromEmulatorOpenIdMetadataUrl: `${base}/emulator/.well-known/openid-configuration`,
        ToChannelFromBotLoginUrl: `${base}/login/botframework.com`,
        ToChannelFromBotOAuthScope: BOT_FRAMEWORK_SCOPE,
        OAuthUrl: `${base}/oauth`,
        CallerId: PUBLIC_AZURE_CALLER_ID,
        ValidateAuthority: false,
      };
    },
    credentialsFactory: (appId, token) => staticCredentialsFactory(appId, token),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
