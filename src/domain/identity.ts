// Who someone is, across platforms. An approver or responder entry names a person (a `people` key)
// or one identity on one platform (`slack:U…`, `teams:<AAD object id>`, `console:<name>`); a bare
// id keeps the platform its shape belongs to (`U…`/`W…` Slack, a GUID Teams, anything else a
// console name). An actor is one identity as its platform proved it, and a person only when that
// proof says so: a Slack or Teams identity listed under `people`, or a console sign-in matched to
// a person. The console's typed "You are" name proves nothing: it matches `console:` entries only.

export const IDENTITY_PLATFORMS = ['slack', 'teams', 'console'] as const;
export type IdentityPlatform = (typeof IDENTITY_PLATFORMS)[number];

export interface Identity {
  platform: IdentityPlatform;
  id: string;
}

/** One person's identities (config `people.<key>`). */
export interface Person {
  slack?: string;
  teams?: string;
  console?: string;
  email?: string;
}

export type People = Readonly<Record<string, Person>>;

/** An actor as authenticated: the identity, and the person it proves (if any). */
export interface ActorRef {
  identity: Identity;
  person?: string;
}

const SLACK_ID = /^[UW][A-Z0-9]{2,20}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONSOLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

/** Whether `id` is a well-formed identity on `platform` (what an entry must name to match anyone). */
export function validIdentity(platform: IdentityPlatform, id: string): boolean {
  if (platform === 'slack') return SLACK_ID.test(id);
  if (platform === 'teams') return GUID.test(id);
  return CONSOLE_NAME.test(id);
}

/** The platform a bare id belongs to by its shape (today's config form). */
export const platformByShape = (id: string): IdentityPlatform =>
  SLACK_ID.test(id) ? 'slack' : GUID.test(id) ? 'teams' : 'console';

export const identityKey = (i: Identity) => `${i.platform}:${i.platform === 'teams' ? i.id.toLowerCase() : i.id}`;

const sameIdentity = (a: Identity, b: Identity) => identityKey(a) === identityKey(b);

export type Entry = { person: string } | { identity: Identity } | { problem: string };

/** What a config entry names: a person key first, then a platform-qualified id, then a bare id by its shape. */
export function parseEntry(entry: string, people: People): Entry {
  if (Object.hasOwn(people, entry)) return { person: entry };
  const colon = entry.indexOf(':');
  if (colon > 0) {
    const prefix = entry.slice(0, colon);
    const id = entry.slice(colon + 1);
    if (!(IDENTITY_PLATFORMS as readonly string[]).includes(prefix)) {
      return {
        problem: `"${prefix}:" is not a platform (use ${IDENTITY_PLATFORMS.map((p) => `${p}:`).join(', ')} or a people key)`,
      };
    }
    const platform = prefix as IdentityPlatform;
    if (!validIdentity(platform, id))
      return {
        problem: `"${id}" is not a ${platform === 'slack' ? 'Slack user id (U… or W…)' : platform === 'teams' ? 'Teams AAD object id (a GUID)' : 'console name'}`,
      };
    return { identity: { platform, id } };
  }
  return { identity: { platform: platformByShape(entry), id: entry } };
}

/** The identities of a person, as listed. */
export function identitiesOf(person: Person): Identity[] {
  return IDENTITY_PLATFORMS.flatMap((platform) => (person[platform] ? [{ platform, id: person[platform]! }] : []));
}

/** The person an identity belongs to (Slack and Teams identities are proven by their platform; console names only by sign-in). */
export function personOfIdentity(identity: Identity, people: People): string | undefined {
  for (const [key, person] of Object.entries(people)) {
    if (identitiesOf(person).some((i) => sameIdentity(i, identity))) return key;
  }
  return undefined;
}

/** The actor as its platform proved it: Slack and Teams ids listed under people are those persons; a console name is a person only when signed in. */
export function actorRef(identity: Identity, people: People, signedInAs?: string): ActorRef {
  const person = signedInAs ?? (identity.platform === 'console' ? undefined : personOfIdentity(identity, people));
  return { identity, ...(person !== undefined && { person }) };
}

/** Whether the actor is what the entry names, through the platform that authenticated them (or as the proven person). */
export function entryMatches(entry: string, actor: ActorRef, people: People): boolean {
  const named = parseEntry(entry, people);
  if ('problem' in named) return false;
  if ('person' in named) return actor.person === named.person;
  if (sameIdentity(named.identity, actor.identity)) return true;
  // A person proven by sign-in acts as that person: an entry naming one of their identities names them.
  return actor.person !== undefined && personOfIdentity(named.identity, people) === actor.person;
}

/** The key that counts one party once: the person when proven, else the identity. */
export const partyKey = (actor: ActorRef) =>
  actor.person !== undefined ? `person:${actor.person}` : identityKey(actor.identity);

/** The same party: the same proven person, or the same identity. */
export const sameParty = (a: ActorRef, b: ActorRef) => partyKey(a) === partyKey(b);

/** The ids on `platform` that a list of entries names (whom to invite into a war room there). */
export function idsOn(platform: IdentityPlatform, entries: readonly string[], people: People): string[] {
  const ids = entries.flatMap((entry) => {
    const named = parseEntry(entry, people);
    if ('problem' in named) return [];
    if ('person' in named) {
      const id = people[named.person]![platform];
      return id ? [id] : [];
    }
    return named.identity.platform === platform ? [named.identity.id] : [];
  });
  return [...new Set(ids)];
}

/** How many distinct persons (or lone identities) a list of entries names: the most approvals it can give. */
export function distinctParties(entries: readonly string[], people: People): number {
  const parties = entries.flatMap((entry) => {
    const named = parseEntry(entry, people);
    if ('problem' in named) return [];
    if ('person' in named) return [`person:${named.person}`];
    const person = personOfIdentity(named.identity, people);
    return [person !== undefined ? `person:${person}` : identityKey(named.identity)];
  });
  return new Set(parties).size;
}
