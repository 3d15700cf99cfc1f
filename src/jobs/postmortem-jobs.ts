// Outbox job of /incident postmortem: upload the Markdown draft to the war room as a file.
import { loadIncident } from './job-helpers.js';
import { incidentKey } from '../domain/incident.js';
import { postmortemFilename, postmortemFor } from '../views/postmortem-markdown.js';
import { DeliveryRefused, type ChatPort } from '../ports/chat.js';
import type { Store } from '../ports/store.js';
import { PermanentJobError } from './worker.js';
import { type JobHandlers, UPLOAD_POSTMORTEM } from '../ports/jobs.js';

export interface PostmortemJobDeps {
  store: Store;
  chats: Partial<Record<string, ChatPort>>;
}

export function createPostmortemJobs({ store, chats }: PostmortemJobDeps): Pick<JobHandlers, typeof UPLOAD_POSTMORTEM> {
  return {
    async [UPLOAD_POSTMORTEM](payload, { step }) {
      const { incident, chat } = await loadIncident({ store, chats }, payload);
      const key = incidentKey(incident.id);
      const roomId = incident.roomId;
      if (!roomId) throw new PermanentJobError(`${key} has no war room to upload its postmortem to`);
      // The document the command showed: the same events and the same generation time.
      const { markdown } = await postmortemFor(store, incident, {
        now: Number(payload.at),
        events: Number(payload.events),
      });
      await step('upload', async () => {
        try {
          return await chat.uploadFile(roomId, {
            filename: postmortemFilename(incident),
            title: `Postmortem draft: ${key} — ${incident.title}`,
            content: markdown,
          });
        } catch (error) {
          if (error instanceof DeliveryRefused)
            throw new PermanentJobError(`cannot upload the postmortem of ${key}: ${error.reason}`);
          throw error;
        }
      });
    },
  };
}
