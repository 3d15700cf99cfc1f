// Every label of firelane's metrics takes its values from a fixed set: whatever a caller passes
// from outside it (a remote's error code, a typed word) is counted as `unknown`.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';

const series = async (metrics: ReturnType<typeof createMetrics>, name: string) =>
  (await metrics.registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .sort();

describe('bounded metric labels', () => {
  it('upstream errors keep HTTP statuses and known codes; any other code a remote sends is unknown', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (const status of ['503', 'network', 'channel_not_found', 'ratelimited', 'http_429'])
      metrics.upstreamErrors.inc({ service: 'slack', status });
    for (let i = 0; i < 50; i++) metrics.upstreamErrors.inc({ service: 'slack', status: `made_up_${i}` });
    metrics.upstreamErrors.inc({ service: 'github', status: '<script>' });
    metrics.upstreamErrors.inc({ service: 'somewhere', status: '999' });
    expect(await series(metrics, 'firelane_upstream_errors_total')).toEqual([
      'firelane_upstream_errors_total{service="github",status="unknown"} 1',
      'firelane_upstream_errors_total{service="slack",status="503"} 1',
      'firelane_upstream_errors_total{service="slack",status="channel_not_found"} 1',
      'firelane_upstream_errors_total{service="slack",status="http_429"} 1',
      'firelane_upstream_errors_total{service="slack",status="network"} 1',
      'firelane_upstream_errors_total{service="slack",status="ratelimited"} 1',
      'firelane_upstream_errors_total{service="slack",status="unknown"} 50',
      'firelane_upstream_errors_total{service="unknown",status="unknown"} 1',
    ]);
  });

  it('commands: platforms and outcomes from their lists, and a command label that is not a command name is unknown', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.commandsTotal.inc({ platform: 'slack', command: 'incident list', outcome: 'ok' });
    metrics.commandsTotal.inc({ platform: 'pager', command: 'incident list', outcome: 'ok' });
    metrics.commandsTotal.inc({ platform: 'teams', command: 'incident "drop table"', outcome: 'weird' });
    expect(await series(metrics, 'firelane_commands_total')).toEqual([
      'firelane_commands_total{platform="slack",command="incident list",outcome="ok"} 1',
      'firelane_commands_total{platform="teams",command="unknown",outcome="unknown"} 1',
      'firelane_commands_total{platform="unknown",command="incident list",outcome="ok"} 1',
    ]);
  });

  it('deploys and incidents: kinds, strategies, outcomes and severities from the domain lists', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.deploysTotal.inc({ kind: 'deploy', strategy: 'canary', outcome: 'succeeded' });
    metrics.deploysTotal.inc({ kind: 'deploy', strategy: 'yolo', outcome: 'succeeded' });
    metrics.openIncidents.set({ severity: 'sev9' }, 1);
    expect(await series(metrics, 'firelane_deploys_total')).toEqual([
      'firelane_deploys_total{kind="deploy",strategy="canary",outcome="succeeded"} 1',
      'firelane_deploys_total{kind="deploy",strategy="unknown",outcome="succeeded"} 1',
    ]);
    expect(await series(metrics, 'firelane_open_incidents')).toEqual(['firelane_open_incidents{severity="unknown"} 1']);
  });
});
