// Prometheus metrics, all prefixed firelane_, on a registry of our own (no global state).
// Every label value comes from a fixed set: a value from outside it is counted as `unknown`, so
// nothing typed (or answered by an upstream API) can add series to /metrics. Command names and job
// kinds are fixed where they are made (the router's and the worker's own names); here they are only
// held to their shape.
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import { REQUEST_STATUSES } from './domain/deploy-request.js';
import { SEVERITIES } from './domain/severity.js';
import { STRATEGIES } from './config/types.js';

/** 1 min .. 1 day. */
const INCIDENT_BUCKETS = [60, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

/** The label value of anything outside a label's fixed set. */
export const UNKNOWN_LABEL = 'unknown';

type Bound = (value: string) => string;
const oneOf = (...lists: ReadonlyArray<readonly string[]>): Bound => {
  const known = new Set(lists.flat());
  return (value) => (known.has(value) ? value : UNKNOWN_LABEL);
};

/**
 * Upstream failures: an HTTP status, `network`, or an error code firelane tells apart (Slack's, and
 * the Slack client's own); any other code a remote answers with is `unknown`.
 */
const UPSTREAM_CODES = [
  'network',
  'ratelimited',
  'request_error',
  'unknown_error',
  'slack_webapi_request_error',
  'slack_webapi_file_upload_invalid_args_error',
  'slack_webapi_file_upload_read_file_data_error',
  // Slack Web API errors the Slack adapter handles or that mean a setup problem.
  'already_in_channel',
  'already_pinned',
  'cant_invite',
  'cant_invite_self',
  'channel_not_found',
  'invalid_auth',
  'invalid_users',
  'is_archived',
  'method_not_supported_for_channel_type',
  'missing_scope',
  'name_taken',
  'not_authed',
  'not_in_channel',
  'restricted_action',
  'token_revoked',
  'user_disabled',
  'user_is_restricted',
  'user_is_ultra_restricted',
  'user_not_found',
  'internal_error',
  'fatal_error',
  'service_unavailable',
];
const upstreamCode = oneOf(UPSTREAM_CODES);
const upstreamStatus: Bound = (value) => (/^(?:http_)?[1-5]\d\d$/.test(value) ? value : upstreamCode(value));

/** The platforms a command can come from. */
const platform = oneOf(['slack', 'teams', 'console', 'oidc', 'cli']);
/**
 * Command labels are made by the router from its families' own subcommand names, with `unknown` for
 * anything else typed (RouterResult.command); here they only have to look like one.
 */
const command: Bound = (value) => (/^[a-z]{1,20}(?: [a-z-]{1,30})?$/.test(value) ? value : UNKNOWN_LABEL);

type Bounds<T extends string> = Record<T, Bound>;
type Labels<T extends string> = Record<T, string>;

function bounded<T extends string>(labels: Labels<T>, bounds: Bounds<T>): Labels<T> {
  const out = {} as Labels<T>;
  for (const name of Object.keys(bounds) as T[]) out[name] = bounds[name](String(labels[name] ?? ''));
  return out;
}

/** A counter whose every label value passes its bound. */
function counter<T extends string>(config: CounterConfiguration<T>, bounds: Bounds<T>) {
  const metric = new Counter<T>({ ...config, labelNames: Object.keys(bounds) as T[] });
  return { inc: (labels: Labels<T>, value?: number) => metric.inc(bounded(labels, bounds), value) };
}

function gauge<T extends string>(config: GaugeConfiguration<T>, bounds: Bounds<T>) {
  const metric = new Gauge<T>({ ...config, labelNames: Object.keys(bounds) as T[] });
  return { set: (labels: Labels<T>, value: number) => metric.set(bounded(labels, bounds), value) };
}

function histogram<T extends string>(config: HistogramConfiguration<T>, bounds: Bounds<T>) {
  const metric = new Histogram<T>({ ...config, labelNames: Object.keys(bounds) as T[] });
  return { observe: (labels: Labels<T>, value: number) => metric.observe(bounded(labels, bounds), value) };
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'firelane_' });
  const severity = oneOf(SEVERITIES);
  const deployLabels = {
    kind: oneOf(['deploy', 'rollback']),
    strategy: oneOf(STRATEGIES),
    outcome: oneOf(REQUEST_STATUSES),
  };
  return {
    registry,
    ackLatency: histogram(
      {
        name: 'firelane_ack_latency_seconds',
        help: 'Time from a request arriving to its acknowledgement, per command',
        buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5], // 3 s: Slack's limit for an acknowledgement
        registers: [registry],
      },
      { platform, command },
    ),
    commandsTotal: counter(
      {
        name: 'firelane_commands_total',
        help: 'Commands handled, by outcome (ok, invalid, refused, error, duplicate); command "unknown" counts unknown commands and subcommands',
        registers: [registry],
      },
      { platform, command, outcome: oneOf(['ok', 'invalid', 'refused', 'duplicate', 'error']) },
    ),
    jobsTotal: counter(
      {
        name: 'firelane_jobs_total',
        help: 'Outbox job runs by kind and outcome (done, retry, dead)',
        registers: [registry],
      },
      // Job kinds are the worker's handler names (the worker labels a kind it has no handler for `unknown`).
      {
        kind: (value) => (/^[a-z][a-z0-9_.-]{0,40}$/.test(value) ? value : UNKNOWN_LABEL),
        outcome: oneOf(['done', 'retry', 'dead']),
      },
    ),
    jobQueueDepth: gauge(
      {
        name: 'firelane_job_queue_depth',
        help: 'Outbox jobs by status',
        registers: [registry],
      },
      { status: oneOf(['queued', 'running', 'dead']) },
    ),
    jobOldestAge: new Gauge({
      name: 'firelane_job_oldest_due_age_seconds',
      help: 'Age of the oldest due job still waiting to run',
      registers: [registry],
    }),
    openIncidents: gauge(
      {
        name: 'firelane_open_incidents',
        help: 'Open incidents by severity',
        registers: [registry],
      },
      { severity },
    ),
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
    deploysTotal: counter(
      {
        name: 'firelane_deploys_total',
        help: 'Deploy and rollback requests that ended, by kind (deploy, rollback), strategy and outcome (succeeded, failed, rolled_back, rejected, expired, void)',
        registers: [registry],
      },
      deployLabels,
    ),
    deployDuration: histogram(
      {
        name: 'firelane_deploy_duration_seconds',
        help: 'Execution time of deploys and rollbacks (approval to the end of the health window), by kind, strategy and outcome',
        buckets: [10, 30, 60, 120, 300, 600, 900, 1800, 3600],
        registers: [registry],
      },
      deployLabels,
    ),
    timeToMitigate: histogram(
      {
        name: 'firelane_incident_time_to_mitigate_seconds',
        help: 'Declaration to the first "monitoring" update (or to resolution without one), by severity at that moment',
        buckets: INCIDENT_BUCKETS,
        registers: [registry],
      },
      { severity },
    ),
    timeToResolve: histogram(
      {
        name: 'firelane_incident_time_to_resolve_seconds',
        help: 'Declaration to the first resolution, by severity at that moment',
        buckets: INCIDENT_BUCKETS,
        registers: [registry],
      },
      { severity },
    ),
    upstreamErrors: counter(
      {
        name: 'firelane_upstream_errors_total',
        help: 'Errors from upstream APIs by service and status or error code (codes firelane does not tell apart: unknown)',
        registers: [registry],
      },
      { service: oneOf(['github', 'kubernetes', 'prometheus', 'slack', 'teams']), status: upstreamStatus },
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
