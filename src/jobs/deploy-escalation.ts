// When a rollback fails (automatic or asked for), the target is left broken and no button will fix
// it: people must act now. The escalation names the request, why it failed and what the cluster
// shows, in the escalation channel and in the war room (or, with no incident, the card's room).
import { requestTarget } from '../config/environments.js';
import { requestKey } from '../domain/deploy-request.js';
import { channelReply, mention } from '../ports/reply.js';
import type { DeployJobDeps, DeployJobOptions } from './deploy-jobs.js';

import { describeCluster } from './deploy-targets.js';
import { postOrReason } from './job-helpers.js';
import { PermanentJobError } from './worker.js';
import { ESCALATE_REQUEST, type JobHandlers } from '../ports/jobs.js';

export function createDeployEscalationJobs(
  deps: Omit<DeployJobDeps, keyof DeployJobOptions | 'git'>,
): Pick<JobHandlers, typeof ESCALATE_REQUEST> {
  const { store, config, clock, cluster } = deps;
  return {
    async [ESCALATE_REQUEST](payload, { step, job }) {
      const request = await store.deploys.get(Number(payload.requestId));
      if (!request) throw new PermanentJobError(`request ${String(payload.requestId)} does not exist`);
      const chat = deps.chats[request.platform];
      if (!chat)
        throw new Error(
          `${request.platform} is not connected; the escalation of ${requestKey(request.id)} waits until it is`,
        );
      const key = requestKey(request.id);
      const k = requestTarget(config, request.service, request.environment)?.kubernetes;
      const shows = await step('read-cluster', async () => {
        if (!cluster || !k) return 'nothing: the cluster is not connected to firelane';
        try {
          return await describeCluster(cluster, k, request.strategy, request.container);
        } catch (error) {
          return `nothing: it could not be read (${error instanceof Error ? error.message : String(error)})`;
        }
      });
      const incident = request.incidentId === null ? undefined : await store.incidents.get(request.incidentId);
      const warRoom = incident?.roomId && incident.platform === request.platform ? incident.roomId : request.roomId;
      const text =
        `🔺 *${request.service} in ${request.environment} needs a person now.* ${key} (${request.kind} requested by ${mention(request.requester)}) failed: ${request.reason ?? 'no reason recorded'}. ` +
        `The cluster shows: ${shows}. firelane will not change it again by itself: fix it by hand, or request /rollback ${request.service} --env=${request.environment} --to=<version or revision>.`;
      const rooms = [...new Set([chat.escalationRoom, warRoom].filter((room): room is string => !!room))];
      const refused: string[] = [];
      for (const room of rooms) {
        const reason = await step(`post:${room}`, (once) => postOrReason(chat, room, channelReply(text), once));
        if (reason) refused.push(`${room}: ${reason}`);
      }
      if (incident) {
        await store.incidents.addEventOnce({
          incidentId: incident.id,
          at: clock.now(),
          actor: 'firelane',
          platform: request.platform,
          kind: `${request.kind}_escalated`,
          text: `${key} escalated: ${request.service} (${request.environment}) left broken; the cluster shows: ${shows}${refused.length ? ` (not delivered to ${refused.join('; ')})` : ''}`,
          data: { request: key },
          dedupeKey: job.key,
        });
      }
    },
  };
}
