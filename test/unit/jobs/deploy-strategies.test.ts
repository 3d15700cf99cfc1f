// Blue-green and canary on the deploy core (router, SQLite :memory:, worker, in-memory cluster,
// manual clock moved by the rollout poll's sleep), with a real loopback health URL whose answer the
// test flips: the switch and the switch-back, the canary's steps, and every way each one stops.
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer } from '../../support/health-server.js';
import { toPlainText } from '../../../src/ports/reply.js';
import type { KubernetesTarget } from '../../../src/config/types.js';
import { executeJobKey, reconcileDeploys } from '../../../src/jobs/reconcile-deploys.js';
import { pino } from 'pino';
import {
  createDeployFixture,
  deployConfig,
  IMAGE,
  LEAD1,
  paymentsService,
  type DeployFixture,
} from '../commands/deploy-fixture.js';

let f: DeployFixture | undefined;
afterEach(async () => {
  f?.close();
  f = undefined;
  await health?.close();
  health = undefined;
});

let health: HealthServer | undefined;
/** A health endpoint answering `status(n)` to its n-th request (closed after each test). */
async function healthServer(status: (n: number) => number): Promise<HealthServer> {
  health = await startHealthServer(status);
  return health;
}

const WINDOW = 60_000;
const NS = 'payments';
const SERVICE = { namespace: NS, service: 'payments' };
const blue = { namespace: NS, deployment: 'payments-blue' };
const green = { namespace: NS, deployment: 'payments-green' };
const main = { namespace: NS, deployment: 'payments' };
const canary = { namespace: NS, deployment: 'payments-canary' };

function fixture(kubernetes: Partial<KubernetesTarget>, url?: string, replicas = 3): DeployFixture {
  const service = {
    ...paymentsService,
    kubernetes: { ...paymentsService.kubernetes!, service: 'payments', ...kubernetes },
    healthCheck: { windowMs: WINDOW, ...(url && { url }) },
  };
  f = createDeployFixture({ config: deployConfig({}, { services: { payments: service } }) });
  if (kubernetes.strategy === 'canary' && replicas !== 3)
    void f.cluster.scale(main, replicas, { changeCause: 'test setup' });
  f.cluster.changes.length = 0;
  return f;
}

/** Blue (live) runs v2.1.0, green (idle) still runs v2.0.0 with `greenReplicas`. */
function blueGreen(url?: string, greenReplicas = 3): DeployFixture {
  const fx = fixture({ strategy: 'blue-green' }, url);
  fx.cluster.addDeployment({
    ...blue,
    name: blue.deployment,
    images: { app: `${IMAGE}:v2.1.0` },
    replicas: 3,
    labels: { app: 'payments', slot: 'blue' },
  });
  fx.cluster.addDeployment({
    ...green,
    name: green.deployment,
    images: { app: `${IMAGE}:v2.0.0` },
    replicas: greenReplicas,
    labels: { app: 'payments', slot: 'green' },
  });
  fx.cluster.addService({ namespace: NS, name: 'payments', selector: { app: 'payments', slot: 'blue' } });
  return fx;
}

async function requestAndApprove(fx: DeployFixture, command = '/deploy payments v2.1.1', id = 1) {
  if (!(await fx.store.incidents.listOpen(1)).length) await fx.run('/incident sev1 Payments down');
  const asked = await fx.run(command);
  expect(asked.outcome, asked.reply.text).toBe('ok');
  await fx.drain();
  const approved = await fx.run(`/deploy approve REQ-${id}`, { user: LEAD1 });
  expect(approved.outcome, approved.reply.text).toBe('ok');
  await fx.drain();
}

const texts = (fx: DeployFixture) => fx.updates.map((u) => toPlainText(u.card?.text ?? ''));
const cardText = async (fx: DeployFixture, id = 1) => toPlainText((await fx.card(id)).text ?? '');
const field = async (fx: DeployFixture, label: string, id = 1) =>
  (await fx.card(id)).fields?.find((x) => x.label === label)?.value;
const timeline = async (fx: DeployFixture) => (await fx.store.incidents.timeline(1)).map((e) => e.text);
const changes = (fx: DeployFixture) =>
  fx.cluster.changes.map((c) => [c.kind, c.deployment.split('/')[1], c.replicas ?? c.selector?.slot ?? c.images.app]);

describe('blue-green', () => {
  it('sets the idle colour, switches the Service once it is ready, keeps the old colour, and says so', async () => {
    const health = await healthServer(() => 200);
    const fx = blueGreen(health.url);
    await fx.run('/incident sev1 Payments down');
    await fx.run('/deploy payments v2.1.1');
    await fx.drain();
    expect(await field(fx, 'From')).toBe(`${IMAGE}:v2.1.0 (blue, live)`);
    expect(await field(fx, 'To')).toBe(`${IMAGE}:v2.1.1 (green, idle)`);
    expect(await field(fx, 'Strategy')).toBe('blue-green');
    expect((await fx.run('/deploy approve REQ-1', { user: LEAD1 })).outcome).toBe('ok');
    await fx.drain();

    expect(await fx.request()).toMatchObject({
      status: 'succeeded',
      plan: { slots: { from: 'blue', to: 'green' }, replicas: 3 },
    });
    expect(changes(fx)).toEqual([
      ['set-image', 'payments-green', `${IMAGE}:v2.1.1`],
      ['switch', 'payments', 'green'],
    ]);
    expect(fx.cluster.selectedDeployments(SERVICE)).toEqual(['payments-green']);
    // The old colour keeps running, untouched, for a switch-back.
    expect(await fx.cluster.readDeployment(blue)).toMatchObject({
      images: { app: `${IMAGE}:v2.1.0` },
      desired: 3,
      available: 3,
    });
    expect(await cardText(fx)).toContain('Succeeded');
    expect(await cardText(fx)).toContain('green is live; blue is kept for a switch-back');
    expect(texts(fx).some((t) => /Rolling out green \(idle colour\): \d of 3 replicas updated/.test(t))).toBe(true);
    expect(
      texts(fx).some((t) => /Verifying health \(green is live; blue kept for a switch-back\): 1m left/.test(t)),
    ).toBe(true);
    expect(
      (await timeline(fx)).some((t) => /REQ-1: the Service payments\/payments now sends traffic to green/.test(t)),
    ).toBe(true);
    expect((await fx.audit()).map((a) => a.action)).toContain('deploy.switched');
    // The whole health window ran after the switch.
    expect(health.hits()).toBeGreaterThanOrEqual(WINDOW / 1_000);
  });

  it('brings an idle colour kept smaller up to the live size before it takes traffic', async () => {
    const fx = blueGreen(undefined, 1);
    await requestAndApprove(fx);
    expect(changes(fx)).toEqual([
      ['set-image', 'payments-green', `${IMAGE}:v2.1.1`],
      ['scale', 'payments-green', 3],
      ['switch', 'payments', 'green'],
    ]);
    expect((await fx.request()).status).toBe('succeeded');
  });

  it('the health URL fails after the switch: switched back at once, the card and timeline say why', async () => {
    const health = await healthServer((n) => (n <= 3 ? 200 : 503));
    const fx = blueGreen(health.url);
    await requestAndApprove(fx);

    const request = await fx.request();
    expect(request).toMatchObject({ status: 'rolled_back', reason: `${health.url} answered HTTP 503` });
    expect(changes(fx)).toEqual([
      ['set-image', 'payments-green', `${IMAGE}:v2.1.1`],
      ['switch', 'payments', 'green'],
      ['switch', 'payments', 'blue'],
    ]);
    expect(fx.cluster.changes[2]!.changeCause).toBe(
      `firelane automatic switch-back of REQ-1: ${health.url} answered HTTP 503`,
    );
    expect(fx.cluster.selectedDeployments(SERVICE)).toEqual(['payments-blue']);
    expect(health.hits()).toBe(4);
    expect(await cardText(fx)).toContain(
      `Rolled back automatically: ${health.url} answered HTTP 503 (switched back to blue)`,
    );
    expect((await timeline(fx)).at(-1)).toMatch(
      /REQ-1 rolled back automatically: .*HTTP 503; the Service payments\/payments switched back to blue, which runs .*v2\.1\.0/,
    );
  });

  it('/rollback switches back to the idle colour as it is; --to must name what it runs', async () => {
    const fx = blueGreen();
    await requestAndApprove(fx);
    expect((await fx.request()).status).toBe('succeeded');
    fx.cluster.changes.length = 0;

    const wrongVersion = await fx.run('/rollback payments --to=v1.0.0');
    expect(wrongVersion.outcome).toBe('ok'); // checked against the cluster by the prepare job
    await fx.drain();
    expect(await fx.request(2)).toMatchObject({ status: 'void' });
    expect((await fx.request(2)).reason).toMatch(
      /switches back to the idle colour payments-blue, which runs .*v2\.1\.0, not v1\.0\.0/,
    );
    await fx.run('/rollback payments --to=3');
    await fx.drain();
    expect((await fx.request(3)).reason).toMatch(/--to=<revision> applies to rolling deploys/);

    await requestAndApprove(fx, '/rollback payments --to=v2.1.0', 4);
    expect(await field(fx, 'To', 4)).toBe(`${IMAGE}:v2.1.0 (blue, kept from before, live)`);
    expect(await fx.request(4)).toMatchObject({ status: 'succeeded', plan: { slots: { from: 'green', to: 'blue' } } });
    // No image changed: the switch alone is the rollback.
    expect(changes(fx)).toEqual([['switch', 'payments', 'blue']]);
    expect(fx.cluster.selectedDeployments(SERVICE)).toEqual(['payments-blue']);
  });

  it('an idle colour that never becomes ready fails the deploy and leaves the traffic where it was', async () => {
    const fx = blueGreen();
    fx.cluster.failNextRollout(green, 'pod payments-green-abc is in CrashLoopBackOff');
    await requestAndApprove(fx);
    expect(await fx.request()).toMatchObject({
      status: 'failed',
      reason:
        'payments-green did not become ready: pod payments-green-abc is in CrashLoopBackOff; blue still serves all traffic',
    });
    expect(changes(fx)).toEqual([['set-image', 'payments-green', `${IMAGE}:v2.1.1`]]);
    expect(fx.cluster.selectedDeployments(SERVICE)).toEqual(['payments-blue']);
  });

  it('a Service switched by hand after the card was posted voids the approval', async () => {
    const fx = blueGreen();
    await fx.run('/deploy payments v2.1.1');
    await fx.drain();
    await fx.cluster.setSelector(SERVICE, 'slot', 'green', { changeCause: 'kubectl by hand' });
    fx.cluster.changes.length = 0;
    expect((await fx.run('/deploy approve REQ-1', { user: LEAD1 })).outcome).toBe('ok');
    await fx.drain();
    expect((await fx.request()).status).toBe('void');
    expect((await fx.request()).reason).toMatch(/the Service selects slot green now, not blue as on the card/);
    expect(fx.cluster.changes).toEqual([]);
  });

  it('a Service that selects no colour cannot be planned, and says what it needs', async () => {
    const fx = blueGreen();
    await fx.cluster.setSelector(SERVICE, 'slot', 'purple', { changeCause: 'test' });
    await fx.run('/deploy payments v2.1.1');
    await fx.drain();
    expect((await fx.request()).status).toBe('void');
    expect((await fx.request()).reason).toMatch(
      /selects slot=purple; blue-green needs its selector to have slot: blue or slot: green/,
    );
  });

  it('reconcile: interrupted before the switch is failed with nothing to undo; after it, judged by the live colour', async () => {
    const fx = blueGreen();
    await fx.run('/deploy payments v2.1.1');
    await fx.drain();
    await fx.run('/deploy approve REQ-1', { user: LEAD1 });
    // The job stops for good before it ran (as after its last attempt).
    fx.handle.sqlite.prepare("UPDATE jobs SET status = 'dead', locked_by = NULL WHERE key = ?").run(executeJobKey(1));
    const outcomes = await reconcileDeploys({
      store: fx.store,
      config: deployConfig(
        {},
        {
          services: {
            payments: {
              ...paymentsService,
              kubernetes: { ...paymentsService.kubernetes!, strategy: 'blue-green', service: 'payments' },
            },
          },
        },
      ),
      clock: fx.clock,
      logger: pino({ level: 'silent' }),
      cluster: fx.cluster,
    });
    expect(outcomes).toEqual([
      {
        request: 1,
        outcome: 'failed',
        reason: expect.stringMatching(
          /interrupted before the switch: the Service payments\/payments still selects blue/,
        ),
      },
    ]);
    expect(fx.cluster.selectedDeployments(SERVICE)).toEqual(['payments-blue']);
  });
});

describe('canary', () => {
  it('holds each step at ceil(p x total / 100) replicas while healthy, then promotes and scales the canary to 0', async () => {
    const health = await healthServer(() => 200);
    const fx = fixture({ strategy: 'canary', canarySteps: [10, 50, 100], canaryIntervalMs: 30_000 }, health.url, 4);
    await requestAndApprove(fx);

    expect(await fx.request()).toMatchObject({ status: 'succeeded', resultRevision: 3 });
    expect(changes(fx)).toEqual([
      ['copy', 'payments-canary', 1],
      ['scale', 'payments', 3],
      ['copy', 'payments-canary', 2],
      ['scale', 'payments', 2],
      ['copy', 'payments-canary', 4],
      ['scale', 'payments', 0],
      ['scale', 'payments', 4],
      ['set-image', 'payments', `${IMAGE}:v2.1.1`],
      ['scale', 'payments-canary', 0],
    ]);
    // The canary was made from the main template with the new image, and the Service selects it by its labels.
    expect(fx.cluster.changes[0]!.images).toEqual({ app: `${IMAGE}:v2.1.1` });
    expect(await fx.cluster.readDeployment(main)).toMatchObject({
      images: { app: `${IMAGE}:v2.1.1` },
      desired: 4,
      available: 4,
    });
    expect(await fx.cluster.readDeployment(canary)).toMatchObject({ desired: 0 });
    // Each step held for canaryInterval on the job's clock.
    expect((await fx.request()).finishedAt! - (await fx.request()).startedAt!).toBeGreaterThanOrEqual(3 * 30_000);
    expect(
      texts(fx).some((t) =>
        /Verifying health \(canary step 2 of 3: 2 of 4 replicas on .*v2\.1\.1\): \d+s left/.test(t),
      ),
    ).toBe(true);
    expect((await timeline(fx)).filter((t) => /canary step \d of 3/.test(t))).toEqual([
      `REQ-1 canary step 1 of 3 (10%): 1 of 4 replicas run ${IMAGE}:v2.1.1`,
      `REQ-1 canary step 2 of 3 (50%): 2 of 4 replicas run ${IMAGE}:v2.1.1`,
      `REQ-1 canary step 3 of 3 (100%): 4 of 4 replicas run ${IMAGE}:v2.1.1`,
    ]);
  });

  it('a failed health check at a step scales the canary to 0 and leaves the main Deployment as it was', async () => {
    // Healthy for the first step (30 one-second looks) and a bit of the second, then 500.
    const health = await healthServer((n) => (n <= 35 ? 200 : 500));
    const fx = fixture({ strategy: 'canary', canarySteps: [25, 50, 100] }, health.url, 4);
    await requestAndApprove(fx);

    const request = await fx.request();
    expect(request.status).toBe('rolled_back');
    expect(request.reason).toBe(`the health check failed at canary step 2 of 3 (50%): ${health.url} answered HTTP 500`);
    expect(changes(fx)).toEqual([
      ['copy', 'payments-canary', 1],
      ['scale', 'payments', 3],
      ['copy', 'payments-canary', 2],
      ['scale', 'payments', 2],
      ['scale', 'payments-canary', 0],
      ['scale', 'payments', 4],
    ]);
    expect(await fx.cluster.readDeployment(main)).toMatchObject({
      images: { app: `${IMAGE}:v2.1.0` },
      revision: 2,
      desired: 4,
    });
    expect(await cardText(fx)).toContain(
      'Rolled back automatically: the health check failed at canary step 2 of 3 (50%)',
    );
    expect((await timeline(fx)).at(-1)).toMatch(
      /the canary is scaled to 0 and payments runs .*v2\.1\.0 on all 4 replicas/,
    );
  });

  it('with one replica every step holds the canary at 1; canaryInterval defaults to the window split over the steps', async () => {
    const fx = fixture({ strategy: 'canary', canarySteps: [10, 100] }, undefined, 1);
    await requestAndApprove(fx);
    expect((await fx.request()).status).toBe('succeeded');
    expect(changes(fx).filter(([kind]) => kind === 'copy')).toEqual([
      ['copy', 'payments-canary', 1],
      ['copy', 'payments-canary', 1],
    ]);
    expect((await fx.request()).finishedAt! - (await fx.request()).startedAt!).toBeGreaterThanOrEqual(WINDOW);
  });

  it('a canary whose pods never become ready is stopped at that step', async () => {
    const fx = fixture({ strategy: 'canary' }, undefined, 4);
    fx.cluster.failNextRollout(canary, 'pod payments-canary-x is in ImagePullBackOff');
    await requestAndApprove(fx);
    expect(await fx.request()).toMatchObject({
      status: 'rolled_back',
      reason: 'the canary did not become ready at step 1 of 3 (10%): pod payments-canary-x is in ImagePullBackOff',
    });
    expect(changes(fx)).toEqual([
      ['copy', 'payments-canary', 1],
      ['scale', 'payments-canary', 0],
    ]);
    expect(await fx.cluster.readDeployment(main)).toMatchObject({ images: { app: `${IMAGE}:v2.1.0` }, desired: 4 });
  });

  it('/rollback of a canary service undoes the main Deployment like rolling', async () => {
    const fx = fixture({ strategy: 'canary' }, undefined, 3);
    await requestAndApprove(fx, '/rollback payments');
    expect(await fx.request()).toMatchObject({ status: 'succeeded', kind: 'rollback', strategy: 'canary' });
    expect(changes(fx)).toEqual([['undo', 'payments', `${IMAGE}:v2.0.0`]]);
  });
});
