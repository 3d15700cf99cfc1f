// The SRE metrics that follow from state changes, read from GET /metrics after real commands over
// signed Slack requests: time to mitigate and to resolve by severity (on a clock the test moves),
// and deploys by kind, strategy, outcome and duration.
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/ports/clock.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';
import { startHarness, type Harness } from '../support/harness.js';
import { CHANNEL, IMAGE, PAYMENTS, deployYaml } from './deploy-config.js';
import { ackText } from './slack-helpers.js';

const MIN = 60_000;
let h: Harness;
afterEach(async () => h?.close());

async function metrics(): Promise<string> {
  const response = await fetch(`${h.url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one sample line, e.g. sample(text, 'x_count{severity="sev1"}'); undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function run(text: string, options: Parameters<Harness['command']>[1] = {}) {
  const ack = await h.command(text, options);
  expect(ack.status).toBe(200);
  await h.drain();
  return ackText(ack.body);
}

describe('metrics from state changes', () => {
  it('time to mitigate is the first monitoring update, time to resolve the first resolution, by severity; a reopen counts nothing twice', async () => {
    const start = Date.parse('2026-11-21T10:00:00Z');
    const clock = createManualClock(start);
    h = await startHarness({ clock });
    const at = (minutes: number) => clock.set(start + minutes * MIN);

    // INC-1 (sev1): monitoring after 20 min, resolved after 50; then reopened, monitoring and resolved again.
    expect(await run('sev1 Payment gateway down')).toContain('INC-1');
    // INC-2 (sev2, raised to sev0 before it is resolved): no monitoring update, resolved after 5 min.
    expect(await run('sev2 Search is slow')).toContain('INC-2');
    const before = await metrics();
    expect(sample(before, 'firelane_incident_time_to_mitigate_seconds_count{severity="sev1"}')).toBeUndefined();

    at(10);
    await run('update INC-1 identified Bad config push');
    at(20);
    await run('update INC-1 monitoring Config reverted, error rate falling');
    let text = await metrics();
    expect(sample(text, 'firelane_incident_time_to_mitigate_seconds_count{severity="sev1"}')).toBe(1);
    expect(sample(text, 'firelane_incident_time_to_mitigate_seconds_sum{severity="sev1"}')).toBe(20 * 60);
    expect(sample(text, 'firelane_incident_time_to_mitigate_seconds_bucket{le="900",severity="sev1"}')).toBe(0);
    expect(sample(text, 'firelane_incident_time_to_mitigate_seconds_bucket{le="1800",severity="sev1"}')).toBe(1);
    expect(sample(text, 'firelane_incident_time_to_resolve_seconds_count{severity="sev1"}')).toBeUndefined();

    at(5);
    await run('severity INC-2 sev0');
    await run('resolve INC-2');
    at(50);
    await run('resolve INC-1 --root-cause="bad config"');
    text = await metrics();
    expect(sample(text, 'firelane_incident_time_to_resolve_seconds_count{severity="sev1"}')).toBe(1);
    expect(sample(text, 'firelane_incident_time_to_resolve_seconds_sum{severity="sev1"}')).toBe(50 * 60);
    // Resolved without a monitoring update: mitigated at the resolution (as the postmortem counts it).
    expect(sample(text, 'firelane_incident_time_to_resolve_seconds_sum{severity="sev0"}')).toBe(5 * 60);
    expect(sample(text, 'firelane_incident_time_to_mitigate_seconds_sum{severity="sev0"}')).toBe(5 * 60);
    expect(sample(text, 'firelane_incident_time_to_mitigate_seconds_count{severity="sev1"}')).toBe(1);
    expect(sample(text, 'firelane_open_incidents{severity="sev1"}')).toBe(0);

    at(70);
    await run('reopen INC-1');
    at(80);
    await run('update INC-1 monitoring Watching again');
    await run('resolve INC-1');
    text = await metrics();
    expect(sample(text, 'firelane_incident_time_to_mitigate_seconds_count{severity="sev1"}')).toBe(1);
    expect(sample(text, 'firelane_incident_time_to_resolve_seconds_count{severity="sev1"}')).toBe(1);
    expect(sample(text, 'firelane_incident_time_to_resolve_seconds_sum{severity="sev1"}')).toBe(50 * 60);
  });

  it('deploys by kind, strategy and outcome, with the duration of those that ran', async () => {
    const cluster = createMemoryCluster({ rolloutPolls: 2 });
    cluster.addDeployment({
      ...PAYMENTS,
      name: 'payments',
      images: { app: `${IMAGE}:v2.1.0` },
      history: [{ app: `${IMAGE}:v2.0.0` }],
      replicas: 3,
    });
    h = await startHarness({ configYaml: deployYaml(['U0LEAD1', 'U0LEAD2']), cluster, deploy: { pollIntervalMs: 5 } });

    expect(await run('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' })).toContain('REQ-1');
    expect(await run('approve REQ-1', { command: '/deploy', channel: CHANNEL, user: 'U0LEAD1' })).toMatch(
      /You approved REQ-1/,
    );
    await h.drain();
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });

    expect(await run('payments --to=v2.1.0', { command: '/rollback', channel: CHANNEL, user: 'U0DEV' })).toContain(
      'REQ-2',
    );
    expect(await run('reject REQ-2 not now', { command: '/deploy', channel: CHANNEL, user: 'U0LEAD2' })).toMatch(
      /REQ-2/,
    );
    expect(await h.firelane.store.deploys.get(2)).toMatchObject({ status: 'rejected' });

    const text = await metrics();
    expect(sample(text, 'firelane_deploys_total{kind="deploy",strategy="rolling",outcome="succeeded"}')).toBe(1);
    expect(sample(text, 'firelane_deploys_total{kind="rollback",strategy="rolling",outcome="rejected"}')).toBe(1);
    expect(
      sample(text, 'firelane_deploy_duration_seconds_count{kind="deploy",strategy="rolling",outcome="succeeded"}'),
    ).toBe(1);
    // It ran through a 1 s health window on the real clock.
    const seconds = sample(
      text,
      'firelane_deploy_duration_seconds_sum{kind="deploy",strategy="rolling",outcome="succeeded"}',
    )!;
    const { startedAt, finishedAt } = (await h.firelane.store.deploys.get(1))!;
    expect(seconds).toBeCloseTo((finishedAt! - startedAt!) / 1000, 3);
    expect(seconds).toBeGreaterThanOrEqual(1);
    // A rejected request never ran: counted, no duration.
    expect(
      sample(text, 'firelane_deploy_duration_seconds_count{kind="rollback",strategy="rolling",outcome="rejected"}'),
    ).toBeUndefined();
  });
});
