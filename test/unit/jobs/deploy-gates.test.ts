// Metric gates in a deploy's verification, on the deploy core's manual clock (the job's sleep moves
// it) against the loopback fake Prometheus, which sees that clock as each query's `time`: when the
// gates are evaluated through the window and at each canary step, and that the first failing value
// rolls back (rolling, blue-green) or aborts the canary like a failed health URL does.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubernetesTarget, MetricGate, PrometheusGates } from '../../../src/config/types.js';
import { toPlainText } from '../../../src/ports/reply.js';
import { startFakePrometheus, type FakePrometheus, type Script } from '../../fakes/fake-prometheus.js';
import {
  createDeployFixture,
  deployConfig,
  IMAGE,
  paymentsService,
  PAYMENTS,
  type DeployFixture,
  deployAndApprove,
} from '../commands/deploy-fixture.js';

const ERRORS: MetricGate = { name: 'error rate', query: 'errors', max: 0.05 };
const WINDOW = 120_000;

let f: DeployFixture | undefined;
let prom: FakePrometheus | undefined;
afterEach(async () => {
  f?.close();
  f = undefined;
  await prom?.close();
  prom = undefined;
});

async function fixture(
  errors: Script,
  kubernetes: Partial<KubernetesTarget> = {},
  gates: Partial<PrometheusGates> = {},
): Promise<DeployFixture> {
  prom = await startFakePrometheus();
  prom.answer('errors', errors);
  const prometheus: PrometheusGates = {
    url: prom.url,
    intervalMs: 30_000,
    onNoData: 'fail',
    queries: [ERRORS],
    ...gates,
  };
  const service = {
    ...paymentsService,
    kubernetes: { ...paymentsService.kubernetes!, service: 'payments', ...kubernetes },
    healthCheck: { windowMs: WINDOW, prometheus },
  };
  f = createDeployFixture({ config: deployConfig({}, { services: { payments: service } }) });
  return f;
}

/** When each query was evaluated, in seconds after the first one. */
const askedAt = (query = 'errors') => {
  const times = prom!.asked(query).map((r) => r.time!);
  return times.map((t) => (t - times[0]!) / 1_000);
};
const updates = (fx: DeployFixture) =>
  fx.updates.map((u) => ({
    text: toPlainText(u.card?.text ?? ''),
    gates: u.card?.fields.find((x) => x.label === 'Metric gates')?.value,
  }));
const error = (value: number) => ({ vector: [{ labels: { service: 'payments' }, value }] });

describe('metric gates through the health window', () => {
  it('evaluated at the first look, every interval and at the end; all pass: succeeded, the card showed the values', async () => {
    const fx = await fixture(({ n }) => error(0.01 * n));
    await deployAndApprove(fx);

    expect(await fx.request()).toMatchObject({ status: 'succeeded', reason: null });
    expect(askedAt()).toEqual([0, 30, 60, 90, 120]);
    // The first evaluation is the verification's start, on the job's clock.
    expect(prom!.asked()[0]!.time).toBe((await fx.request()).finishedAt! - WINDOW);
    const verifying = updates(fx).filter((u) => u.text.includes('Verifying health'));
    expect(verifying[0]).toEqual({
      text: expect.stringMatching(/^🩺 Verifying health: 2m left/),
      gates: 'error rate 0.01 (max 0.05)',
    });
    expect(verifying.map((u) => u.gates)).toContain('error rate 0.04 (max 0.05)');
    // Done: the card no longer shows verification values.
    expect((await fx.card()).fields.map((x) => x.label)).not.toContain('Metric gates');
  });

  it('the error rate climbs mid-window: rolled back at that evaluation, the card and timeline naming gate, value and bound', async () => {
    const fx = await fixture(({ n }) => error(n >= 3 ? 0.12 : 0.01));
    await deployAndApprove(fx);

    const request = await fx.request();
    expect(request).toMatchObject({ status: 'rolled_back', reason: 'error rate 0.12 > max 0.05' });
    expect(askedAt()).toEqual([0, 30, 60]); // nothing asked after the first failure
    expect(fx.cluster.changes.map((c) => [c.kind, c.images.app])).toEqual([
      ['set-image', `${IMAGE}:v2.1.1`],
      ['undo', `${IMAGE}:v2.1.0`],
    ]);
    expect(fx.cluster.changes[1]!.changeCause).toBe('firelane automatic rollback of REQ-1: error rate 0.12 > max 0.05');
    expect(await fx.cluster.readDeployment(PAYMENTS)).toMatchObject({ images: { app: `${IMAGE}:v2.1.0` } });
    expect(toPlainText((await fx.card()).text ?? '')).toMatch(
      /^↩️ Rolled back automatically: error rate 0\.12 > max 0\.05 \(now at revision \d+\)/,
    );
    const event = (await fx.store.incidents.timeline(1)).find((e) => e.kind === 'deploy_rolled_back');
    expect(event?.text).toMatch(/^REQ-1 rolled back automatically: error rate 0\.12 > max 0\.05; payments runs/);
  });

  it('an interval longer than the window: the gates are still evaluated at its start and at its end', async () => {
    const fx = await fixture(error(0.01), {}, { intervalMs: 10 * 60_000 });
    await deployAndApprove(fx);
    expect((await fx.request()).status).toBe('succeeded');
    expect(askedAt()).toEqual([0, 120]);
  });

  it('blue-green: a failing gate after the switch switches the Service back', async () => {
    const fx = await fixture(({ n }) => error(n >= 2 ? 0.2 : 0.01), { strategy: 'blue-green' });
    for (const [slot, version] of [
      ['blue', 'v2.1.0'],
      ['green', 'v2.0.0'],
    ] as const)
      fx.cluster.addDeployment({
        namespace: 'payments',
        name: `payments-${slot}`,
        images: { app: `${IMAGE}:${version}` },
        replicas: 3,
        labels: { app: 'payments', slot },
      });
    fx.cluster.addService({ namespace: 'payments', name: 'payments', selector: { app: 'payments', slot: 'blue' } });
    await deployAndApprove(fx);

    expect(await fx.request()).toMatchObject({ status: 'rolled_back', reason: 'error rate 0.2 > max 0.05' });
    expect(fx.cluster.selectedDeployments({ namespace: 'payments', service: 'payments' })).toEqual(['payments-blue']);
    expect(toPlainText((await fx.card()).text ?? '')).toContain(
      'Rolled back automatically: error rate 0.2 > max 0.05 (switched back to blue)',
    );
  });
});

describe('metric gates at each canary step', () => {
  const CANARY = { strategy: 'canary' as const, canarySteps: [25, 100], canaryIntervalMs: 60_000 };

  it('every step is held to the gates (its start, every interval, its end) before the next one', async () => {
    const fx = await fixture(error(0.01), CANARY);
    await deployAndApprove(fx);
    expect((await fx.request()).status).toBe('succeeded');
    // Two holds of 60 s, each evaluated at 0, 30 and 60 s (the second starts once its replicas are up).
    const times = askedAt();
    expect(times).toHaveLength(6);
    expect(times.slice(0, 3)).toEqual([0, 30, 60]);
    expect(times.slice(3).map((t) => t - times[3]!)).toEqual([0, 30, 60]);
    expect(
      updates(fx).some(
        (u) =>
          /Verifying health \(canary step 1 of 2: 1 of 3 replicas/.test(u.text) &&
          u.gates === 'error rate 0.01 (max 0.05)',
      ),
    ).toBe(true);
  });

  it('a failing gate at the first step aborts the canary: scaled to 0, the main Deployment untouched', async () => {
    const fx = await fixture(error(0.12), CANARY);
    await deployAndApprove(fx);

    expect(await fx.request()).toMatchObject({
      status: 'rolled_back',
      reason: 'the health check failed at canary step 1 of 2 (25%): error rate 0.12 > max 0.05',
    });
    expect(askedAt()).toEqual([0]);
    expect(await fx.cluster.readDeployment({ namespace: 'payments', deployment: 'payments-canary' })).toMatchObject({
      desired: 0,
    });
    expect(await fx.cluster.readDeployment(PAYMENTS)).toMatchObject({ images: { app: `${IMAGE}:v2.1.0` }, desired: 3 });
    expect(toPlainText((await fx.card()).text ?? '')).toContain(
      'Rolled back automatically: the health check failed at canary step 1 of 2 (25%): error rate 0.12 > max 0.05',
    );
  });
});
