// Outbox jobs of the incident lifecycle: open the war room, broadcast an event. Every external
// call is a named step, so a retry (or a restart) repeats only what has not happened.
import type { Logger } from 'pino';
import { idsOn, type IdentityPlatform } from '../domain/identity.js';
import type { FileConfig } from '../config.js';
import { incidentKey, warRoomName, type Incident } from '../domain/incident.js';

import { declarerText, incidentCard, roomText, severityLabel } from '../views/incident-card.js';
import { alertActorName } from '../domain/alert.js';
import { channelReply, mention, type Reply } from '../ports/reply.js';
import { RoomNameTaken, type ChatPort, type PostOnce } from '../ports/chat.js';
import { loadIncident, postOrReason, waitForWarRoom } from './job-helpers.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { PermanentJobError, RetryLater, type JobContext } from './worker.js';
import { postChecklist } from './playbook-jobs.js';
import {
  BROADCAST,
  type JobHandlers,
  OPEN_WAR_ROOM,
  PIN_MESSAGE,
  REFRESH_INCIDENT_CARD,
  REFRESH_TOPIC,
} from '../ports/jobs.js';

export interface IncidentJobDeps {
  store: Store;
  chats: Partial<Record<string, ChatPort>>;
  config: FileConfig;
  clock: Clock;
  logger: Logger;
}

const MAX_NAME_ATTEMPTS = 20;

export function createIncidentJobs(
  deps: IncidentJobDeps,
): Pick<JobHandlers, typeof BROADCAST | typeof OPEN_WAR_ROOM | typeof PIN_MESSAGE | typeof REFRESH_INCIDENT_CARD> {
  const { store, config, clock } = deps;

  const load = (payload: { incidentId: number }) => loadIncident(deps, payload);

  const cardReply = async (incident: Incident): Promise<Reply> =>
    channelReply('', incidentCard(incident, await store.hotfixes.ofIncident(incident.id)));

  /**
   * Announcements go to a channel firelane may not be allowed to post in: then the war room gets
   * a warning (once) and the job goes on, instead of retrying for minutes and dying unseen.
   */
  async function announce(chat: ChatPort, step: JobContext['step'], roomId: string, message: Reply): Promise<void> {
    const target = chat.announceRoom;
    if (!target) return;
    const refused = await step('announce', (once) => postOrReason(chat, target, message, once));
    if (refused) {
      await step('announce-warning', (once) =>
        chat.post(
          roomId,
          channelReply(
            `⚠️ Could not announce in the announcement channel (${refused}). Invite firelane there, or fix incidents.announceChannel.`,
          ),
          { once },
        ),
      );
    }
  }

  async function inviteOrWarn(chat: ChatPort, roomId: string, users: string[], once: PostOnce): Promise<unknown> {
    const { failed } = await chat.invite(roomId, users);
    if (failed.length) {
      const names = failed.map((f) => `${mention(f.userId)} (${f.reason})`).join(', ');
      await chat.post(
        roomId,
        channelReply(`⚠️ Could not invite ${names}. Check the responders in firelane's config.`),
        { once },
      );
    }
    return { invited: users.length - failed.length, failed };
  }

  async function openRoom(
    incident: Incident,
    chat: ChatPort,
    step: JobContext['step'],
    origin?: string,
  ): Promise<{ room: { id: string; name: string }; opened: Incident }> {
    const room = await step('create-room', async () => {
      // Another run of this job recorded the room after this one read its progress (a replica whose lease ran out
      // while it waited for Slack, and the one that took the job over): that room it is. `incident` was
      // read after the progress, when this run started.
      if (incident.roomId && incident.roomName) return { id: incident.roomId, name: incident.roomName };
      // The incident the room is for: the platform marks the room with it, and when a try before this one created
      // the room but its answer was lost (a crash, a reset connection), the platform finds that room by its mark
      // instead of answering "name taken", which would open a second, suffixed room. Only a room provably this
      // incident's is taken; any other room of the name still moves on to the next name.
      const owner = { key: incidentKey(incident.id), declaredAt: incident.declaredAt };
      for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
        const name = warRoomName(config.incidents.channelPrefix, incident.id, incident.title, attempt);
        try {
          return await chat.createRoom(name, { ...(origin !== undefined && { origin }), incident: owner });
        } catch (error) {
          if (!(error instanceof RoomNameTaken)) throw error;
        }
      }
      throw new PermanentJobError(`no free room name for ${incidentKey(incident.id)} after ${MAX_NAME_ATTEMPTS} tries`);
    });
    // Checked on the incident read in the transaction (PostgreSQL holds its row): another run of this
    // job recording the same room meanwhile leaves nothing to record. Returns the incident as it stands
    // with its room, for what the job posts next.
    const opened = await store.transaction(async () => {
      const current = (await store.incidents.get(incident.id))!;
      if (current.roomId === room.id) return current;
      const updated = await store.incidents.update(
        incident.id,
        { roomId: room.id, roomName: room.name },
        { actor: 'firelane', platform: incident.platform, action: 'incident.war_room_opened' },
        current,
      );
      await store.incidents.addEvent({
        incidentId: incident.id,
        at: clock.now(),
        actor: 'firelane',
        platform: incident.platform,
        kind: 'war_room_opened',
        text: `War room ${room.name} opened`,
      });
      await store.jobs.enqueue({
        kind: REFRESH_TOPIC,
        key: `topic:${incident.id}:opened`,
        payload: { incidentId: incident.id },
      });
      return updated;
    });
    return { room, opened };
  }

  /** Runs independent steps together; fails (for a retry) only after all have settled. */
  async function all(steps: Array<Promise<unknown>>): Promise<void> {
    const results = await Promise.allSettled(steps);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  return {
    async [OPEN_WAR_ROOM](payload, { step }) {
      const { incident, chat } = await load(payload);
      const { room, opened } = await openRoom(
        incident,
        chat,
        step,
        typeof payload.origin === 'string' ? payload.origin : undefined,
      );
      const severity = config.incidents.severities[incident.severity];
      // Responders as their ids on this incident's platform (a person's Slack id on Slack, and so on).
      const responders = idsOn(incident.platform as IdentityPlatform, severity.responders, config.people);
      const invitees = [
        ...new Set([incident.declaredBy, ...responders, ...(incident.commander ? [incident.commander] : [])]),
      ].filter((id) => alertActorName(id) === undefined); // declared by an alert: nobody to invite for it
      await all([
        // First: post card -> pin it is the longest chain (the war room is ready when it ends).
        (async () => {
          const cardId = await step('post-card', async (once) => chat.post(room.id, await cardReply(opened), { once }));
          if (opened.cardRef !== cardId)
            await store.incidents.update(
              incident.id,
              { cardRef: cardId },
              { actor: 'firelane', platform: incident.platform, action: 'incident.card_posted' },
            );
          await step('pin-card', () => chat.pin(room.id, cardId));
        })(),
        step('invite', (once) => inviteOrWarn(chat, room.id, invitees, once)),
        announce(
          chat,
          step,
          room.id,
          channelReply(
            `🚨 *${incidentKey(incident.id)}* ${severityLabel(incident.severity)} declared by ${declarerText(incident.declaredBy)}: ${incident.title}\nWar room: ${roomText(opened)}`,
          ),
        ),
      ]);
      // After the incident card, so the checklist reads below it in the room.
      await postChecklist(store, opened, chat, room.id, step);
    },

    async [PIN_MESSAGE](payload, { step, job }) {
      const { incident, chat } = await load(payload);
      const roomId = String(payload.roomId);
      const messageId = String(payload.messageId);
      const message = await step('read', () => chat.readMessage(roomId, messageId));
      if (!message) return; // deleted before we could read it
      const text = Array.from(message.text.trim() || '(a message without text)');
      await store.incidents.addEventOnce({
        incidentId: incident.id,
        at: clock.now(),
        actor: String(payload.actor),
        platform: String(payload.platform ?? incident.platform),
        kind: 'pinned_message',
        text: `📌 ${mention(message.author)}: ${text.length > 2000 ? `${text.slice(0, 2000).join('')}…` : text.join('')}`,
        data: { roomId, messageId, author: message.author },
        dedupeKey: job.key,
      });
    },

    async [REFRESH_INCIDENT_CARD](payload, { step }) {
      const { incident, chat } = await load(payload);
      if (!incident.roomId || !incident.cardRef) {
        if ((await store.jobs.state(`war-room:${incident.id}`)) === 'dead') return;
        throw new RetryLater(`the war room of ${incidentKey(incident.id)} is not open yet`, 2_000);
      }
      const { roomId, cardRef } = incident;
      await step('card', async () =>
        chat.update(roomId, cardRef, await cardReply((await store.incidents.get(incident.id))!)),
      );
    },

    async [BROADCAST](payload, { step }) {
      const { incident, chat } = await load(payload);
      if (!incident.roomId || !incident.cardRef) return await waitForWarRoom(store, incident);
      const roomId = incident.roomId;
      const event = await store.incidents.event(Number(payload.eventId));
      if (!event) throw new PermanentJobError(`timeline event ${String(payload.eventId)} does not exist`);
      // Who did it goes with the first line: after the last one of a longer text (a resolution's root
      // cause and action items) it would read as part of that line.
      const [headline, ...details] = event.text.split('\n');
      const line = [`*${incidentKey(incident.id)}* ${headline} — ${declarerText(event.actor)}`, ...details].join('\n');
      const invite = Array.isArray(payload.invite) ? payload.invite.map(String) : [];
      await all([
        step('room', (once) => chat.post(roomId, channelReply(line), { once })),
        invite.length ? step('invite', (once) => inviteOrWarn(chat, roomId, invite, once)) : Promise.resolve(),
        payload.announce === true
          ? announce(chat, step, roomId, channelReply(`${line}\nWar room: ${roomText(incident)}`))
          : Promise.resolve(),
        // The card always shows the latest state: read it now, not when the event was recorded.
        step('card', async () =>
          chat.update(roomId, incident.cardRef!, await cardReply((await store.incidents.get(incident.id))!)),
        ),
      ]);
    },
  };
}
