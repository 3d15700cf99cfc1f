// The work of a stored alert delivery: join the incident its group declared, declare one (the first
// matching rule with `declare`), or post a triage card with a Declare button.
import type { Logger } from 'pino';
import type { FileConfig } from '../config.js';
import {
  ALERTMANAGER_ACTOR,
  alertGroupId,
  alertTitle,
  firstRule,
  groupLabelsOf,
  ruleService,
} from '../domain/alert.js';
import type { Incident } from '../domain/incident.js';
import { parseSeverity, type Severity } from '../domain/severity.js';
import { recordDeclaration } from '../flows/declare-incident.js';
import type { ChatPort } from '../ports/chat.js';
import type { Clock } from '../ports/clock.js';
import { ALERT_DELIVERY, BROADCAST, type JobHandlers } from '../ports/jobs.js';
import type { Store } from '../ports/store.js';
import { deliverySummary, triageCard } from '../views/alert-card.js';
import { offerRollback } from './alert-deploys.js';
import { postOrReason } from './job-helpers.js';
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
/** How many open incidents are searched for a group's incident. */
const OPEN_SEARCHED = 500;
/** The Declare button's severity when the alert's `severity` label is not one (sev0..sev3). */
const TRIAGE_SEVERITY: Severity = 'sev2';

/** The open incident an earlier delivery of this group declared (its timeline has the group's `alert` event). */
async function groupIncident(store: Store, group: string): Promise<Incident | undefined> {
  for (const incident of await store.incidents.listOpen(OPEN_SEARCHED)) {
    const events = await store.incidents.timeline(incident.id);
    if (events.some((e) => e.kind === 'alert' && e.data?.group === group)) return incident;
  }
  return undefined;
}

export function createAlertJobs(deps: AlertJobDeps): Pick<JobHandlers, typeof ALERT_DELIVERY> {
  const { store, config, clock } = deps;
  const log = deps.logger.child({ component: 'alerts' });

  return {
    async [ALERT_DELIVERY]({ delivery }, { job, step }) {
      const group = alertGroupId(delivery);
      const labels = groupLabelsOf(delivery);
      const rule = firstRule(config.alerts.rules, labels);
      const service = rule && ruleService(rule, labels);
      const title = alertTitle(delivery);
      const event = (incidentId: number) => ({
        incidentId,
        at: clock.now(),
        actor: ALERTMANAGER_ACTOR,
        platform: ALERTMANAGER_ACTOR,
        kind: 'alert',
        text: deliverySummary(delivery, title),
        data: {
          group,
          status: delivery.status,
          alerts: delivery.alerts.map((a) => ({
            fingerprint: a.fingerprint,
            status: a.status,
            startsAt: a.startsAt,
            endsAt: a.endsAt,
          })),
          ...(service && { service }),
        },
        // A retried job finds its own event (committed with what it did) and adds nothing.
        dedupeKey: job.key,
      });
      // One transaction: the group's incident is found, joined or declared together with its event, so
      // a retry after a crash finds the group tied and does nothing twice.
      const decide = () =>
        store.transaction(async (): Promise<{ incident: Incident; declared: boolean } | undefined> => {
          const tied = await groupIncident(store, group);
          if (tied) {
            const added = await store.incidents.addEventOnce(event(tied.id));
            if (added)
              await store.jobs.enqueue({
                kind: BROADCAST,
                key: `broadcast:${added.id}`,
                payload: { incidentId: tied.id, eventId: added.id, announce: false },
              });
            return { incident: tied, declared: false };
          }
          if (delivery.status === 'resolved' || !rule?.declare) return undefined;
          const description = delivery.commonAnnotations.description ?? delivery.alerts[0]?.annotations.description;
          const incident = await recordDeclaration(
            { store, clock, config },
            {
              title,
              description: description ? Array.from(description).slice(0, 3000).join('') : null,
              severity: rule.declare,
              platform: deps.platform,
              via: ALERTMANAGER_ACTOR,
              actor: ALERTMANAGER_ACTOR,
            },
          );
          await store.incidents.addEventOnce(event(incident.id));
          return { incident, declared: true };
        });
      // Two deliveries of one group (say firing, then more alerts firing) may run at once on two
      // workers or replicas: a lease per group lets only one of them find no incident and declare.
      const lease = `alert-group:${group}`;
      const holder = `job:${job.id}:${job.createdAt}`;
      const epoch = await store.leases.acquire(lease, holder, GROUP_LEASE_MS);
      if (epoch === undefined) throw new RetryLater('another delivery of this alert group is being handled', 500);
      let outcome: Awaited<ReturnType<typeof decide>>;
      try {
        outcome = await decide();
      } finally {
        await store.leases.release(lease, holder, epoch);
      }
      // A recent deploy of the service: its rollback offered, or its health check failed (alert-deploys.ts).
      await offerRollback(deps, { delivery, service, incident: outcome?.incident });
      if (outcome) {
        log.info(
          { incident: outcome.incident.id, declared: outcome.declared, status: delivery.status },
          'alert recorded',
        );
        return;
      }
      // A resolved group that declared nothing open has nothing left to say.
      if (delivery.status === 'resolved') return;
      const channel = config.alerts.triageChannel;
      const chat = deps.chats[deps.platform];
      if (!channel || !chat) {
        log.warn(
          { receiver: delivery.receiver },
          'alert matched no declaring rule and alerts.triageChannel is not set: not posted',
        );
        return;
      }
      const severity = parseSeverity(labels.severity ?? '') ?? rule?.declare ?? TRIAGE_SEVERITY;
      const refused = await step('triage-card', (once) =>
        postOrReason(chat, channel, triageCard(delivery, title, severity), once),
      );
      if (refused) log.warn({ channel, reason: refused }, 'could not post the triage card');
    },
  };
}
