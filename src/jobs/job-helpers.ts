// Pieces every incident job needs: the incident and its platform's chat, and a post that turns
// "the platform will not deliver there" into a reason instead of a retry.
import { incidentKey, type Incident } from '../domain/incident.js';
import type { Reply } from '../ports/reply.js';
import { DeliveryRefused, type ChatPort, type PostOnce } from '../ports/chat.js';
import type { Store } from '../ports/store.js';
import { PermanentJobError } from './worker.js';

export async function loadIncident(
  deps: { store: Store; chats: Partial<Record<string, ChatPort>> },
  payload: { incidentId: number },
): Promise<{ incident: Incident; chat: ChatPort }> {
  const incident = await deps.store.incidents.get(Number(payload.incidentId));
  if (!incident) throw new PermanentJobError(`incident ${String(payload.incidentId)} does not exist`);
  const chat = deps.chats[incident.platform];
  // Not permanent: the platform may come back (credentials restored); the job waits for it.
  if (!chat) throw new Error(`${incident.platform} is not connected; ${incidentKey(incident.id)} waits until it is`);
  return { incident, chat };
}

/** Posts the message; null when delivered, the reason when the platform refuses that conversation. */
export async function postOrReason(
  chat: ChatPort,
  roomId: string,
  message: Reply,
  once: PostOnce,
): Promise<string | null> {
  try {
    await chat.post(roomId, message, { once });
    return null;
  } catch (error) {
    if (error instanceof DeliveryRefused) return error.reason;
    throw error;
  }
}
