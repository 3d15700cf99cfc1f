// One contract for the Cluster port, run against the in-memory fake, against the real adapter
// (client-node) on the loopback fake API server, and against the console's simulated cluster, so
// neither fake nor the simulation can drift from what firelane uses.
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeCluster } from '../../src/adapters/k8s/kube-cluster.js';
import { createSimulatedCluster } from '../../src/adapters/sim/simulated-cluster.js';
import type { Cluster, DeploymentTarget } from '../../src/ports/cluster.js';
import { startFakeKube } from '../fakes/fake-kube.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';

interface Subject {
  cluster: Cluster;
  add(target: DeploymentTarget, image: string, replicas: number, labels?: Record<string, string>): void;
  addService(namespace: string, name: string, selector: Record<string, string>): void;
  close(): Promise<void>;
}

const implementations: Array<[string, () => Promise<Subject>]> = [
  [
    'memory cluster',
    async () => {
      const cluster = createMemoryCluster();
      return {
        cluster,
        add: (t, image, replicas, labels) =>
          cluster.addDeployment({
            namespace: t.namespace,
            name: t.deployment,
            images: { app: image },
            replicas,
            ...(labels && { labels }),
          }),
        addService: (namespace, name, selector) => cluster.addService({ namespace, name, selector }),
        close: async () => {},
      };
    },
  ],
  [
    'client-node adapter on the fake API server',
    async () => {
      const fake = await startFakeKube({ stepMs: 5 });
      const kc = new KubeConfig();
      kc.loadFromString(fake.kubeconfigYaml());
      return {
        cluster: createKubeCluster({ kubeConfig: kc }),
        add: (t, image, replicas, labels) =>
          fake.addDeployment({
            namespace: t.namespace,
            name: t.deployment,
            replicas,
            containers: [{ name: 'app', image }],
            ...(labels && { labels }),
          }),
        addService: (namespace, name, selector) => fake.addService({ namespace, name, selector }),
        close: () => fake.close(),
      };
    },
  ],
  [
    'simulated cluster (the console)',
    async () => {
      // A clock that moves 1 s each time it is read: rollouts (2 s a replica) progress over a few
      // polls, deterministically, with no timer of their own.
      let now = Date.parse('2026-01-01T00:00:00Z');
      const cluster = createSimulatedCluster({ clock: { now: () => (now += 1_000) } });
      return {
        cluster,
        add: (t, image, replicas, labels) =>
          cluster.addDeployment({
            namespace: t.namespace,
            name: t.deployment,
            images: { app: image },
            replicas,
            ...(labels && { labels }),
          }),
        addService: (namespace, name, selector) => cluster.addService({ namespace, name, selector }),
        close: async () => {},
      };
    },
  ],
];

const target: DeploymentTarget = { namespace: 'payments', deployment: 'payments' };
const meta = { changeCause: 'firelane REQ-1 approved by U0LEAD1' };

async function rolledOut(cluster: Cluster, of: DeploymentTarget = target): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const progress = await cluster.rolloutProgress(of);
    if (progress.done) return;
    if (progress.failure) throw new Error(progress.failure);
    if (Date.now() > deadline) throw new Error(`rollout not done: ${JSON.stringify(progress)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(implementations)('Cluster contract: %s', (_name, make) => {
  let subject: Subject;
  afterEach(async () => subject?.close());

  it('reads a deployment, and nothing for an unknown one', async () => {
    subject = await make();
    subject.add(target, 'ghcr.io/acme/payments:v2.1.0', 3);
    expect(await subject.cluster.readDeployment({ ...target, deployment: 'nope' })).toBeUndefined();
    const state = await subject.cluster.readDeployment(target);
    expect(state).toMatchObject({
      name: 'payments',
      namespace: 'payments',
      images: { app: 'ghcr.io/acme/payments:v2.1.0' },
      revision: 1,
      desired: 3,
      paused: false,
    });
  });

  it('sets an image, rolls out to a new revision, and keeps the history', async () => {
    subject = await make();
    subject.add(target, 'ghcr.io/acme/payments:v2.1.0', 3);
    await subject.cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v2.1.1', meta);
    await rolledOut(subject.cluster);
    const state = await subject.cluster.readDeployment(target);
    expect(state).toMatchObject({
      images: { app: 'ghcr.io/acme/payments:v2.1.1' },
      revision: 2,
      updated: 3,
      available: 3,
    });
    const history = await subject.cluster.history(target);
    expect(history.map((r) => [r.revision, r.images.app])).toEqual([
      [1, 'ghcr.io/acme/payments:v2.1.0'],
      [2, 'ghcr.io/acme/payments:v2.1.1'],
    ]);
    expect(history[1]!.changeCause).toBe(meta.changeCause);
  });

  it('undo returns to the previous template as a new revision; --to-revision picks one; a missing revision is refused', async () => {
    subject = await make();
    subject.add(target, 'ghcr.io/acme/payments:v1', 2);
    await subject.cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v2', meta);
    await rolledOut(subject.cluster);
    await subject.cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v3', meta);
    await rolledOut(subject.cluster);

    await subject.cluster.undo(target, { changeCause: 'firelane rollback REQ-2' });
    await rolledOut(subject.cluster);
    expect(await subject.cluster.readDeployment(target)).toMatchObject({
      images: { app: 'ghcr.io/acme/payments:v2' },
      revision: 4,
    });
    // The reused template moved to the new revision: 2 is gone from the history, 4 is there.
    expect((await subject.cluster.history(target)).map((r) => r.revision)).toEqual([1, 3, 4]);

    await subject.cluster.undo(target, { changeCause: 'firelane rollback REQ-3' }, 1);
    await rolledOut(subject.cluster);
    expect(await subject.cluster.readDeployment(target)).toMatchObject({
      images: { app: 'ghcr.io/acme/payments:v1' },
      revision: 5,
    });

    await expect(subject.cluster.undo(target, meta, 99)).rejects.toThrow(/revision 99/);
  });

  it('scales a deployment without a new revision', async () => {
    subject = await make();
    subject.add(target, 'ghcr.io/acme/payments:v1', 4);
    const scaled = await subject.cluster.scale(target, 1, meta);
    expect(scaled).toMatchObject({ desired: 1, revision: 1 });
    await rolledOut(subject.cluster);
    expect(await subject.cluster.readDeployment(target)).toMatchObject({
      desired: 1,
      available: 1,
      revision: 1,
      images: { app: 'ghcr.io/acme/payments:v1' },
    });
    expect((await subject.cluster.history(target)).map((r) => r.revision)).toEqual([1]);
    await expect(subject.cluster.scale({ ...target, deployment: 'nope' }, 1, meta)).rejects.toThrow();
  });

  it('reads a Service and switches one label of its selector', async () => {
    subject = await make();
    subject.addService('payments', 'payments', { app: 'payments', slot: 'blue' });
    expect(await subject.cluster.readService({ namespace: 'payments', service: 'nope' })).toBeUndefined();
    expect(await subject.cluster.readService({ namespace: 'payments', service: 'payments' })).toMatchObject({
      name: 'payments',
      selector: { app: 'payments', slot: 'blue' },
    });
    const switched = await subject.cluster.setSelector(
      { namespace: 'payments', service: 'payments' },
      'slot',
      'green',
      meta,
    );
    expect(switched.selector).toEqual({ app: 'payments', slot: 'green' });
    expect((await subject.cluster.readService({ namespace: 'payments', service: 'payments' }))!.selector).toEqual({
      app: 'payments',
      slot: 'green',
    });
    await expect(
      subject.cluster.setSelector({ namespace: 'payments', service: 'nope' }, 'slot', 'green', meta),
    ).rejects.toThrow();
  });

  it('copies a deployment with extra labels and another image, then replaces the copy the next time', async () => {
    subject = await make();
    subject.add(target, 'ghcr.io/acme/payments:v1', 4);
    const canary = { ...target, deployment: 'payments-canary' };
    expect(await subject.cluster.readDeployment(canary)).toBeUndefined();
    await subject.cluster.copyDeployment(
      target,
      {
        name: 'payments-canary',
        labels: { track: 'canary' },
        container: 'app',
        image: 'ghcr.io/acme/payments:v2',
        replicas: 1,
      },
      meta,
    );
    await rolledOut(subject.cluster, canary);
    expect(await subject.cluster.readDeployment(canary)).toMatchObject({
      desired: 1,
      available: 1,
      images: { app: 'ghcr.io/acme/payments:v2' },
    });
    // The original is untouched.
    expect(await subject.cluster.readDeployment(target)).toMatchObject({
      desired: 4,
      revision: 1,
      images: { app: 'ghcr.io/acme/payments:v1' },
    });

    await subject.cluster.copyDeployment(
      target,
      {
        name: 'payments-canary',
        labels: { track: 'canary' },
        container: 'app',
        image: 'ghcr.io/acme/payments:v3',
        replicas: 2,
      },
      meta,
    );
    await rolledOut(subject.cluster, canary);
    expect(await subject.cluster.readDeployment(canary)).toMatchObject({
      desired: 2,
      available: 2,
      revision: 2,
      images: { app: 'ghcr.io/acme/payments:v3' },
    });
    await expect(
      subject.cluster.copyDeployment(
        target,
        { name: 'payments-canary', labels: { track: 'canary' }, container: 'nope', image: 'x:1', replicas: 1 },
        meta,
      ),
    ).rejects.toThrow(/nope/);
  });
});
