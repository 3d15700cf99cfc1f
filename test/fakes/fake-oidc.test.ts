// The fake OpenID provider against the real openid-client: discovery, the code flow with PKCE, and
// what it refuses (a wrong verifier, secret, redirect URI or a second use of a code), so that a
// console sign-in passing against it means firelane really sent those right.
import * as client from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOidc, type FakeOidc } from './fake-oidc.js';

const REDIRECT = 'http://127.0.0.1:9/auth/callback';
let provider: FakeOidc | undefined;
afterEach(async () => provider?.close());

async function setup(auth: 'basic' | 'post' = 'basic', secret?: string) {
  provider = await startFakeOidc({ redirectUris: [REDIRECT] });
  const clientSecret = secret ?? provider.clientSecret;
  const method = auth === 'basic' ? client.ClientSecretBasic(clientSecret) : client.ClientSecretPost(clientSecret);
  // As the console does: the ID token's signature is checked against the JWKS too (openid-client
  // checks it for tokens from the token endpoint only with enableNonRepudiationChecks).
  const config = await client.discovery(new URL(provider.issuer), provider.clientId, clientSecret, method, {
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  });
  return config;
}

/** The authorization request as a browser would follow it: returns the callback URL the provider redirects to. */
async function authorize(
  config: client.Configuration,
  challenge: string,
  state: string,
  nonce: string,
  redirectUri = REDIRECT,
): Promise<URL> {
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const response = await fetch(url, { redirect: 'manual' });
  if (response.status !== 302) throw new Error(`authorize: HTTP ${response.status} ${await response.text()}`);
  return new URL(response.headers.get('location')!);
}

describe('the fake OpenID provider', () => {
  it('signs in whoever the test says, with PKCE, state and nonce checked by openid-client', async () => {
    for (const auth of ['basic', 'post'] as const) {
      const config = await setup(auth);
      provider!.signInAs({ sub: 'u1', email: 'lee@acme.example', email_verified: true });
      const verifier = client.randomPKCECodeVerifier();
      const [state, nonce] = [client.randomState(), client.randomNonce()];
      const back = await authorize(config, await client.calculatePKCECodeChallenge(verifier), state, nonce);
      const tokens = await client.authorizationCodeGrant(config, back, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      });
      expect(tokens.claims()).toMatchObject({
        iss: provider!.issuer,
        aud: provider!.clientId,
        sub: 'u1',
        email: 'lee@acme.example',
        nonce,
      });
      expect(provider!.tokenRequests).toEqual([{ status: 200, auth }]);
      // A code works once.
      await expect(
        client.authorizationCodeGrant(config, back, {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: nonce,
        }),
      ).rejects.toThrow();
      expect(provider!.tokenRequests[1]).toMatchObject({ status: 400, error: 'invalid_grant' });
      await provider!.close();
      provider = undefined;
    }
  });

  it('refuses a wrong PKCE verifier and a wrong client secret; never redirects to an unknown redirect URI', async () => {
    const config = await setup();
    provider!.signInAs({ sub: 'u1' });
    const verifier = client.randomPKCECodeVerifier();
    const back = await authorize(config, await client.calculatePKCECodeChallenge(verifier), 's', 'n');
    await expect(
      client.authorizationCodeGrant(config, back, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: 's',
        expectedNonce: 'n',
      }),
    ).rejects.toThrow();
    expect(provider!.tokenRequests).toEqual([{ status: 400, auth: 'basic', error: 'invalid_grant' }]);
    await expect(authorize(config, 'x', 's', 'n', 'http://127.0.0.1:9/elsewhere')).rejects.toThrow(/HTTP 400/);

    const issuer = provider!.issuer;
    const wrong = await client.discovery(
      new URL(issuer),
      provider!.clientId,
      'not-the-secret',
      client.ClientSecretBasic('not-the-secret'),
      { execute: [client.allowInsecureRequests] },
    );
    const back2 = await authorize(wrong, await client.calculatePKCECodeChallenge(verifier), 's', 'n');
    await expect(
      client.authorizationCodeGrant(wrong, back2, {
        pkceCodeVerifier: verifier,
        expectedState: 's',
        expectedNonce: 'n',
      }),
    ).rejects.toThrow();
    expect(provider!.tokenRequests.at(-1)).toMatchObject({ status: 401, error: 'invalid_client' });
  });

  it('a forged ID token (another key, audience, issuer or nonce; expired) is refused by openid-client', async () => {
    const config = await setup();
    for (const forgery of ['other-key', 'other-audience', 'other-issuer', 'other-nonce', 'expired'] as const) {
      provider!.signInAs({ sub: 'u1' });
      provider!.forge(forgery);
      const verifier = client.randomPKCECodeVerifier();
      const back = await authorize(config, await client.calculatePKCECodeChallenge(verifier), 's', 'n');
      await expect(
        client.authorizationCodeGrant(config, back, {
          pkceCodeVerifier: verifier,
          expectedState: 's',
          expectedNonce: 'n',
          idTokenExpected: true,
        }),
        forgery,
      ).rejects.toThrow();
    }
  });
});
