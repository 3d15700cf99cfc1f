// Pieces every incident job needs: the incident and its platform's chat, and a post that turns
// "the platform will not deliver there" into a reason instead of a retry.
import { incidentKey, type Incident } from '../domain/incident.js';
import type { Reply } from '../ports/reply.js';
import { DeliveryRefused, type ChatPort, type PostOnce } from '../ports/chat.js';
import type { Store } from '../ports/store.js';
import { PermanentJobError, RetryLater } from './worker.js';

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

/**
 * For a job that needs the incident's war room before it is there: a retry after `retryMs` while the
 * war-room job may still open it, or, once that job is dead, a permanent failure (it never will).
 */
export async function waitForWarRoom(store: Store, incident: Incident, retryMs = 2_000): Promise<never> {
  if ((await store.jobs.state(`war-room:${incident.id}`)) === 'dead')
    throw new PermanentJobError(`the war room of ${incidentKey(incident.id)} could not be opened`);
  throw new RetryLater(`the war room of ${incidentKey(incident.id)} is not open yet`, retryMs);
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
