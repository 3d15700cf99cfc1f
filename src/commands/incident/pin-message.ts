// A 📌 reaction on a war-room message: the message joins the timeline, once however often it is pinned.
import { chatPlatform, type Platform } from '../command.js';
import type { CommandDeps } from '../context.js';
import { PIN_MESSAGE } from '../../ports/jobs.js';

export interface PinInput {
  platform: Platform;
  roomId: string;
  messageId: string;
  /** Who added the reaction. */
  actor: string;
}

/** Queues reading the message and recording it; false when the room is no war room. */
export async function pinMessage(deps: CommandDeps, input: PinInput): Promise<boolean> {
  const platform = chatPlatform(input.platform);
  const incident = await deps.store.incidents.byRoom(platform, input.roomId);
  if (!incident) return false;
  await deps.store.jobs.enqueue({
    kind: PIN_MESSAGE,
    key: `pin:${platform}:${input.roomId}:${input.messageId}`,
    payload: {
      incidentId: incident.id,
      roomId: input.roomId,
      messageId: input.messageId,
      actor: input.actor,
      platform: input.platform,
    },
  });
  return true;
}
