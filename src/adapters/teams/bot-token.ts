// Checks the bearer token the Bot Connector sends with every activity (the Bot Framework's
// "connector to bot" authentication): RS256, signed by a key from the Bot Framework's OpenID metadata,
// issuer https://api.botframework.com, audience our app id, at most 5 minutes of clock skew, the key
// endorsed for the activity's channel, and the `serviceurl` claim naming the activity's serviceUrl.
//
// firelane checks this itself (with jose) rather than through the Agents SDK's authorizeJWT: that one
// fetches Bot Framework keys from a hard-coded login.botframework.com (so it cannot be tested offline),
// does not check endorsements or the serviceurl claim by default, and answers failures with its own
// error text.
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';

export interface BotIdentity {
  /** Where the signing keys are published (its `jwks_uri`, on the same origin). */
  openIdMetadataUrl: string;
  /** The `iss` of Bot Connector tokens. */
  issuer: string;
}

/** The public cloud's Bot Framework identity (what Teams signs with). */
export const BOT_FRAMEWORK_IDENTITY: BotIdentity = {
  openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
  issuer: 'https://api.botframework.com',
};

/** A token that does not prove the request came from the Bot Connector; `reason` is for the log only. */
export class TokenRefused extends Error {
  constructor(readonly reason: string) {
    super(`Bot Framework token refused: ${reason}`);
  }
}

export interface BotTokenVerifierOptions {
  appId: string;
  identity?: BotIdentity;
  /** Keys are fetched again after this long, and at most this often for an unknown kid (defaults: 24 h, 5 min). */
  keysMaxAgeMs?: number;
  unknownKidRefreshMs?: number;
}

type EndorsedJwk = JWK & { kid?: string; endorsements?: unknown };

const CLOCK_TOLERANCE_S = 300;
const FETCH_TIMEOUT_MS = 10_000;

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

export type BotTokenVerifier = (
  authorization: string | undefined,
  activity: { channelId?: string; serviceUrl?: string },
) => Promise<JWTPayload>;

export function createBotTokenVerifier(options: BotTokenVerifierOptions): BotTokenVerifier {
  const identity = options.identity ?? BOT_FRAMEWORK_IDENTITY;
  const maxAge = options.keysMaxAgeMs ?? 24 * 3600_000;
  const unknownKidRefresh = options.unknownKidRefreshMs ?? 5 * 60_000;
  let keys: EndorsedJwk[] = [];
  let fetchedAt = -Infinity;
  let refreshing: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    const metadata = await getJson(identity.openIdMetadataUrl);
    const jwksUri = typeof metadata.jwks_uri === 'string' ? metadata.jwks_uri : '';
    // The keys must come from the same place as the metadata, not wherever the document points.
    if (!jwksUri || new URL(jwksUri).origin !== new URL(identity.openIdMetadataUrl).origin)
      throw new Error(`jwks_uri ${jwksUri || '(none)'} is not on ${identity.openIdMetadataUrl}`);
    const set = await getJson(jwksUri);
    keys = Array.isArray(set.keys) ? (set.keys as EndorsedJwk[]) : [];
    fetchedAt = Date.now();
  }

  async function keyFor(kid: string): Promise<EndorsedJwk | undefined> {
    const age = Date.now() - fetchedAt;
    const known = keys.find((k) => k.kid === kid);
    if (known && age < maxAge) return known;
    if (known || age >= unknownKidRefresh) {
      refreshing ??= refresh().finally(() => (refreshing = undefined));
      try {
        await refreshing;
      } catch (error) {
        // Keys a day old still beat refusing every activity while the metadata is unreachable.
        if (!known) throw error;
      }
    }
    return keys.find((k) => k.kid === kid);
  }

  return async (authorization, activity) => {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!match) throw new TokenRefused(authorization ? 'malformed Authorization header' : 'no Authorization header');
    const token = match[1]!;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenRefused('unreadable token header');
    }
    if (header.alg !== 'RS256' || typeof header.kid !== 'string')
      throw new TokenRefused(`unexpected token header (alg ${String(header.alg)})`);
    let jwk: EndorsedJwk | undefined;
    try {
      jwk = await keyFor(header.kid);
    } catch (error) {
      throw new TokenRefused(`signing keys unavailable: ${(error as Error).message}`);
    }
    if (!jwk) throw new TokenRefused(`unknown signing key ${header.kid}`);
    // A key endorsed for some channels signs only for those (Bot Framework spec, step 6).
    if (Array.isArray(jwk.endorsements) && !jwk.endorsements.includes(activity.channelId))
      throw new TokenRefused(`key not endorsed for channel ${String(activity.channelId)}`);
    let payload: JWTPayload;
    try {
      const key = await importJWK({ ...jwk, alg: 'RS256' }, 'RS256');
      ({ payload } = await jwtVerify(token, key, {
        issuer: identity.issuer,
        audience: options.appId,
        algorithms: ['RS256'],
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw new TokenRefused((error as { code?: string }).code ?? 'invalid token');
    }
    const claimed = typeof payload.serviceurl === 'string' ? payload.serviceurl : '';
    if (!claimed || !activity.serviceUrl || withoutTrailingSlash(claimed) !== withoutTrailingSlash(activity.serviceUrl))
      throw new TokenRefused('serviceurl claim does not match the activity');
    return payload;
  };
}
