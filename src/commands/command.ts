// The neutral command: what every adapter (Slack, Teams, console, CLI) turns its input into.
import { actorRef, type ActorRef, type People } from '../domain/identity.js';
/**
 * Where a command came from, and so what proved who sent it (the audit log's `platform`): `slack`
 * Slack's request signature, `teams` the Bot Framework token, `oidc` a console sign-in (the web
 * console acting as a signed-in person), `console` the local-mode console's typed trial name, `cli`
 * shell access (`firelane run`).
 */
export type Platform = 'slack' | 'teams' | 'console' | 'oidc' | 'cli';

export interface Actor {
  /** Platform user id (Slack U123, Teams AAD object id, console user name). */
  id: string;
  name?: string;
  /** The person (a `people` key) a console sign-in proved; absent for everyone else (their platform id says it). */
  person?: string;
}

export interface CommandInput {
  /** Command text as typed, with or without the leading slash: `/incident sev1 Payment down`. */
  text: string;
  actor: Actor;
  platform: Platform;
  /** The conversation the command came from (a war room implies its incident). */
  roomId?: string;
  /** Same key, same request: a retried delivery or double submit returns the first reply. */
  idempotencyKey?: string;
  /** 'slack': the text has Slack's escaping (entities for what people typed, <...> for markup). */
  textFormat?: 'plain' | 'slack';
}

/** The chat platform that owns what a command creates (the CLI and a signed-in console user share the console's rooms). */
export const chatPlatform = (platform: Platform): Exclude<Platform, 'cli' | 'oidc'> =>
  platform === 'cli' || platform === 'oidc' ? 'console' : platform;

/** The actor as authenticated: their identity on the platform the command came from, and the person it proves. */
export function actorOf(input: Pick<CommandInput, 'actor' | 'platform'>, people: People): ActorRef {
  return actorRef({ platform: chatPlatform(input.platform), id: input.actor.id }, people, input.actor.person);
}
