// Who a console sign-in proved, in firelane's terms: the `people` entry its ID token's claims name.
// The claims are the provider's, verified by openid-client (signature, issuer, audience, expiry,
// nonce). A person is matched, in this order, by:
// - a chat user id claim: Slack's `https://slack.com/user_id` ("Sign in with Slack", or any provider
//   configured to send it) -> people.<p>.slack; Microsoft Entra ID's `oid` (the AAD object id Teams
//   also uses) -> people.<p>.teams, taken only from Microsoft's issuers, where `oid` means that;
// - a verified e-mail address: `email` with `email_verified: true` -> people.<p>.email (case-insensitive).
// Anyone else may sign in but matches no person: they can read, and are told why they cannot act.
import { cleanText } from '../../domain/clean-text.js';
import { identityKey, type People } from '../../domain/identity.js';

export const SLACK_USER_CLAIM = 'https://slack.com/user_id';

export type Claims = Readonly<Record<string, unknown>>;

export interface SignedInPerson {
  /** How the person is shown: the token's name, else e-mail, else subject. */
  name: string;
  /** The `people` key, when the claims name one. */
  person?: string;
  /** What matched them: 'slack user id', 'teams object id' or 'e-mail'. */
  matchedBy?: string;
  /** When no person matched: why, in a sentence for the page. */
  why?: string;
}

const MICROSOFT_ISSUERS = ['login.microsoftonline.com', 'login.microsoftonline.us', 'sts.windows.net'];

/** A claim as text: the provider's words, without the control characters firelane never stores. */
const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? cleanText(value).trim() || undefined : undefined;

export function personOfClaims(claims: Claims, people: People, issuer: URL): SignedInPerson {
  const name = text(claims.name) ?? text(claims.email) ?? text(claims.sub) ?? 'someone';
  const find = (test: (p: People[string]) => boolean) => Object.entries(people).find(([, p]) => test(p))?.[0];

  const slackId = text(claims[SLACK_USER_CLAIM]);
  if (slackId) {
    const person = find((p) => p.slack === slackId);
    if (person) return { name, person, matchedBy: 'slack user id' };
  }
  const oid = MICROSOFT_ISSUERS.includes(issuer.hostname.toLowerCase()) ? text(claims.oid) : undefined;
  if (oid) {
    const key = identityKey({ platform: 'teams', id: oid });
    const person = find((p) => p.teams !== undefined && identityKey({ platform: 'teams', id: p.teams }) === key);
    if (person) return { name, person, matchedBy: 'teams object id' };
  }
  const email = text(claims.email)?.toLowerCase();
  const verified = claims.email_verified === true;
  if (email && verified) {
    const person = find((p) => p.email?.toLowerCase() === email);
    if (person) return { name, person, matchedBy: 'e-mail' };
  }
  const tried = [
    slackId && `Slack user id ${slackId}`,
    oid && `Teams object id ${oid}`,
    email && (verified ? `e-mail ${email}` : `e-mail ${email} (not verified by the provider, so not used)`),
  ].filter(Boolean);
  return {
    name,
    why: `You are signed in as ${name}, but no one under people in firelane's config has ${tried.length ? tried.join(' or ') : 'a chat user id or verified e-mail this sign-in carries'}: you can read this console, not act in it.`,
  };
}
