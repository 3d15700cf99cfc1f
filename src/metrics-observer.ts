// Metrics that follow from state changes: every change is in the audit log, so the committed
// audit entries are the one place to hear that a deploy ended or an incident was mitigated or
// resolved, whichever command, job or reconcile caused it.
import type { Logger } from 'pino';
import type { CommittedEntry } from './adapters/db/audit-store.js';
import { isFinal, parseRequestKey, type RequestStatus } from './domain/deploy-request.js';
import type { Metrics } from './metrics.js';
import type { Store } from './ports/store.js';

type Fields = Record<string, unknown> | null | undefined;

const fields = (value: unknown): Fields =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;

export function createMetricsObserver(
  metrics: Metrics,
  store: Pick<Store, 'deploys' | 'incidents'>,
  logger: Logger,
): (entry: CommittedEntry) => void {
  async function deployEnded(entry: CommittedEntry): Promise<void> {
    const after = fields(entry.after);
    const status = after?.status as RequestStatus | undefined;
    if (typeof status !== 'string' || !isFinal(status) || fields(entry.before)?.status === status) return;
    const id = typeof after?.request === 'string' ? parseRequestKey(after.request) : undefined;
    const request = id === undefined ? undefined : await store.deploys.get(id);
    if (!request) return;
    const labels = { kind: request.kind, strategy: request.strategy, outcome: status };
    metrics.deploysTotal.inc(labels);
    if (request.startedAt !== null && request.finishedAt !== null)
      metrics.deployDuration.observe(labels, (request.finishedAt - request.startedAt) / 1000);
  }

  /** The first `monitoring` update mitigates; the first resolution resolves (and mitigates, without one). */
  async function incidentMilestone(entry: CommittedEntry, kind: 'status_update' | 'resolved'): Promise<void> {
    const after = fields(entry.after);
    if (entry.incidentId === null || typeof after?.eventId !== 'number') return;
    if (kind === 'status_update' && fields(after.data)?.status !== 'monitoring') return;
    const incident = await store.incidents.get(entry.incidentId);
    if (!incident) return;
    const timeline = await store.incidents.timeline(entry.incidentId);
    const firstOf = (match: (e: (typeof timeline)[number]) => boolean) =>
      timeline.filter(match).sort((a, b) => a.at - b.at || a.id - b.id)[0];
    const monitoring = firstOf((e) => e.kind === 'status_update' && e.data?.status === 'monitoring');
    const resolved = firstOf((e) => e.kind === 'resolved');
    const since = (at: number) => (at - incident.declaredAt) / 1000;
    const labels = { severity: incident.severity };
    if (kind === 'status_update') {
      if (monitoring?.id === after.eventId && (!resolved || resolved.at > monitoring.at))
        metrics.timeToMitigate.observe(labels, since(monitoring.at));
      return;
    }
    if (resolved?.id !== after.eventId) return;
    metrics.timeToResolve.observe(labels, since(resolved.at));
    if (!monitoring || monitoring.at > resolved.at) metrics.timeToMitigate.observe(labels, since(resolved.at));
  }

  async function observe(entry: CommittedEntry): Promise<void> {
    if (entry.action.startsWith('deploy.') || entry.action.startsWith('rollback.')) await deployEnded(entry);
    else if (entry.action === 'timeline.status_update') await incidentMilestone(entry, 'status_update');
    else if (entry.action === 'timeline.resolved') await incidentMilestone(entry, 'resolved');
  }

  return (entry) => {
    observe(entry).catch((error: unknown) =>
      logger.warn({ err: error, action: entry.action }, 'metrics: could not record a state change'),
    );
  };
}
