// The console's simulated Kubernetes: rollouts driven by the clock alone (no timers), crash loops and
// lost availability on demand, the objects each strategy needs, and the snapshot the console shows.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createSimulatedCluster,
  SimulatedApiError,
  type SimulatedCluster,
} from '../../../../src/adapters/sim/simulated-cluster.js';
import { FirelaneError } from '../../../../src/errors.js';
import { followRollout, verifyHealth } from '../../../../src/jobs/rollout-watch.js';
import { createManualClock, type ManualClock } from '../../../../src/ports/clock.js';

const target = { namespace: 'payments', deployment: 'payments' };
const meta = { changeCause: 'firelane REQ-1 approved by U0LEAD1' };
const IMAGE = 'ghcr.io/acme/payments';

function setup(secondsPerReplica?: number): { clock: ManualClock; cluster: SimulatedCluster } {
  const clock = createManualClock();
  const cluster = createSimulatedCluster({ clock, ...(secondsPerReplica !== undefined && { secondsPerReplica }) });
  return { clock, cluster };
}

/** firelane's own watch, with a sleep that moves the manual clock. */
const watch = (cluster: SimulatedCluster, clock: ManualClock, of = target) => ({
  kube: cluster,
  target: of,
  clock,
  sleep: async (ms: number) => clock.advance(ms),
  pollIntervalMs: 2_000,
});

afterEach(() => void vi.useRealTimers());

describe('simulated cluster: rollouts over clock time', () => {
  it('replaces one replica every secondsPerReplica of clock time, k of n, and is done when all are available', async () => {
    const { clock, cluster } = setup();
    cluster.addDeployment({ namespace: 'payments', name: 'payments', images: { app: `${IMAGE}:v1` }, replicas: 4 });
    expect(await cluster.rolloutProgress(target)).toEqual({
      done: true,
      desired: 4,
      updated: 4,
      ready: 4,
      available: 4,
    });

    const set = await cluster.setImage(target, 'app', `${IMAGE}:v2`, meta);
    expect(set).toMatchObject({
      revision: 2,
      images: { app: `${IMAGE}:v2` },
      desired: 4,
      updated: 0,
      available: 0,
      generation: 2,
      observedGeneration: 2,
    });
    // Asking often changes nothing: only the clock does.
    for (let i = 0; i < 5; i++)
      expect(await cluster.rolloutProgress(target)).toEqual({
        done: false,
        desired: 4,
        updated: 0,
        ready: 0,
        available: 0,
      });
    for (let k = 1; k <= 4; k++) {
      clock.advance(1_999);
      expect((await cluster.rolloutProgress(target)).updated).toBe(k - 1);
      clock.advance(1);
      expect(await cluster.rolloutProgress(target)).toEqual({
        done: k === 4,
        desired: 4,
        updated: k,
        ready: k,
        available: k,
      });
    }
    expect(await cluster.readDeployment(target)).toMatchObject({ revision: 2, updated: 4, ready: 4, available: 4 });
    clock.advance(60_000);
    expect(await cluster.rolloutProgress(target)).toEqual({
      done: true,
      desired: 4,
      updated: 4,
      ready: 4,
      available: 4,
    });
  });

  it("follows secondsPerReplica, and firelane's rollout watch sees it through with a manual clock", async () => {
    const { clock, cluster } = setup(0.5);
    cluster.addDeployment({ namespace: 'payments', name: 'payments', images: { app: `${IMAGE}:v1` }, replicas: 3 });
    await cluster.setImage(target, 'app', `${IMAGE}:v2`, meta);
    clock.advance(1_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: false, updated: 2 });

    await cluster.setImage(target, 'app', `${IMAGE}:v3`, meta);
    const seen: number[] = [];
    const start = clock.now();
    const outcome = await followRollout(
      { ...watch(cluster, clock), pollIntervalMs: 500 },
      start + 60_000,
      60_000,
      async (p) => void seen.push(p.updated),
    );
    expect(outcome).toEqual({ done: true });
    expect(seen).toEqual([0, 1, 2]);
    expect(clock.now() - start).toBe(1_500);
  });

  it('scaling changes replicas without a new revision: down at once, up one replica per step', async () => {
    const { clock, cluster } = setup();
    cluster.addDeployment({ namespace: 'payments', name: 'payments', images: { app: `${IMAGE}:v1` }, replicas: 4 });
    expect(await cluster.scale(target, 1, meta)).toMatchObject({ desired: 1, available: 1, revision: 1 });
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: true });
    expect(await cluster.scale(target, 3, meta)).toMatchObject({ desired: 3, available: 1, revision: 1 });
    clock.advance(2_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: false, available: 2 });
    clock.advance(2_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: true, available: 3 });
    expect((await cluster.history(target)).map((r) => r.revision)).toEqual([1]);
    await expect(cluster.scale(target, -1, meta)).rejects.toThrow(/replicas/);
  });

  it('needs no timer: with fake timers never advanced, the manual clock alone completes a rollout', async () => {
    vi.useFakeTimers();
    const { clock, cluster } = setup();
    cluster.seedService({
      namespace: 'payments',
      deployment: 'payments',
      container: 'app',
      image: IMAGE,
      strategy: 'rolling',
    });
    await cluster.setImage(target, 'app', `${IMAGE}:v1.0.1`, meta);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: false, updated: 0 });
    clock.advance(6_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: true, updated: 3, available: 3 });
    expect(vi.getTimerCount()).toBe(0);
    // And none in the source either.
    const source = readFileSync(
      new URL('../../../../src/adapters/sim/simulated-cluster.ts', import.meta.url),
      'utf8',
    ).replace(/\/\/[^\n]*/g, '');
    expect(source).not.toMatch(/\bset(Timeout|Interval|Immediate)\b|\bDate\.now\b/);
  });
});

describe('simulated cluster: health', () => {
  it('setHealthy(false): the next rollout fails early with CrashLoopBackOff', async () => {
    const { clock, cluster } = setup();
    cluster.addDeployment({ namespace: 'payments', name: 'payments', images: { app: `${IMAGE}:v1` }, replicas: 3 });
    await cluster.setImage(target, 'app', `${IMAGE}:v2`, meta);
    clock.advance(6_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: true });

    cluster.setHealthy('payments', 'payments', false);
    expect(cluster.health('payments', 'payments')).toBe(false);
    // The version running now crashes too (see the next test); undo back to one that ran fine.
    await cluster.setImage(target, 'app', `${IMAGE}:v3`, meta);
    const first = await cluster.rolloutProgress(target);
    expect(first).toEqual({ done: false, desired: 3, updated: 1, ready: 0, available: 0 });
    clock.advance(2_000);
    const failed = await cluster.rolloutProgress(target);
    const newest = (await cluster.history(target)).at(-1)!;
    expect(newest.images.app).toBe(`${IMAGE}:v3`);
    expect(failed.failure).toMatch(
      new RegExp(`^pod ${newest.replicaSet}-[bcdfghjklmnpqrstvwxz2456789]{5} is in CrashLoopBackOff$`),
    );
    expect(newest.replicaSet).toMatch(/^payments-[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(failed).toMatchObject({ done: false, updated: 1, available: 0 });

    // firelane's watch stops at the first poll that reports it, long before any deadline.
    await cluster.setImage(target, 'app', `${IMAGE}:v4`, meta);
    const start = clock.now();
    const outcome = await followRollout(watch(cluster, clock), start + 600_000, 600_000, async () => {});
    expect(outcome).toEqual({
      done: false,
      reason: expect.stringMatching(/^pod payments-\w+-\w{5} is in CrashLoopBackOff$/),
    });
    expect(clock.now() - start).toBe(2_000);
  });

  it('setHealthy(false) on a finished deployment: it loses availability, the health window sees it, and an undo to a revision that ran fine recovers', async () => {
    const { clock, cluster } = setup();
    cluster.seedService({
      namespace: 'payments',
      deployment: 'payments',
      container: 'app',
      image: IMAGE,
      strategy: 'rolling',
    });
    await cluster.setImage(target, 'app', `${IMAGE}:v1.0.1`, meta);
    clock.advance(6_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: true, available: 3 });

    // The health window: healthy for a while, then the pods start crashing. Availability goes at
    // once; the crash loop is reported a replica's time (2 s) later.
    let looks = 0;
    const verdict = await verifyHealth(
      { ...watch(cluster, clock), pollIntervalMs: 1_000 },
      { startedAt: clock.now(), windowMs: 60_000, probeTimeoutMs: 1_000 },
      async () => {
        if (++looks === 3) cluster.setHealthy('payments', 'payments', false);
      },
    );
    expect(verdict).toEqual({ healthy: false, reason: 'the deployment lost availability (0 of 3 replicas available)' });
    expect(await cluster.readDeployment(target)).toMatchObject({ desired: 3, updated: 3, available: 0, ready: 0 });
    clock.advance(1_000);
    expect((await cluster.rolloutProgress(target)).failure).toMatch(/^pod payments-\w+-\w{5} is in CrashLoopBackOff$/);

    // The automatic rollback: revision 2 (v1.0.0) ran fine and still does.
    const undone = await cluster.undo(target, { changeCause: 'firelane automatic rollback' }, 2);
    expect(undone).toMatchObject({ revision: 4, images: { app: `${IMAGE}:v1.0.0` } });
    const outcome = await followRollout(watch(cluster, clock), clock.now() + 60_000, 60_000, async () => {});
    expect(outcome).toEqual({ done: true });
    expect(await cluster.readDeployment(target)).toMatchObject({ available: 3 });

    // Going back to the crashing version crashes again; healing brings its pods up one by one.
    await cluster.undo(target, meta);
    clock.advance(2_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({
      done: false,
      failure: expect.stringMatching(/CrashLoopBackOff/),
    });
    cluster.setHealthy('payments', 'payments', true);
    expect(cluster.health('payments', 'payments')).toBe(true);
    expect(await cluster.rolloutProgress(target)).toEqual({
      done: false,
      desired: 3,
      updated: 0,
      ready: 0,
      available: 0,
    });
    clock.advance(6_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: true, available: 3 });
  });

  it('a canary copied from an unhealthy deployment crashes; a deployment scaled to 0 does not fail', async () => {
    const { clock, cluster } = setup();
    cluster.seedService({
      namespace: 'payments',
      deployment: 'payments',
      container: 'app',
      image: IMAGE,
      strategy: 'canary',
      service: 'payments',
    });
    const canary = { ...target, deployment: 'payments-canary' };
    await cluster.copyDeployment(
      target,
      { name: 'payments-canary', labels: { track: 'canary' }, container: 'app', image: `${IMAGE}:v1.0.1`, replicas: 1 },
      meta,
    );
    clock.advance(2_000);
    expect(await cluster.rolloutProgress(canary)).toMatchObject({ done: true });
    await cluster.scale(canary, 0, meta);

    cluster.setHealthy('payments', 'payments', false);
    expect(cluster.health('payments', 'payments-canary')).toBe(false);
    await cluster.copyDeployment(
      target,
      { name: 'payments-canary', labels: { track: 'canary' }, container: 'app', image: `${IMAGE}:v1.0.2`, replicas: 1 },
      meta,
    );
    clock.advance(2_000);
    expect((await cluster.rolloutProgress(canary)).failure).toMatch(
      /^pod payments-canary-\w+-\w{5} is in CrashLoopBackOff$/,
    );
    await cluster.scale(canary, 0, meta);
    expect(await cluster.rolloutProgress(canary)).toEqual({
      done: true,
      desired: 0,
      updated: 0,
      ready: 0,
      available: 0,
    });
    cluster.setHealthy('payments', 'payments', true);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: false, available: 0 });
    clock.advance(8_000);
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: true, available: 4 });
  });
});

describe('simulated cluster: revisions as the deployment controller gives them', () => {
  it('new templates get max+1, a known template reuses its ReplicaSet at a new revision, the same image changes nothing', async () => {
    const { cluster } = setup();
    cluster.addDeployment({
      namespace: 'payments',
      name: 'payments',
      images: { app: `${IMAGE}:v1` },
      history: [{ app: `${IMAGE}:v0` }],
      replicas: 2,
    });
    expect((await cluster.history(target)).map((r) => [r.revision, r.images.app])).toEqual([
      [1, `${IMAGE}:v0`],
      [2, `${IMAGE}:v1`],
    ]);
    const before = await cluster.readDeployment(target);
    expect(await cluster.setImage(target, 'app', `${IMAGE}:v1`, meta)).toEqual(before);
    const v0 = (await cluster.history(target))[0]!;
    await cluster.setImage(target, 'app', `${IMAGE}:v0`, meta);
    const history = await cluster.history(target);
    expect(history.map((r) => [r.revision, r.images.app])).toEqual([
      [2, `${IMAGE}:v1`],
      [3, `${IMAGE}:v0`],
    ]);
    expect(history[1]).toEqual({
      revision: 3,
      replicaSet: v0.replicaSet,
      images: { app: `${IMAGE}:v0` },
      changeCause: meta.changeCause,
    });
    await expect(cluster.setImage(target, 'nope', 'x:1', meta)).rejects.toThrow(
      /unable to find container named "nope"/,
    );
  });

  it("undo: the previous template by default, --to-revision, refusals like kubectl's", async () => {
    const { clock, cluster } = setup();
    cluster.addDeployment({
      namespace: 'payments',
      name: 'payments',
      images: { app: `${IMAGE}:v3` },
      history: [{ app: `${IMAGE}:v1` }, { app: `${IMAGE}:v2` }],
    });
    expect(await cluster.undo(target, { changeCause: 'rollback A' })).toMatchObject({
      revision: 4,
      images: { app: `${IMAGE}:v2` },
    });
    expect((await cluster.history(target)).map((r) => r.revision)).toEqual([1, 3, 4]);
    expect(await cluster.undo(target, { changeCause: 'rollback B' }, 1)).toMatchObject({
      revision: 5,
      images: { app: `${IMAGE}:v1` },
    });
    expect((await cluster.history(target)).at(-1)!.changeCause).toBe('rollback B');
    // Undo to the template running now: skipped, no new revision.
    expect(await cluster.undo(target, meta, 5)).toMatchObject({ revision: 5 });
    await expect(cluster.undo(target, meta, 9)).rejects.toThrow('unable to find specified revision 9 in history');
    clock.advance(6_000);

    cluster.setPaused('payments', 'payments', true);
    await expect(cluster.undo(target, meta)).rejects.toThrow(/cannot rollback a paused deployment/);
    // Paused: the template changes, nothing rolls out until it is resumed.
    expect(await cluster.setImage(target, 'app', `${IMAGE}:v4`, meta)).toMatchObject({
      revision: 5,
      paused: true,
      updated: 0,
      images: { app: `${IMAGE}:v4` },
    });
    expect(await cluster.rolloutProgress(target)).toMatchObject({ done: false, updated: 0, available: 3 });
    cluster.setPaused('payments', 'payments', false);
    expect(await cluster.readDeployment(target)).toMatchObject({ revision: 6, paused: false });

    const lone = { namespace: 'payments', deployment: 'lone' };
    cluster.addDeployment({ namespace: 'payments', name: 'lone', images: { app: `${IMAGE}:v1` } });
    await expect(cluster.undo(lone, meta)).rejects.toThrow('no rollout history found for deployment "lone"');
  });

  it('keeps 10 old ReplicaSets (revisionHistoryLimit)', async () => {
    const { cluster } = setup();
    cluster.addDeployment({ namespace: 'payments', name: 'payments', images: { app: `${IMAGE}:v0` } });
    for (let i = 1; i <= 14; i++) await cluster.setImage(target, 'app', `${IMAGE}:v${i}`, meta);
    expect((await cluster.history(target)).map((r) => r.revision)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('an unknown deployment or service reads as undefined; writes fail with statusCode 404 (a refusal, not retried)', async () => {
    const { cluster } = setup();
    const nope = { namespace: 'payments', deployment: 'nope' };
    expect(await cluster.readDeployment(nope)).toBeUndefined();
    expect(await cluster.readService({ namespace: 'payments', service: 'nope' })).toBeUndefined();
    const writes = [
      cluster.setImage(nope, 'app', 'x:1', meta),
      cluster.undo(nope, meta),
      cluster.scale(nope, 1, meta),
      cluster.history(nope),
      cluster.rolloutProgress(nope),
      cluster.copyDeployment(nope, { name: 'c', labels: {}, container: 'app', image: 'x:1', replicas: 1 }, meta),
      cluster.setSelector({ namespace: 'payments', service: 'nope' }, 'slot', 'green', meta),
    ];
    for (const write of writes) {
      const error = await write.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SimulatedApiError);
      expect(error).toBeInstanceOf(FirelaneError);
      expect(error).toMatchObject({ statusCode: 404, code: 'not_found' });
    }
  });

  it('copyDeployment creates the copy with the extra labels, then replaces its template and replicas', async () => {
    const { clock, cluster } = setup();
    cluster.addDeployment({
      namespace: 'payments',
      name: 'payments',
      images: { app: `${IMAGE}:v1`, sidecar: 'envoy:1' },
      replicas: 4,
    });
    const canary = { ...target, deployment: 'payments-canary' };
    const copy = {
      name: 'payments-canary',
      labels: { track: 'canary' },
      container: 'app',
      image: `${IMAGE}:v2`,
      replicas: 1,
    };
    expect(await cluster.copyDeployment(target, copy, meta)).toMatchObject({
      revision: 1,
      desired: 1,
      updated: 0,
      images: { app: `${IMAGE}:v2`, sidecar: 'envoy:1' },
    });
    clock.advance(2_000);
    expect(await cluster.rolloutProgress(canary)).toMatchObject({ done: true, available: 1 });
    // Same template, more replicas: a scale, no new revision.
    expect(await cluster.copyDeployment(target, { ...copy, replicas: 2 }, meta)).toMatchObject({
      revision: 1,
      desired: 2,
      available: 1,
    });
    expect(await cluster.copyDeployment(target, { ...copy, image: `${IMAGE}:v3`, replicas: 2 }, meta)).toMatchObject({
      revision: 2,
      desired: 2,
      updated: 0,
    });
    expect(cluster.describe().deployments.find((d) => d.name === 'payments-canary')!.labels).toEqual({
      app: 'payments',
      track: 'canary',
    });
    await expect(cluster.copyDeployment(target, { ...copy, container: 'nope' }, meta)).rejects.toThrow(/nope/);
  });
});

describe('simulated cluster: seeding and the snapshot', () => {
  const seed = { namespace: 'shop', deployment: 'checkout', container: 'web', image: 'ghcr.io/acme/checkout' };
  const at = (deployment: string) => ({ namespace: 'shop', deployment });

  it('rolling: the deployment at v1.0.0 with v0.9.0 before it, 3 replicas', async () => {
    const { cluster } = setup();
    cluster.seedService({ ...seed, strategy: 'rolling' });
    expect(await cluster.readDeployment(at('checkout'))).toMatchObject({
      revision: 2,
      images: { web: 'ghcr.io/acme/checkout:v1.0.0' },
      desired: 3,
      available: 3,
    });
    expect((await cluster.history(at('checkout'))).map((r) => [r.revision, r.images.web])).toEqual([
      [1, 'ghcr.io/acme/checkout:v0.9.0'],
      [2, 'ghcr.io/acme/checkout:v1.0.0'],
    ]);
    expect(await cluster.rolloutProgress(at('checkout'))).toMatchObject({ done: true });
    expect(cluster.describe().services).toEqual([]);
  });

  it('blue-green: blue live at v1.0.0, green idle at v0.9.0, the Service selecting slot: blue', async () => {
    const { cluster } = setup();
    cluster.seedService({ ...seed, strategy: 'blue-green', service: 'checkout-web' });
    expect(await cluster.readDeployment(at('checkout'))).toBeUndefined();
    expect(await cluster.readDeployment(at('checkout-blue'))).toMatchObject({
      images: { web: 'ghcr.io/acme/checkout:v1.0.0' },
      available: 3,
    });
    expect(await cluster.readDeployment(at('checkout-green'))).toMatchObject({
      images: { web: 'ghcr.io/acme/checkout:v0.9.0' },
    });
    expect(await cluster.readService({ namespace: 'shop', service: 'checkout-web' })).toMatchObject({
      selector: { app: 'checkout', slot: 'blue' },
    });
    const { deployments, services } = cluster.describe();
    expect(deployments.map((d) => [d.name, d.labels])).toEqual([
      ['checkout-blue', { app: 'checkout', slot: 'blue' }],
      ['checkout-green', { app: 'checkout', slot: 'green' }],
    ]);
    expect(services).toEqual([
      {
        namespace: 'shop',
        name: 'checkout-web',
        selector: { app: 'checkout', slot: 'blue' },
        selects: ['checkout-blue'],
      },
    ]);
    await cluster.setSelector({ namespace: 'shop', service: 'checkout-web' }, 'slot', 'green', meta);
    expect(cluster.describe().services[0]!.selects).toEqual(['checkout-green']);
  });

  it('canary: the main deployment (4 replicas) and the Service selecting app; seeding again leaves what exists alone', async () => {
    const { cluster } = setup();
    cluster.seedService({ ...seed, strategy: 'canary' });
    expect(await cluster.readDeployment(at('checkout'))).toMatchObject({
      revision: 2,
      images: { web: 'ghcr.io/acme/checkout:v1.0.0' },
      desired: 4,
    });
    expect(await cluster.readService({ namespace: 'shop', service: 'checkout' })).toMatchObject({
      selector: { app: 'checkout' },
    });
    await cluster.scale(at('checkout'), 2, meta);
    cluster.seedService({ ...seed, strategy: 'canary' });
    expect(await cluster.readDeployment(at('checkout'))).toMatchObject({ desired: 2 });
  });

  it('describe(): a JSON-able snapshot of deployments and services', async () => {
    const { clock, cluster } = setup();
    cluster.seedService({
      namespace: 'payments',
      deployment: 'payments',
      container: 'app',
      image: IMAGE,
      strategy: 'canary',
      service: 'payments',
    });
    await cluster.copyDeployment(
      target,
      { name: 'payments-canary', labels: { track: 'canary' }, container: 'app', image: `${IMAGE}:v1.0.1`, replicas: 2 },
      meta,
    );
    clock.advance(2_000);
    const snapshot = cluster.describe();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot).toEqual({
      deployments: [
        {
          namespace: 'payments',
          name: 'payments',
          revision: 2,
          images: { app: `${IMAGE}:v1.0.0` },
          labels: { app: 'payments' },
          desired: 4,
          updated: 4,
          ready: 4,
          available: 4,
          done: true,
          healthy: true,
          paused: false,
        },
        {
          namespace: 'payments',
          name: 'payments-canary',
          revision: 1,
          images: { app: `${IMAGE}:v1.0.1` },
          labels: { app: 'payments', track: 'canary' },
          desired: 2,
          updated: 1,
          ready: 1,
          available: 1,
          done: false,
          healthy: true,
          paused: false,
          changeCause: meta.changeCause,
        },
      ],
      services: [
        {
          namespace: 'payments',
          name: 'payments',
          selector: { app: 'payments' },
          selects: ['payments', 'payments-canary'],
        },
      ],
    });
    cluster.setHealthy('payments', 'payments', false);
    clock.advance(2_000);
    expect(cluster.describe().deployments[0]).toMatchObject({
      healthy: false,
      available: 0,
      done: false,
      failure: expect.stringMatching(/CrashLoopBackOff/),
    });
  });
});
