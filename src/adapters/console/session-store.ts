// What console sign-in keeps in the database (console-auth.ts is the logic over it), on SQLite
// (adapters/db) or PostgreSQL (adapters/postgres), so that every replica knows every sign-in:
// - sessions: who signed in (the person their claims matched, or why none) until they expire;
// - logins in progress: the PKCE verifier, state and nonce of a sign-in between /auth/login and its
//   callback, taken once.
// Both are named by a random id that only the browser's cookie holds: the database keeps the SHA-256
// of it (idHash), never the id itself, so its rows cannot be replayed as cookies.
import { createHash } from 'node:crypto';
import type { Async } from '../../ports/store.js';
import type { SignedInPerson } from './sign-in-person.js';

export interface StoredSession extends SignedInPerson {
  /** The console name the person acts under: people.<p>.console, else their key. */
  actorId?: string;
  createdAt: number;
  expiresAt: number;
}

export interface PendingLogin {
  verifier: string;
  state: string;
  nonce: string;
  expiresAt: number;
}

export interface SessionRecords {
  /** Keeps a new session under the hash of `id`. */
  addSession(id: string, session: StoredSession): void;
  /** The session `id` names, unless it has expired by `now`. */
  session(id: string, now: number): StoredSession | undefined;
  /** Ends the session `id` names (signing out; nothing when there is none). */
  endSession(id: string): void;
  /** Deletes the sessions expired by `now`, then the oldest beyond the `keep` newest. */
  pruneSessions(now: number, keep: number): void;
  /** Keeps a login in progress under the hash of `id`. */
  addLogin(id: string, login: PendingLogin): void;
  /** Takes the login `id` names, once: it is deleted, and returned unless it has expired by `now`. */
  takeLogin(id: string, now: number): PendingLogin | undefined;
  /** Deletes the logins expired by `now`, then the oldest beyond the `keep` newest. */
  pruneLogins(now: number, keep: number): void;
}

export type SessionStore = Async<SessionRecords>;

/** What the database keeps of a session or login id: its SHA-256, in hex. */
export const idHash = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

type Nullable<T> = { [K in keyof T]-?: undefined extends T[K] ? Exclude<T[K], undefined> | null : T[K] };

/** A session's columns: absent fields as NULL. */
export const sessionRow = (id: string, s: StoredSession) => ({
  idHash: idHash(id),
  name: s.name,
  person: s.person ?? null,
  actorId: s.actorId ?? null,
  matchedBy: s.matchedBy ?? null,
  why: s.why ?? null,
  createdAt: s.createdAt,
  expiresAt: s.expiresAt,
});

/** A stored session row as console-auth.ts sees it: NULL columns left out. */
export function toStoredSession(row: Nullable<StoredSession>): StoredSession {
  const { person, actorId, matchedBy, why, ...rest } = row;
  return {
    ...rest,
    ...(person !== null && { person }),
    ...(actorId !== null && { actorId }),
    ...(matchedBy !== null && { matchedBy }),
    ...(why !== null && { why }),
  };
}
