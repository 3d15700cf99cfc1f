// The schema of `people` (one person, several identities) and the checks of approver and responder
// entries against it: an entry that can match nobody stops start-up, naming it.
import { z } from 'zod';
import {
  identitiesOf,
  identityKey,
  parseEntry,
  validIdentity,
  type IdentityPlatform,
  type People,
} from '../domain/identity.js';
import { value } from './leaf-schemas.js';
import { show } from './values.js';

export const PERSON_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

const identity = (platform: IdentityPlatform, what: string) =>
  value(
    (v) => (typeof v === 'string' && validIdentity(platform, v) ? v : undefined),
    (v) => `${show(v)} is not ${what}`,
  );

export const personSchema = z.strictObject({
  slack: identity('slack', 'a Slack user id (U… or W…)').optional(),
  teams: identity('teams', 'a Teams AAD object id (a GUID)').optional(),
  console: identity('console', 'a console name (letters, digits, ".", "_" and "-")').optional(),
  email: value(
    (v) => (typeof v === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? v : undefined),
    (v) => `${show(v)} is not an e-mail address`,
  ).optional(),
});

/**
 * Every person has an identity, and no identity belongs to two people. A person signed in to the
 * console without a console name acts as `console:<their key>`, so no key may be another person's
 * console name.
 */
export function checkPeople(people: People, ctx: z.RefinementCtx): void {
  for (const [key, person] of Object.entries(people)) {
    const other = Object.entries(people).find(([k, p]) => k !== key && p.console === key);
    if (other && person.console === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['people', key],
        message: `is ${other[0]}'s console name: give ${key} a console name of their own, or rename one of them`,
      });
  }
  const owner = new Map<string, string>();
  for (const [key, person] of Object.entries(people)) {
    const identities = identitiesOf(person);
    if (identities.length === 0 && person.email === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['people', key],
        message: 'names no identity (give slack, teams, console or email)',
      });
    }
    for (const i of identities) {
      const other = owner.get(identityKey(i));
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['people', key, i.platform],
          message: `${show(i.id)} is ${other}'s ${i.platform} identity too`,
        });
      owner.set(identityKey(i), key);
    }
  }
}

/** Each entry names a person or a well-formed identity. */
export function checkEntries(
  entries: readonly string[],
  people: People,
  path: PropertyKey[],
  ctx: z.RefinementCtx,
): void {
  for (const [i, entry] of entries.entries()) {
    const named = parseEntry(entry, people);
    if ('problem' in named)
      ctx.addIssue({ code: 'custom', path: [...path, i], message: `${show(entry)} matches nobody: ${named.problem}` });
  }
}
