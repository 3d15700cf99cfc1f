// Jobs of the reminder cycle: remind the commander, escalate a silence, keep the war room's topic
// current, and ask for the postmortem two days after resolution. A job whose reason went away
// while it waited (an update arrived, a snooze started, the incident was resolved) posts nothing.
import { formatDuration } from '../domain/duration.js';
import { incidentKey, type Incident } from '../domain/incident.js';

import { roomText, severityLabel, topicText } from '../views/incident-card.js';
import { channelReply, mention, type Reply } from '../ports/reply.js';
import { loadIncident, postOrReason } from './job-helpers.js';
import type { IncidentJobDeps } from './incident-jobs.js';

import { RetryLater } from './worker.js';
import { ESCALATE, type JobHandlers, POSTMORTEM_REMINDER, REFRESH_TOPIC, REMIND } from '../ports/jobs.js';

const UPDATE_HOW = '`/incident update <investigating|identified|monitoring> <text>`';

export function createReminderJobs(
  deps: IncidentJobDeps,
): Pick<JobHandlers, typeof ESCALATE | typeof POSTMORTEM_REMINDER | typeof REFRESH_TOPIC | typeof REMIND> {
  const { store, config, clock } = deps;

  const load = (payload: { incidentId: number }) => loadIncident(deps, payload);

  /**
   * Still worth saying: open, not snoozed, and no update since the reminder was due. A war room
   * that is still being opened (Slack slow or down) is waited for, not skipped.
   */
  async function stillDue(incident: Incident, payload: { missed: number }): Promise<boolean> {
    const now = clock.now();
    const due =
      incident.status !== 'resolved' &&
      incident.missedReminders >= Number(payload.missed) &&
      !(incident.snoozedUntil !== null && incident.snoozedUntil > now);
    if (due && incident.roomId === null) {
      if ((await store.jobs.state(`war-room:${incident.id}`)) === 'dead') return false;
      throw new RetryLater(`the war room of ${incidentKey(incident.id)} is not open yet`, 5_000);
    }
    return due;
  }

  function reminder(incident: Incident, missed: number): Reply {
    const key = incidentKey(incident.id);
    const silence = formatDuration(clock.now() - incident.lastUpdateAt);
    const policy = config.incidents.severities[incident.severity];
    const countdown =
      policy.escalateAfterMissed > 0
        ? ` Reminder ${missed}; it escalates after ${policy.escalateAfterMissed} in a row.`
        : '';
    if (!incident.commander) {
      return channelReply(
        `⏰ *${key}* (${severityLabel(incident.severity)}) has no incident commander and no status update for ${silence}.${countdown}`,
        {
          title: 'Status update due',
          text: `Take command, then post an update: ${UPDATE_HOW}`,
          fields: [],
          buttons: [{ label: 'Take command', command: `incident lead ${key} @me --take`, style: 'primary' }],
        },
      );
    }
    return channelReply(
      `⏰ ${mention(incident.commander)}: *${key}* (${severityLabel(incident.severity)}) has had no status update for ${silence}. Post one: ${UPDATE_HOW}${countdown}`,
    );
  }

  return {
    async [REMIND](payload, { step }) {
      const { incident, chat } = await load(payload);
      if (!(await stillDue(incident, payload))) return; // what made it moot (an update, a snooze) refreshed the topic
      await step('post', (once) => chat.post(incident.roomId!, reminder(incident, Number(payload.missed)), { once }));
      // The tick moved "next update due": the reminder carries the topic along (one job, not two,
      // per due incident: fewer writes in the tick's transaction).
      await step('topic', () => chat.setTopic(incident.roomId!, topicText(incident, clock.now())));
    },

    async [ESCALATE](payload, { step, job }) {
      const { incident, chat } = await load(payload);
      if (!(await stillDue(incident, payload))) return;
      const key = incidentKey(incident.id);
      const silence = formatDuration(clock.now() - incident.lastUpdateAt);
      const commander = incident.commander ? mention(incident.commander) : 'nobody (no commander)';
      const target = chat.escalationRoom;
      const refused = target
        ? await step('escalate', (once) =>
            postOrReason(
              chat,
              target,
              channelReply(
                `🔺 *Escalation: ${key}* ${severityLabel(incident.severity)} "${incident.title}" has had no status update for ${silence} (${String(payload.missed)} reminders missed). Commander: ${commander}. War room: ${roomText(incident)}`,
              ),
              once,
            ),
          )
        : 'no escalation channel is configured';
      await step('room', (once) =>
        chat.post(
          incident.roomId!,
          channelReply(
            `🔺 ${incident.commander ? `${mention(incident.commander)}: ` : ''}${key} ${refused ? `should have been escalated, but ${refused}` : 'was escalated'}: ${String(payload.missed)} reminders without a status update (${silence}). Post one now: ${UPDATE_HOW}`,
          ),
          { once },
        ),
      );
      await store.incidents.addEventOnce({
        incidentId: incident.id,
        at: clock.now(),
        actor: 'firelane',
        platform: incident.platform,
        kind: 'escalated',
        text: `Escalated: no status update for ${silence} (${String(payload.missed)} reminders missed)${refused ? `; escalation channel unavailable: ${refused}` : ''}`,
        data: { missed: Number(payload.missed), dueAt: Number(payload.dueAt) },
        dedupeKey: job.key,
      });
    },

    async [REFRESH_TOPIC](payload, { step }) {
      const { incident, chat } = await load(payload);
      if (!incident.roomId) return; // the war room sets its topic when it opens
      await step('topic', () => chat.setTopic(incident.roomId!, topicText(incident, clock.now())));
    },

    async [POSTMORTEM_REMINDER](payload, { step }) {
      const { incident, chat } = await load(payload);
      if (incident.status !== 'resolved' || incident.resolvedAt !== Number(payload.resolvedAt) || !incident.roomId)
        return;
      const key = incidentKey(incident.id);
      const who = incident.commander ? `${mention(incident.commander)}: ` : '';
      await step('post', (once) =>
        chat.post(
          incident.roomId!,
          channelReply(
            `📝 ${who}${key} was resolved two days ago. Time for the postmortem: \`/incident postmortem ${key}\` drafts it from the timeline.`,
          ),
          { once },
        ),
      );
    },
  };
}
