// Prometheus metrics, all prefixed firelane_, on a registry of our own (no global state).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'firelane_' });
  return {
    registry,
    ackLatency: new Histogram({
      name: 'firelane_ack_latency_seconds',
      help: 'Time from a request arriving to its acknowledgement, per command',
      labelNames: ['platform', 'command'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
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
    upstreamErrors: new Counter({
      name: 'firelane_upstream_errors_total',
      help: 'Errors from upstream APIs by service and status or error code',
      labelNames: ['service', 'status'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
