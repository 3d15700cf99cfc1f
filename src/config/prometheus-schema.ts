// The schema of `healthCheck.prometheus`: metric gates a deploy must pass through its health window,
// queried from a Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics).
import { z } from 'zod';
import { NO_DATA_POLICIES, type NoDataPolicy } from './types.js';
import { duration, text, value } from './leaf-schemas.js';
import { parseHttpUrl, show, showUrl } from './values.js';

/** A Prometheus-compatible API's base URL: http(s), no user info (the token is FIRELANE_PROMETHEUS_TOKEN), no query. */
function prometheusUrlProblem(raw: string): string | undefined {
  const url = parseHttpUrl(raw);
  if (!url) return 'is not an http(s) URL (e.g. http://prometheus.monitoring.svc:9090)';
  if (url.username || url.password)
    return 'has user info (give the address only; a bearer token goes in FIRELANE_PROMETHEUS_TOKEN)';
  if (url.search || url.hash || raw.includes('?') || raw.includes('#'))
    return 'has a query or fragment (give the base the API is under, e.g. http://mimir/prometheus)';
  if (/\/api\/v1(\/query)?\/?$/.test(url.pathname))
    return 'ends in /api/v1 (give the base the API is under; firelane adds /api/v1/query)';
  return undefined;
}

const prometheusUrl = value(
  (v) => (typeof v === 'string' && prometheusUrlProblem(v) === undefined ? v.replace(/\/+$/, '') : undefined),
  (v) => (typeof v === 'string' ? `${showUrl(v)} ${prometheusUrlProblem(v)}` : `${show(v)} is not an http(s) URL`),
);

const bound = value(
  (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined),
  (v) => `${show(v)} is not a number${typeof v === 'string' ? ' (write it without quotes)' : ''}`,
);

const metricGateSchema = z
  .strictObject({
    name: text('a name for the gate (shown on the deploy card)'),
    query: text('a PromQL query'),
    max: bound.optional(),
    min: bound.optional(),
  })
  .superRefine((q, ctx) => {
    if (q.max === undefined && q.min === undefined)
      ctx.addIssue({ code: 'custom', message: 'needs max, min or both (the bounds its value must stay within)' });
    else if (q.max !== undefined && q.min !== undefined && q.min > q.max)
      ctx.addIssue({
        code: 'custom',
        path: ['min'],
        message: `${q.min} is more than max (${q.max}): no value could pass`,
      });
  });

const metricGatesSchema = z.array(metricGateSchema).superRefine((queries, ctx) => {
  if (queries.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one query' });
    return;
  }
  const seen = new Set<string>();
  for (const [i, q] of queries.entries()) {
    if (seen.has(q.name)) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `${show(q.name)} is used twice (the card tells gates apart by name)`,
      });
      return;
    }
    seen.add(q.name);
  }
});

export const prometheusFields = {
  url: prometheusUrl,
  interval: duration.optional(),
  onNoData: value(
    (v) =>
      typeof v === 'string' && (NO_DATA_POLICIES as readonly string[]).includes(v) ? (v as NoDataPolicy) : undefined,
    (v) => `${show(v)} is not one of ${NO_DATA_POLICIES.join(', ')}`,
  ).optional(),
  queries: metricGatesSchema,
};

/** The keys an environment's prometheus needs once merged over the service's. */
export const REQUIRED_GATE_KEYS = ['url', 'queries'] as const;
