// Outbox jobs of the checklist: post it in a new war room, and re-render it in place after a tick.
import { incidentKey, type Incident } from '../domain/incident.js';

import { checklistCard } from '../views/playbook-card.js';
import { channelReply, type Reply } from '../ports/reply.js';
import type { ChatPort } from '../ports/chat.js';
import type { PlaybookItem, Store } from '../ports/store.js';
import { PermanentJobError, RetryLater, type JobContext } from './worker.js';
import { type JobHandlers, REFRESH_CHECKLIST } from '../ports/jobs.js';

export interface PlaybookJobDeps {
  store: Store;
  chats: Partial<Record<string, ChatPort>>;
}

/** Re-renders after a chat.update this many times at most when ticks keep landing meanwhile. */
const MAX_RENDERS = 3;

const checklistReply = (incident: Incident, items: PlaybookItem[]): Reply =>
  channelReply('', checklistCard(incident, items));
const sameItems = (a: PlaybookItem[], b: PlaybookItem[]) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A step of the open-war-room job, once the room exists: posts the checklist card (unpinned; the
 * incident card is the pinned one) and remembers its message id for the in-place updates.
 */
export async function postChecklist(
  store: Store,
  incident: Incident,
  chat: ChatPort,
  roomId: string,
  step: JobContext['step'],
): Promise<void> {
  // Read when posted (the room is open by now), so a tick made while it was being opened is shown too.
  const items = await store.playbooks.items(incident.id);
  if (items.length === 0) return;
  const ref = await step('post-checklist', async (once) =>
    chat.post(roomId, checklistReply((await store.incidents.get(incident.id)) ?? incident, items), { once }),
  );
  // Checked on the row held for the update (another run of the job may have recorded it meanwhile).
  await store.transaction(async () => {
    const current = await store.incidents.get(incident.id);
    if (!current || current.playbookRef === ref) return;
    await store.incidents.update(
      incident.id,
      { playbookRef: ref },
      { actor: 'firelane', platform: incident.platform, action: 'incident.checklist_posted' },
      current,
    );
  });
}

export function createPlaybookJobs(deps: PlaybookJobDeps): Pick<JobHandlers, typeof REFRESH_CHECKLIST> {
  const { store } = deps;
  return {
    async [REFRESH_CHECKLIST](payload, { step }) {
      const id = Number(payload.incidentId);
      const incident = await store.incidents.get(id);
      if (!incident) throw new PermanentJobError(`incident ${String(payload.incidentId)} does not exist`);
      if (!incident.roomId || !incident.playbookRef) {
        // The open-war-room job posts the card with the latest state; wait only while it may still do so.
        const warRoom = await store.jobs.state(`war-room:${id}`);
        if (warRoom === 'queued' || warRoom === 'running')
          throw new RetryLater(`the checklist of ${incidentKey(id)} is not posted yet`, 2_000);
        return;
      }
      const chat = deps.chats[incident.platform];
      if (!chat) throw new Error(`${incident.platform} is not connected; ${incidentKey(id)} waits until it is`);
      const { roomId, playbookRef } = incident;
      await step('update', async () => {
        // Jobs of two quick ticks may finish out of order: render again until what is shown is what is stored.
        for (let render = 0; render < MAX_RENDERS; render++) {
          const items = await store.playbooks.items(id);
          await chat.update(roomId, playbookRef, checklistReply((await store.incidents.get(id)) ?? incident, items));
          if (sameItems(items, await store.playbooks.items(id))) break;
        }
        return null;
      });
    },
  };
}
