// reconcileDeploys on the deploy core (SQLite :memory:, in-memory cluster, manual clock): every way a
// request can be found in progress with its execute job gone, and what the cluster then decides.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { toPlainText } from '../../../src/ports/reply.js';
import type { FileConfig } from '../../../src/config.js';
import {
  createReconcileJobs,
  enqueueReconcile,
  executeJobKey,
  holdingLease,
  LeaseLost,
  reconcileDeploys,
  watchJobKey,
} from '../../../src/jobs/reconcile-deploys.js';
import { RetryLater, type JobContext } from '../../../src/jobs/worker.js';
import type { Cluster } from '../../../src/ports/cluster.js';
import {
  createDeployFixture,
  deployConfig,
  IMAGE,
  LEAD1,
  PAYMENTS,
  type DeployFixture,
} from '../commands/deploy-fixture.js';
import { RECONCILE_DEPLOYS } from '../../../src/ports/jobs.js';

let f: DeployFixture;
afterEach(() => f?.close());

const logger = pino({ level: 'silent' });
const reconcile = (options: { config?: FileConfig; cluster?: Cluster | null } = {}) =>
  reconcileDeploys({
    store: f.store,
    config: options.config ?? deployConfig(),
    clock: f.clock,
    logger,
    ...(options.cluster !== null && { cluster: options.cluster ?? f.cluster }),
  });

/** As after the job's last attempt. */
const bury = (key: string) =>
  expect(
    f.handle.sqlite.prepare("UPDATE jobs SET status = 'dead', locked_by = NULL WHERE key = ?").run(key).changes,
  ).toBe(1);

/** The cluster call `method` fails like a dropped connection `times` times. */
function breakCluster(method: 'readDeployment' | 'rolloutProgress' | 'setImage', times = Infinity) {
  const real = f.cluster[method].bind(f.cluster) as (...args: unknown[]) => Promise<unknown>;
  let left = times;
  (f.cluster as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    if (left-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
    return real(...args);
  };
  return () => {
    (f.cluster as unknown as Record<string, unknown>)[method] = real;
  };
}

/** /deploy, approval, and the execute job stopped after the image was set and polled once. */
async function interruptedDeploy(options: { rolloutPolls?: number } = {}) {
  f = createDeployFixture({ rolloutPolls: options.rolloutPolls ?? 3 });
  await f.run('/deploy payments v2.1.1');
  await f.drain();
  expect((await f.run('/deploy approve REQ-1', { user: LEAD1 })).outcome).toBe('ok');
  // The approval queued the execute job under the key the reconcile looks for.
  expect(await f.store.jobs.state(executeJobKey(1))).toBe('queued');
  const heal = breakCluster('rolloutProgress', 1);
  await f.drain(); // the job fails its poll and waits for a retry that the manual clock never reaches
  heal();
  expect(await f.request()).toMatchObject({ status: 'executing' });
  expect(f.cluster.changes).toHaveLength(1);
}

const plain = (text: string | undefined) => toPlainText(text ?? '');

describe('holding a lease', () => {
  /** Leases that grant, then answer each renewal as told. */
  const leases = (renewal: () => Promise<boolean>) => {
    const calls: string[] = [];
    return {
      calls,
      store: {
        leases: {
          acquire: async () => (calls.push('acquire'), 7),
          renew: async () => (calls.push('renew'), renewal()),
          release: async () => void calls.push('release'),
        },
      },
    };
  };
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('is held while every renewal (a third of its time) succeeds, and given back at the end', async () => {
    const t = leases(async () => true);
    const seen = await holdingLease(t.store, 'x', async (held) => (await pause(80), held()), 30);
    expect(seen).toBe(true);
    expect(t.calls.filter((c) => c === 'renew').length).toBeGreaterThanOrEqual(3);
    expect(t.calls.at(-1)).toBe('release');
  });

  it('is given up for good when a renewal finds it taken over, or fails', async () => {
    for (const renewal of [async () => false, async () => Promise.reject(new Error('connection reset'))]) {
      const t = leases(renewal);
      const seen: boolean[] = [];
      await holdingLease(
        t.store,
        'x',
        async (held) => {
          seen.push(held());
          await pause(40);
          seen.push(held());
        },
        30,
      );
      expect(seen).toEqual([true, false]);
    }
  });

  it('reconcile stops before its next request once the lease is lost, changing nothing', async () => {
    await interruptedDeploy();
    const before = await f.request();
    await expect(
      reconcileDeploys({
        store: f.store,
        config: deployConfig(),
        clock: f.clock,
        logger,
        cluster: f.cluster,
        held: () => false,
      }),
    ).rejects.toBeInstanceOf(LeaseLost);
    expect(await f.request()).toEqual(before);
    expect(f.cluster.changes).toHaveLength(1);
  });
});

describe('reconcileDeploys', () => {
  it('an execution that gives up for good while firelane runs is reconciled at once, freeing the lock', async () => {
    f = createDeployFixture({ rolloutPolls: 3 });
    await f.run('/deploy payments v2.1.1');
    await f.drain();
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    const heal = breakCluster('readDeployment'); // every attempt of the execute job fails
    for (let i = 0; i < 20 && (await f.store.jobs.state(executeJobKey(1))) !== 'dead'; i++) {
      f.clock.advance(1_000);
      await f.drain();
    }
    expect(await f.store.jobs.state(executeJobKey(1))).toBe('dead');
    expect((await f.request()).status).toBe('approved'); // the reconcile cannot read the cluster either: it waits
    heal();
    f.clock.advance(60_000);
    await f.drain();
    expect(await f.request()).toMatchObject({ status: 'failed' });
    expect((await f.request()).reason).toMatch(/^reconciled after its execution gave up: the rollout never started/);
    expect(await f.store.deploys.inProgress()).toEqual([]);
    expect(f.cluster.changes).toEqual([]);
    expect((await f.run('/deploy payments v2.1.2')).outcome).toBe('ok');
  });

  it('leaves a request whose execute job is still queued to that job', async () => {
    await interruptedDeploy();
    const before = await f.request();
    expect(await reconcile()).toEqual([{ request: 1, outcome: 'active' }]);
    expect(await f.request()).toEqual(before);
    expect(await f.store.jobs.state(watchJobKey(1, 1))).toBeUndefined();
  });

  it('done in the cluster: succeeded, audited as firelane, card re-rendered, lock free', async () => {
    await interruptedDeploy();
    bury(executeJobKey(1));
    f.cluster.advance(PAYMENTS);
    expect(await reconcile()).toEqual([{ request: 1, outcome: 'succeeded', reason: null }]);
    expect(await f.request()).toMatchObject({ status: 'succeeded', resultRevision: 3, finishedAt: f.clock.now() });
    expect((await f.audit()).at(-1)).toMatchObject({ action: 'deploy.succeeded', actor: 'firelane' });
    await f.drain();
    expect(plain((await f.card()).text)).toMatch(/^✅ Succeeded .*now at revision 3/);
    expect(await f.store.deploys.inProgress()).toEqual([]);
    expect((await f.run('/deploy payments v2.1.2')).outcome).toBe('ok');
  });

  it('still rolling out: a watch follows it without changing the cluster again; a dead watch gets a successor', async () => {
    await interruptedDeploy({ rolloutPolls: 4 });
    bury(executeJobKey(1));
    expect(await reconcile()).toEqual([{ request: 1, outcome: 'watching', job: watchJobKey(1, 1) }]);
    expect(await f.store.jobs.get(watchJobKey(1, 1))).toMatchObject({
      kind: 'deploy.execute',
      payload: { requestId: 1, watchRevision: 3 },
    });
    // Running it again while the watch is queued does nothing.
    expect(await reconcile()).toEqual([{ request: 1, outcome: 'active' }]);

    // The watch dies too before its first poll; the next reconcile queues a second one.
    bury(watchJobKey(1, 1));
    expect(await reconcile()).toEqual([{ request: 1, outcome: 'watching', job: watchJobKey(1, 2) }]);
    await f.drain();
    expect(await f.request()).toMatchObject({ status: 'succeeded', resultRevision: 3 });
    expect(f.cluster.changes.map((c) => c.kind)).toEqual(['set-image']);
  });

  it('a rollback still rolling out is followed without a second undo (which would go back again)', async () => {
    f = createDeployFixture({ rolloutPolls: 3 });
    await f.run('/deploy payments v2.1.1');
    await f.drain();
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    await f.drain();
    expect(await f.request()).toMatchObject({ status: 'succeeded', resultRevision: 3 });

    await f.run('/rollback payments');
    await f.drain();
    expect((await f.request(2)).plan).toMatchObject({ fromRevision: 3, toRevision: 2, toImage: `${IMAGE}:v2.1.0` });
    await f.run('/rollback approve REQ-2', { user: LEAD1 });
    const heal = breakCluster('rolloutProgress', 1);
    await f.drain();
    heal();
    expect((await f.request(2)).status).toBe('executing');
    bury(executeJobKey(2));

    expect(await reconcile()).toEqual([{ request: 2, outcome: 'watching', job: watchJobKey(2, 1) }]);
    await f.drain();
    expect(await f.request(2)).toMatchObject({ status: 'succeeded', resultRevision: 4 });
    expect(f.cluster.changes.map((c) => c.kind)).toEqual(['set-image', 'undo']);
    expect(await f.cluster.readDeployment(PAYMENTS)).toMatchObject({ revision: 4, images: { app: `${IMAGE}:v2.1.0` } });
  });

  it('the rollout failed: failed with the cluster reason, and the outcome on the linked timeline', async () => {
    f = createDeployFixture({ rolloutPolls: 3 });
    await f.run('/incident sev1 Payments down');
    f.handle.sqlite.prepare("UPDATE incidents SET room_id = 'deploys' WHERE id = 1").run();
    f.cluster.failNextRollout(
      PAYMENTS,
      'ProgressDeadlineExceeded: ReplicaSet "payments-1" has timed out progressing',
      2,
    );
    await f.run('/deploy payments v2.1.1');
    await f.drain();
    expect((await f.request()).incidentId).toBe(1);
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    const heal = breakCluster('rolloutProgress', 1);
    await f.drain();
    heal();
    await f.cluster.rolloutProgress(PAYMENTS); // the first process's poll, before it died
    bury(executeJobKey(1));

    const [outcome] = await reconcile();
    expect(outcome).toMatchObject({ request: 1, outcome: 'failed' });
    expect(await f.request()).toMatchObject({
      status: 'failed',
      resultRevision: 3,
      reason: 'reconciled at start-up: ProgressDeadlineExceeded: ReplicaSet "payments-1" has timed out progressing',
    });
    const last = (await f.store.incidents.timeline(1)).at(-1)!;
    expect(last).toMatchObject({ kind: 'deploy_failed', actor: 'firelane' });
    expect(last.text).toMatch(/^REQ-1 failed: reconciled at start-up: ProgressDeadlineExceeded/);
  });

  it('the change was never made (executing, or still approved): failed, saying nothing was changed', async () => {
    f = createDeployFixture();
    await f.run('/deploy payments v2.1.1');
    await f.drain();
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    const heal = breakCluster('setImage', 1);
    await f.drain();
    heal();
    expect((await f.request()).status).toBe('executing');
    bury(executeJobKey(1));
    await reconcile();
    expect(await f.request()).toMatchObject({ status: 'failed', resultRevision: null });
    expect((await f.request()).reason).toBe(
      `reconciled at start-up: the rollout never started: payments/payments still runs ${IMAGE}:v2.1.0 (revision 2) and nothing was changed; ask again with a new request`,
    );

    // Approved, and the job gave up before its check of the cluster.
    await f.run('/deploy payments v2.1.2');
    await f.drain();
    await f.run('/deploy approve REQ-2', { user: LEAD1 });
    const healRead = breakCluster('readDeployment', 1);
    await f.drain();
    healRead();
    expect((await f.request(2)).status).toBe('approved');
    bury(executeJobKey(2));
    await reconcile();
    expect(await f.request(2)).toMatchObject({ status: 'failed' });
    expect((await f.request(2)).reason).toMatch(/^reconciled at start-up: the rollout never started/);
    expect(f.cluster.changes).toEqual([]);
  });

  it('the cluster runs neither the target nor the original: failed, naming all three', async () => {
    await interruptedDeploy();
    bury(executeJobKey(1));
    f.cluster.changeOutside(PAYMENTS, 'app', `${IMAGE}:hotfix-7`);
    await reconcile();
    expect(await f.request()).toMatchObject({ status: 'failed', resultRevision: 4 });
    expect((await f.request()).reason).toBe(
      `reconciled at start-up: payments/payments runs ${IMAGE}:hotfix-7 (revision 4), neither the target ${IMAGE}:v2.1.1 nor ${IMAGE}:v2.1.0 (revision 2) from before; someone else changed it`,
    );
  });

  it('the cluster cannot be read: nothing changes, and the job tries again later until it can', async () => {
    await interruptedDeploy();
    bury(executeJobKey(1));
    f.cluster.advance(PAYMENTS);
    const heal = breakCluster('readDeployment');
    const audit = (await f.audit()).length;
    expect(await reconcile()).toEqual([
      { request: 1, outcome: 'unreachable', error: 'connect ECONNREFUSED 10.0.0.1:443' },
    ]);
    expect((await f.request()).status).toBe('executing');
    expect(await f.audit()).toHaveLength(audit);

    const job = createReconcileJobs({
      store: f.store,
      config: deployConfig(),
      clock: f.clock,
      logger,
      cluster: f.cluster,
      retryMs: 45_000,
    })[RECONCILE_DEPLOYS]!;
    const context = {} as JobContext;
    const retry = await job({}, context).catch((error: unknown) => error);
    expect(retry).toBeInstanceOf(RetryLater);
    expect(retry).toMatchObject({ retryAfterMs: 45_000, message: 'the cluster could not be read for REQ-1' });

    heal();
    await job({}, context);
    expect((await f.request()).status).toBe('succeeded');
  });

  it('without a cluster nothing is decided; a service gone from the config fails (executing) or is void (approved)', async () => {
    await interruptedDeploy();
    bury(executeJobKey(1));
    expect(await reconcile({ cluster: null })).toEqual([
      { request: 1, outcome: 'unreachable', error: 'Kubernetes is not connected' },
    ]);
    await createReconcileJobs({ store: f.store, config: deployConfig(), clock: f.clock, logger })[RECONCILE_DEPLOYS]!(
      {},
      {} as JobContext,
    ); // no retry loop
    expect((await f.request()).status).toBe('executing');

    const withoutKubernetes = deployConfig();
    withoutKubernetes.services.payments = { ...withoutKubernetes.services.payments!, kubernetes: undefined } as never;
    await reconcile({ config: withoutKubernetes });
    expect(await f.request()).toMatchObject({ status: 'failed' });
    expect((await f.request()).reason).toBe(
      'reconciled at start-up: payments has no kubernetes target in production in firelane.yaml any more, so its rollout cannot be followed',
    );
  });

  it('the start-up job is queued only when a request is in progress, once per start', async () => {
    f = createDeployFixture();
    expect(await enqueueReconcile(f.store, 'boot-1')).toBe(false);
    await f.run('/deploy payments v2.1.1');
    await f.drain();
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    expect(await enqueueReconcile(f.store, 'boot-2')).toBe(true);
    expect(await enqueueReconcile(f.store, 'boot-2')).toBe(false);
    expect(await f.store.jobs.state('deploy-reconcile:boot-2')).toBe('queued');
  });
});
