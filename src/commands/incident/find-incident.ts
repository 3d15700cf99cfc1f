// Which incident a command is about: an explicit INC-n first, else the war room it was typed in.
import type { Incident } from '../../domain/incident.js';
import { incidentKey, looksLikeIncidentKey, parseIncidentKey } from '../../domain/incident.js';
import { invalidInput, notFound } from '../../errors.js';
import { chatPlatform } from '../command.js';
import type { HandlerContext } from '../context.js';
import type { Token } from '../parse-command.js';

export async function takeIncident(ctx: HandlerContext, usage: string): Promise<{ incident: Incident; args: Token[] }> {
  const [first, ...rest] = ctx.args;
  if (first?.kind === 'word' && looksLikeIncidentKey(first.value)) {
    const id = parseIncidentKey(first.value);
    const incident = id === undefined ? undefined : await ctx.deps.store.incidents.get(id);
    if (!incident)
      throw notFound(
        `${id === undefined ? first.value.toUpperCase() : incidentKey(id)} does not exist. See open incidents with /incident list.`,
        usage,
      );
    ctx.concerns(incident.id);
    return { incident, args: rest };
  }
  const { roomId } = ctx.input;
  const incident = roomId ? await ctx.deps.store.incidents.byRoom(chatPlatform(ctx.input.platform), roomId) : undefined;
  if (!incident) throw invalidInput('Name the incident (INC-<n>) or run this in its war room.', usage);
  ctx.concerns(incident.id);
  return { incident, args: ctx.args };
}

/** A user from a mention token; `@me` is the sender. Chat platforms need a real mention. */
export function takeUser(ctx: HandlerContext, token: Token | undefined, usage: string): string {
  if (token?.kind !== 'mention') throw invalidInput('Mention the person, e.g. @jane (or @me).', usage);
  if (!token.escaped && token.id.toLowerCase() === 'me') return ctx.input.actor.id;
  if (!token.escaped && (ctx.input.platform === 'slack' || ctx.input.platform === 'teams')) {
    throw invalidInput(
      `"@${token.id}" is not a ${ctx.input.platform === 'slack' ? 'Slack' : 'Teams'} user: type @ and pick the person from the list.`,
      usage,
    );
  }
  return token.id;
}
