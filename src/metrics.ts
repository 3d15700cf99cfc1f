// Prometheus metrics, all prefixed firelane_, on a registry of our own (no global state).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** 1 min .. 1 day. */
const INCIDENT_BUCKETS = [60, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'firelane_' });
  return {
    registry,
    ackLatency: new Histogram({
      name: 'firelane_ack_latency_seconds',
      help: 'Time from a request arriving to its acknowledgement, per command',
      labelNames: ['platform', 'command'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5], // 3 s: Slack's limit for an acknowledgement
      registers: [registry],
    }),
    commandsTotal: new Counter({
      name: 'firelane_commands_total',
      help: 'Commands handled, by outcome (ok, invalid, refused, error, duplicate)',
      labelNames: ['platform', 'command', 'outcome'],
      registers: [registry],
    }),
    jobsTotal: new Counter({
      name: 'firelane_jobs_total',
      help: 'Outbox job runs by kind and outcome (done, retry, dead)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    jobQueueDepth: new Gauge({
      name: 'firelane_job_queue_depth',
      help: 'Outbox jobs by status',
      labelNames: ['status'],
      registers: [registry],
    }),
    jobOldestAge: new Gauge({
      name: 'firelane_job_oldest_due_age_seconds',
      help: 'Age of the oldest due job still waiting to run',
      registers: [registry],
    }),
    openIncidents: new Gauge({
      name: 'firelane_open_incidents',
      help: 'Open incidents by severity',
      labelNames: ['severity'],
      registers: [registry],
    }),
    remindersTotal: new Counter({
      name: 'firelane_reminders_total',
      help: 'Status-update reminders that came due',
      registers: [registry],
    }),
    escalationsTotal: new Counter({
      name: 'firelane_escalations_total',
      help: 'Escalations after missed status updates',
      registers: [registry],
    }),
    deploysTotal: new Counter({
      name: 'firelane_deploys_total',
      help: 'Deploy and rollback requests that ended, by kind (deploy, rollback), strategy and outcome (succeeded, failed, rolled_back, rejected, expired, void)',
      labelNames: ['kind', 'strategy', 'outcome'],
      registers: [registry],
    }),
    deployDuration: new Histogram({
      name: 'firelane_deploy_duration_seconds',
      help: 'Execution time of deploys and rollbacks (approval to the end of the health window), by kind, strategy and outcome',
      labelNames: ['kind', 'strategy', 'outcome'],
      buckets: [10, 30, 60, 120, 300, 600, 900, 1800, 3600],
      registers: [registry],
    }),
    timeToMitigate: new Histogram({
      name: 'firelane_incident_time_to_mitigate_seconds',
      help: 'Declaration to the first "monitoring" update (or to resolution without one), by severity at that moment',
      labelNames: ['severity'],
      buckets: INCIDENT_BUCKETS,
      registers: [registry],
    }),
    timeToResolve: new Histogram({
      name: 'firelane_incident_time_to_resolve_seconds',
      help: 'Declaration to the first resolution, by severity at that moment',
      labelNames: ['severity'],
      buckets: INCIDENT_BUCKETS,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'firelane_upstream_errors_total',
      help: 'Errors from upstream APIs by service and status or error code',
      labelNames: ['service', 'status'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
