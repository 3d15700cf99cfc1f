// `healthCheck.prometheus` in firelane.yaml: metric gates as parsed (defaults, environment merges)
// and every way a bad one stops start-up (file, key path, reason; one line, no credential).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfig,
  parseEnvConfig,
  parseFileConfig,
  redactEnvConfig,
  SECRET_ENV_VARS,
  secretValues,
} from '../../../src/config.js';

const KUBE = 'namespace: payments, deployment: payments, container: app, image: ghcr.io/acme/payments';
const ERRORS = 'sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))';

/** A payments service with `prometheus` (YAML flow mapping text) under its healthCheck. */
const withGates = (prometheus: string, extra = '') =>
  `services:\n  payments:\n    kubernetes: { ${KUBE} }\n    healthCheck:\n      prometheus: ${prometheus}\n${extra}`;
const GATES = `{ url: "http://prometheus.monitoring.svc:9090/", queries: [{ name: error rate, query: '${ERRORS}', max: 0.05 }] }`;

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toMatch(/[\r\n]/);
    return message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}
const fileError = (yaml: string) => errorOf(() => parseFileConfig(yaml, 'firelane.yaml'));

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'firelane-gates-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('healthCheck.prometheus: values', () => {
  it('reads the gates, with the defaults: every 30s, and no data fails', () => {
    const file = parseFileConfig(withGates(GATES), 'firelane.yaml');
    expect(file.services.payments!.healthCheck).toEqual({
      windowMs: 300_000,
      prometheus: {
        url: 'http://prometheus.monitoring.svc:9090',
        intervalMs: 30_000,
        onNoData: 'fail',
        queries: [{ name: 'error rate', query: ERRORS, max: 0.05 }],
      },
    });
  });

  it('reads every key; a base URL with a path prefix (Mimir, VictoriaMetrics) is kept as given', () => {
    const file = parseFileConfig(
      withGates(
        '{ url: "https://mimir.example.com/prometheus", interval: 15s, onNoData: ignore, queries: [{ name: p99 latency, query: "histogram_quantile(0.99, x)", max: 0.5 }, { name: throughput, query: "sum(rate(x[1m]))", min: 10, max: 1e4 }] }',
      ),
      'firelane.yaml',
    );
    expect(file.services.payments!.healthCheck.prometheus).toEqual({
      url: 'https://mimir.example.com/prometheus',
      intervalMs: 15_000,
      onNoData: 'ignore',
      queries: [
        { name: 'p99 latency', query: 'histogram_quantile(0.99, x)', max: 0.5 },
        { name: 'throughput', query: 'sum(rate(x[1m]))', min: 10, max: 10_000 },
      ],
    });
  });

  it("an environment's prometheus keys are merged over the service's; a query list replaces the service's whole", () => {
    const environments = [
      '    environments:',
      '      staging:',
      '        kubernetes: { namespace: payments-staging }',
      '        healthCheck: { prometheus: { url: "http://prometheus.staging:9090" } }',
      '      eu:',
      '        kubernetes: { context: eu }',
      '        healthCheck: { prometheus: { onNoData: ignore, queries: [{ name: eu errors, query: eu, max: 0.1 }] } }',
      '      qa:',
      '        kubernetes: { namespace: payments-qa }',
      'approvals:',
      '  production: { approvers: [U1] }',
      '  staging: { approvers: [U1] }',
      '  eu: { approvers: [U1] }',
      '  qa: { approvers: [U1] }',
      '',
    ].join('\n');
    const service = parseFileConfig(withGates(GATES, environments), 'firelane.yaml').services.payments!;
    const own = service.healthCheck.prometheus!;
    expect(service.environments!.staging!.healthCheck.prometheus).toEqual({
      ...own,
      url: 'http://prometheus.staging:9090',
    });
    expect(service.environments!.eu!.healthCheck.prometheus).toEqual({
      ...own,
      onNoData: 'ignore',
      queries: [{ name: 'eu errors', query: 'eu', max: 0.1 }],
    });
    expect(service.environments!.qa!.healthCheck.prometheus).toEqual(own);
  });

  it('an environment may have gates its service has not, when it names the URL and the queries', () => {
    const yaml = [
      'services:',
      '  payments:',
      `    kubernetes: { ${KUBE} }`,
      '    environments:',
      '      staging:',
      `        healthCheck: { prometheus: ${GATES} }`,
      'approvals:',
      '  production: { approvers: [U1] }',
      '  staging: { approvers: [U1] }',
      '',
    ].join('\n');
    const service = parseFileConfig(yaml, 'firelane.yaml').services.payments!;
    expect(service.healthCheck.prometheus).toBeUndefined();
    expect(service.environments!.staging!.healthCheck.prometheus?.queries.map((q) => q.name)).toEqual(['error rate']);
    expect(fileError(yaml.replace(/url: "[^"]+", /, ''))).toBe(
      "firelane.yaml: services.payments.environments.staging.healthCheck.prometheus.url: required (the service's healthCheck has no prometheus to merge over)",
    );
  });
});

describe('healthCheck.prometheus: errors stop start-up with the file, key path and reason', () => {
  const at = 'firelane.yaml: services.payments.healthCheck.prometheus';
  it.each([
    ['{ url: "http://prom:9090" }', `${at}.queries: required`],
    [`{ queries: [{ name: e, query: x, max: 1 }] }`, `${at}.url: required`],
    ['{ url: "http://prom:9090", queries: [] }', `${at}.queries: must list at least one query`],
    [
      '{ url: "http://prom:9090", queries: [{ name: error rate, query: x }] }',
      `${at}.queries[0]: needs max, min or both (the bounds its value must stay within)`,
    ],
    [
      '{ url: "http://prom:9090", queries: [{ name: e, query: x, min: 0.5, max: 0.1 }] }',
      `${at}.queries[0].min: 0.5 is more than max (0.1): no value could pass`,
    ],
    [
      '{ url: "http://prom:9090", queries: [{ name: e, query: x, max: "0.05" }] }',
      `${at}.queries[0].max: "0.05" is not a number (write it without quotes)`,
    ],
    [
      '{ url: "http://prom:9090", queries: [{ name: e, query: x, max: .inf }] }',
      `${at}.queries[0].max: Infinity is not a number`,
    ],
    [
      '{ url: "http://prom:9090", queries: [{ name: e, query: x, max: 1 }, { name: e, query: y, max: 2 }] }',
      `${at}.queries[1].name: "e" is used twice (the card tells gates apart by name)`,
    ],
    ['{ url: "http://prom:9090", queries: [{ query: x, max: 1 }] }', `${at}.queries[0].name: required`],
    [
      '{ url: "http://prom:9090", queries: [{ name: e, query: " ", max: 1 }] }',
      `${at}.queries[0].query: must not be empty (a PromQL query)`,
    ],
    [
      '{ url: "http://prom:9090", queries: [{ name: e, query: x, threshold: 1 }] }',
      `${at}.queries[0].threshold: unknown key`,
    ],
    [
      '{ url: "http://prom:9090", queries: { name: e, query: x, max: 1 } }',
      `${at}.queries: expected a list, got a mapping`,
    ],
    [
      '{ url: "http://prom:9090", onNoData: pass, queries: [{ name: e, query: x, max: 1 }] }',
      `${at}.onNoData: "pass" is not one of fail, ignore`,
    ],
    [
      '{ url: "http://prom:9090", interval: 30, queries: [{ name: e, query: x, max: 1 }] }',
      `${at}.interval: 30 is not a duration (use 90s, 15m, 2h)`,
    ],
    [
      '{ url: "prom:9090", queries: [{ name: e, query: x, max: 1 }] }',
      `${at}.url: "prom:9090" is not an http(s) URL (e.g. http://prometheus.monitoring.svc:9090)`,
    ],
    [
      '{ url: "http://prom:9090/api/v1/query", queries: [{ name: e, query: x, max: 1 }] }',
      `${at}.url: "http://prom:9090/api/v1/query" ends in /api/v1 (give the base the API is under; firelane adds /api/v1/query)`,
    ],
    [
      '{ url: "http://prom:9090/?tenant=a", queries: [{ name: e, query: x, max: 1 }] }',
      `${at}.url: "http://prom:9090/?tenant=a" has a query or fragment (give the base the API is under, e.g. http://mimir/prometheus)`,
    ],
    ['{ url: "http://prom:9090", step: 1m, queries: [{ name: e, query: x, max: 1 }] }', `${at}.step: unknown key`],
  ])('%s', (prometheus, expected) => {
    expect(fileError(withGates(prometheus))).toBe(expected);
  });

  it('a URL with a password is refused without showing the password', () => {
    const message = fileError(
      withGates('{ url: "https://bot:s3cret-pw@prom.example.com", queries: [{ name: e, query: x, max: 1 }] }'),
    );
    expect(message).toBe(
      `${at}.url: "https://***@prom.example.com/" has user info (give the address only; a bearer token goes in FIRELANE_PROMETHEUS_TOKEN)`,
    );
    expect(message).not.toContain('s3cret-pw');
  });
});

describe('FIRELANE_PROMETHEUS_TOKEN', () => {
  const TOKEN = 'glc_prom-s3cret-token';
  it('is read, masked in logs and redacted; whitespace in it stops start-up without showing it', () => {
    const env = { FIRELANE_PROMETHEUS_TOKEN: ` ${TOKEN} ` };
    expect(loadConfig(env, tempDir()).env.prometheus).toEqual({ token: TOKEN });
    expect(loadConfig({}, tempDir()).env.prometheus).toBeUndefined();
    expect(SECRET_ENV_VARS).toContain('FIRELANE_PROMETHEUS_TOKEN');
    expect(secretValues(env)).toContain(TOKEN);
    expect(JSON.stringify(redactEnvConfig(parseEnvConfig(env, tempDir())))).not.toContain(TOKEN);
    const message = errorOf(() => loadConfig({ FIRELANE_PROMETHEUS_TOKEN: `Bearer ${TOKEN}` }, tempDir()));
    expect(message).toBe('FIRELANE_PROMETHEUS_TOKEN: contains whitespace (value not shown)');
    expect(message).not.toContain(TOKEN);
  });
});
