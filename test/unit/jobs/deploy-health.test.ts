// Health verification after a rolling deploy: the window is watched on the fixture's manual clock
// (the job's sleep moves it), the health URL is a real loopback HTTP server whose answer we flip.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer } from '../../support/health-server.js';
import { toPlainText } from '../../../src/ports/reply.js';
import {
  createDeployFixture,
  deployConfig,
  IMAGE,
  paymentsService,
  PAYMENTS,
  type DeployFixture,
  deployAndApprove,
} from '../commands/deploy-fixture.js';
import { probeHealth } from '../../../src/jobs/health-check.js';

let f: DeployFixture | undefined;
let server: Server | undefined;
afterEach(async () => {
  f?.close();
  f = undefined;
  await health?.close();
  health = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

let health: HealthServer | undefined;
/** A health endpoint answering `status(n)` to its n-th request (closed after each test). */
async function healthServer(status: (n: number) => number): Promise<HealthServer> {
  health = await startHealthServer(status);
  return health;
}

/** A loopback URL nothing listens on. */
async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}/healthz`;
}

const WINDOW = 60_000;

function fixture(url?: string) {
  f = createDeployFixture({
    config: deployConfig(
      {},
      { services: { payments: { ...paymentsService, healthCheck: { windowMs: WINDOW, ...(url && { url }) } } } },
    ),
  });
  return f;
}

const texts = (fx: DeployFixture) => fx.updates.map((u) => toPlainText(u.card?.text ?? ''));

describe('health verification after a rolling deploy', () => {
  it('healthy through the window: succeeded, and the card showed the time left meanwhile', async () => {
    const health = await healthServer(() => 200);
    const fx = fixture(health.url);
    await deployAndApprove(fx);

    expect(await fx.request()).toMatchObject({ status: 'succeeded', resultRevision: 3, reason: null });
    expect(health.hits()).toBeGreaterThanOrEqual(WINDOW / 1_000);
    expect(texts(fx).some((t) => /Verifying health: 1m left/.test(t))).toBe(true);
    expect(texts(fx).some((t) => /Verifying health: \d+s left/.test(t))).toBe(true);
    expect(toPlainText((await fx.card()).text ?? '')).toContain('Succeeded');
    expect(fx.cluster.changes.map((c) => c.kind)).toEqual(['set-image']);
    // The whole window passed on the job's clock, not in real time.
    expect((await fx.request()).finishedAt! - (await fx.request()).startedAt!).toBeGreaterThanOrEqual(WINDOW);
  });

  it('the URL turns 500 during the window: rolled back at once to the previous revision, and the card and timeline say why', async () => {
    const health = await healthServer((n) => (n <= 5 ? 200 : 500));
    const fx = fixture(health.url);
    await deployAndApprove(fx);

    const request = await fx.request();
    expect(request.status).toBe('rolled_back');
    expect(request.reason).toBe(`${health.url} answered HTTP 500`);
    expect(health.hits()).toBe(6); // nothing probed after the first failure
    expect(fx.cluster.changes.map((c) => [c.kind, c.images.app])).toEqual([
      ['set-image', `${IMAGE}:v2.1.1`],
      ['undo', `${IMAGE}:v2.1.0`],
    ]);
    expect(fx.cluster.changes[1]!.changeCause).toBe(
      `firelane automatic rollback of REQ-1: ${health.url} answered HTTP 500`,
    );
    expect(await fx.cluster.readDeployment(PAYMENTS)).toMatchObject({
      images: { app: `${IMAGE}:v2.1.0` },
      revision: request.resultRevision,
      available: 3,
    });
    // Well inside the window.
    expect(request.finishedAt! - request.startedAt!).toBeLessThan(WINDOW);

    expect(toPlainText((await fx.card()).text ?? '')).toContain(
      `Rolled back automatically: ${health.url} answered HTTP 500`,
    );
    expect(texts(fx).some((t) => t.includes('Verifying health'))).toBe(true);
    expect(texts(fx).some((t) => t.includes('Rolling back automatically'))).toBe(true);
    const event = (await fx.store.incidents.timeline(1)).find((e) => e.kind === 'deploy_rolled_back');
    expect(event?.text).toMatch(/REQ-1 rolled back automatically: .*answered HTTP 500; payments runs .*v2\.1\.0 again/);
    expect((await fx.audit()).map((a) => a.action)).toContain('deploy.rolled_back');
  });

  it('without a URL the window still watches availability: pods lost -> rolled back', async () => {
    const fx = fixture();
    const original = fx.cluster.rolloutProgress.bind(fx.cluster);
    let afterRollout = 0;
    // Two pods crash on the third look into the window (the rollout itself completed).
    fx.cluster.rolloutProgress = async (target) => {
      const progress = await original(target);
      if (!progress.done || fx.cluster.changes.length !== 1 || ++afterRollout !== 3) return progress;
      fx.cluster.loseAvailability(PAYMENTS, 1);
      return original(target);
    };
    await deployAndApprove(fx);

    expect(await fx.request()).toMatchObject({
      status: 'rolled_back',
      reason: 'the deployment lost availability (1 of 3 replicas available)',
    });
    expect(fx.cluster.changes.map((c) => c.kind)).toEqual(['set-image', 'undo']);
    expect(toPlainText((await fx.card()).text ?? '')).toContain(
      'Rolled back automatically: the deployment lost availability',
    );
  });

  it('a refused connection is unhealthy and rolls back', async () => {
    const url = await refusedUrl();
    const fx = fixture(url);
    await deployAndApprove(fx);

    expect((await fx.request()).status).toBe('rolled_back');
    expect((await fx.request()).reason).toMatch(
      new RegExp(`^${url.replace(/[.:/]/g, '\\$&')} could not be reached \\(ECONNREFUSED\\)`),
    );
    expect(fx.cluster.changes.map((c) => c.kind)).toEqual(['set-image', 'undo']);
  });

  it('probeHealth: 2xx healthy, other statuses and a slow answer unhealthy', async () => {
    let delay = 0;
    let status = 204;
    server = createServer((_req, res) => {
      setTimeout(() => {
        res.statusCode = status;
        res.end();
      }, delay);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    expect(await probeHealth(url)).toEqual({ healthy: true });
    status = 503;
    expect(await probeHealth(url)).toEqual({ healthy: false, reason: `${url} answered HTTP 503` });
    status = 200;
    delay = 300;
    expect(await probeHealth(url, { timeoutMs: 50 })).toEqual({
      healthy: false,
      reason: `${url} did not answer within 50ms`,
    });
  });
});
