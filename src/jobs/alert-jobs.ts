// The work of a stored alert delivery: its group's state and incident (jobs/alert-outcome.ts), else a
// triage card with a Declare button; and the question to a war room whose alerts resolved.
import type { Logger } from 'pino';
import type { FileConfig } from '../config.js';
import { alertGroupId, alertTitle, firstRule, groupLabelsOf, ruleService, type AlertRule } from '../domain/alert.js';
import { parseSeverity, type Severity } from '../domain/severity.js';
import { DeliveryRefused, type ChatPort } from '../ports/chat.js';
import type { Clock } from '../ports/clock.js';
import { ALERT_DELIVERY, ALERT_RESOLVE_PROMPT, type JobHandlers } from '../ports/jobs.js';
import type { Store } from '../ports/store.js';
import { triageCard } from '../views/alert-card.js';
import { resolvePrompt } from '../views/alert-group-card.js';
import { offerRollback } from './alert-deploys.js';
import { recordDelivery } from './alert-outcome.js';
import { loadIncident, postOrReason, waitForWarRoom } from './job-helpers.js';
import { RetryLater } from './worker.js';

export interface AlertJobDeps {
  store: Store;
  chats: Partial<Record<string, ChatPort>>;
  config: FileConfig;
  clock: Clock;
  logger: Logger;
  /** Where alert incidents and triage cards go: Slack when connected, else Teams, else the console. */
  platform: string;
}

/** How long one delivery may hold its group (it holds it for one transaction). */
const GROUP_LEASE_MS = 30_000;
/** The Declare button's severity when the alert's `severity` label is not one (sev0..sev3). */
const TRIAGE_SEVERITY: Severity = 'sev2';

export function createAlertJobs(
  deps: AlertJobDeps,
): Pick<JobHandlers, typeof ALERT_DELIVERY | typeof ALERT_RESOLVE_PROMPT> {
  const { store, config } = deps;
  const log = deps.logger.child({ component: 'alerts' });

  return {
    async [ALERT_DELIVERY]({ delivery }, { job, step }) {
      const group = alertGroupId(delivery);
      const labels = groupLabelsOf(delivery);
      const rule = firstRule(config.alerts.rules, labels);
      const service = rule && ruleService(rule, labels);
      const title = alertTitle(delivery);
      // One transaction: the group's state and incident are found, joined or declared together with its
      // event, so a retry after a crash finds the group tied and does nothing twice.
      const decide = () => store.transaction(() => recordDelivery(deps, delivery, job, rule, service));
      // Two deliveries of one group (say firing, then more alerts firing) may run at once on two
      // workers or replicas: a lease per group lets only one of them find no incident and declare. With
      // attachWindow, groups of one service join one incident: a lease per service too, taken second.
      const leases = [
        `alert-group:${group}`,
        ...(service && config.alerts.attachWindowMs ? [`alert-service:${service}`] : []),
      ];
      /** What follows the recorded delivery: the rollback offer, else the group's triage card. */
      const handle = async (outcome: Awaited<ReturnType<typeof decide>>): Promise<void> => {
        log.info(
          {
            group: outcome.group.id,
            incident: outcome.incident?.id,
            how: outcome.how,
            resolution: outcome.resolution,
            status: delivery.status,
            groupStatus: outcome.group.status,
            reason: delivery.notificationReason,
          },
          'alert recorded',
        );
        // A recent deploy of the service: its rollback offered, or its health check failed (alert-deploys.ts).
        await offerRollback(deps, { delivery, service, incident: outcome.incident });
        if (outcome.incident) return;
        // A group that declared nothing open: its triage card, posted once and then kept up to date.
        const channel = config.alerts.triageChannel;
        const chat = deps.chats[deps.platform];
        if (outcome.group.cardRef && channel && chat) {
          const card = triageCard(delivery, title, triageSeverity(labels, rule), outcome.group.id);
          const refused = await step('triage-card-update', async () => {
            try {
              await chat.update(channel, outcome.group.cardRef!, card);
              return null;
            } catch (error) {
              if (error instanceof DeliveryRefused) return error.reason;
              throw error;
            }
          });
          if (refused) log.warn({ channel, reason: refused }, 'could not update the triage card');
          return;
        }
        // A resolved group that declared nothing open has nothing left to say.
        if (outcome.group.status === 'resolved') return;
        if (!channel || !chat) {
          log.warn(
            { receiver: delivery.receiver },
            'alert matched no declaring rule and alerts.triageChannel is not set: not posted',
          );
          return;
        }
        const card = triageCard(delivery, title, triageSeverity(labels, rule), outcome.group.id);
        const posted = await step('triage-card', async (once) => {
          try {
            return { ref: await chat.post(channel, card, { once }) };
          } catch (error) {
            if (error instanceof DeliveryRefused) return { refused: error.reason };
            throw error;
          }
        });
        // (null: recorded by an older firelane that kept no message id.)
        if (posted && 'refused' in posted)
          log.warn({ channel, reason: posted.refused }, 'could not post the triage card');
        else if (posted) await store.alertGroups.update(outcome.group.id, { cardRef: posted.ref });
      };
      const holder = `job:${job.id}:${job.createdAt}`;
      const held: Array<[string, number]> = [];
      // Held until the triage card is posted too: the other delivery then finds the card to update.
      try {
        for (const lease of leases) {
          const epoch = await store.leases.acquire(lease, holder, GROUP_LEASE_MS);
          if (epoch === undefined)
            throw new RetryLater(
              `another delivery of this alert ${lease.startsWith('alert-group:') ? 'group' : 'service'} is being handled`,
              500,
            );
          held.push([lease, epoch]);
        }
        await handle(await decide());
      } finally {
        for (const [lease, epoch] of held.reverse()) await store.leases.release(lease, holder, epoch);
      }
    },

    async [ALERT_RESOLVE_PROMPT](payload, { step }) {
      const { incident, chat } = await loadIncident(deps, payload);
      // Resolved meanwhile (by a person, or by a later delivery): nothing to ask.
      if (incident.status === 'resolved') return;
      if (!incident.roomId) return await waitForWarRoom(store, incident);
      const roomId = incident.roomId;
      const stillFiring = (await store.alertGroups.ofIncident(incident.id)).filter((g) => g.status === 'firing');
      const refused = await step('prompt', (once) =>
        postOrReason(chat, roomId, resolvePrompt(incident, stillFiring.length), once),
      );
      if (refused) log.warn({ incident: incident.id, reason: refused }, 'could not ask the war room to resolve');
    },
  };
}

/** The Declare button's severity: the alert's `severity` label when it is one, else the rule's, else sev2. */
const triageSeverity = (labels: Record<string, string>, rule: AlertRule | undefined): Severity =>
  parseSeverity(labels.severity ?? '') ?? rule?.declare ?? TRIAGE_SEVERITY;
