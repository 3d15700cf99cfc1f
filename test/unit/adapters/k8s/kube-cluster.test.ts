// The client-node adapter against the loopback fake API server: what reaches Kubernetes (patch
// type, fieldManager, change-cause) and how rollouts are judged (early failure on crash loops and
// pull errors, the progress deadline), plus Kubernetes errors in plain words.
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeCluster } from '../../../../src/adapters/k8s/kube-cluster.js';
import { FirelaneError } from '../../../../src/errors.js';
import type { Cluster, RolloutProgress } from '../../../../src/ports/cluster.js';
import { startFakeKube, type FakeKube } from '../../../fakes/fake-kube.js';

const target = { namespace: 'payments', deployment: 'payments' };
const meta = { changeCause: 'firelane REQ-7 approved by U0LEAD1' };

describe('kube cluster adapter', () => {
  let fake: FakeKube;
  let cluster: Cluster;
  let upstreamErrors: string[] = [];
  afterEach(async () => fake?.close());

  async function start(options: Parameters<typeof startFakeKube>[0] = {}) {
    fake = await startFakeKube({ stepMs: 5, ...options });
    const kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfigYaml());
    upstreamErrors = [];
    cluster = createKubeCluster({ kubeConfig: kc, onUpstreamError: (status) => upstreamErrors.push(status) });
    fake.addDeployment({
      namespace: 'payments',
      name: 'payments',
      replicas: 3,
      containers: [{ name: 'app', image: 'ghcr.io/acme/payments:v1' }],
    });
  }

  async function settle(): Promise<RolloutProgress> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const progress = await cluster.rolloutProgress(target);
      if (progress.done || progress.failure || Date.now() > deadline) return progress;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('sets the image with a strategic merge patch from fieldManager firelane, naming the request in change-cause', async () => {
    await start();
    await cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v2', meta);
    const patch = fake.requests.find((r) => r.method === 'PATCH');
    expect(patch).toMatchObject({
      contentType: 'application/strategic-merge-patch+json',
      fieldManager: 'firelane',
      path: '/apis/apps/v1/namespaces/payments/deployments/payments',
    });
    expect(fake.deployment('payments', 'payments').metadata.annotations['kubernetes.io/change-cause']).toBe(
      meta.changeCause,
    );
    expect(await settle()).toMatchObject({ done: true, updated: 3, available: 3 });
  });

  it('fails a crash-looping rollout early, naming the pod and the reason, long before the deadline', async () => {
    await start();
    fake.breakImage('ghcr.io/acme/payments:v2', 'CrashLoopBackOff');
    const started = Date.now();
    await cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v2', meta);
    const progress = await settle();
    expect(progress.done).toBe(false);
    expect(progress.failure).toMatch(/pod payments-[a-z0-9]+-[a-z0-9]+ (is in CrashLoopBackOff|restarted \d+ times)/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails an image that cannot be pulled', async () => {
    await start();
    fake.breakImage('ghcr.io/acme/payments:v9', 'ImagePullBackOff');
    await cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v9', meta);
    expect((await settle()).failure).toMatch(/ImagePullBackOff/);
  });

  it('reports a stalled rollout once the progress deadline is exceeded', async () => {
    await start({ progressDeadlineSeconds: 1 });
    fake.stallImage('ghcr.io/acme/payments:v3');
    await cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v3', meta);
    expect((await settle()).failure).toMatch(/progress deadline/);
  });

  it('rolls back with a JSON patch of the pod template, as kubectl rollout undo does', async () => {
    await start();
    await cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v2', meta);
    await settle();
    await cluster.undo(target, { changeCause: 'firelane rollback REQ-8 approved by U0LEAD2' });
    const patch = fake.requests.filter((r) => r.method === 'PATCH').at(-1)!;
    expect(patch.contentType).toBe('application/json-patch+json');
    expect(patch.fieldManager).toBe('firelane');
    const ops = patch.body as Array<{ op: string; path: string; value: any }>;
    expect(ops.map((o) => o.path)).toEqual(['/spec/template', '/metadata/annotations']);
    expect(ops[0]!.value.metadata.labels['pod-template-hash']).toBeUndefined();
    expect(await settle()).toMatchObject({ done: true });
    expect((await cluster.readDeployment(target))!.images.app).toBe('ghcr.io/acme/payments:v1');
  });

  it('skips an undo to the template that is already running, and refuses a paused deployment', async () => {
    await start();
    await cluster.setImage(target, 'app', 'ghcr.io/acme/payments:v2', meta);
    await settle();
    const before = fake.requests.filter((r) => r.method === 'PATCH').length;
    await cluster.undo(target, meta, 2); // revision 2 is what runs
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(before);
    fake.addDeployment({
      namespace: 'payments',
      name: 'frozen',
      replicas: 1,
      containers: [{ name: 'app', image: 'x:1' }],
    });
    const deployment = fake.deployment('payments', 'frozen');
    expect(deployment).toBeDefined();
    const kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfigYaml());
    // Pause it as an operator would, through the API.
    const { AppsV1Api, PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
    await kc
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeployment(
        { name: 'frozen', namespace: 'payments', body: { spec: { paused: true } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await expect(cluster.undo({ namespace: 'payments', deployment: 'frozen' }, meta)).rejects.toThrow(/paused/);
  });

  it('turns Kubernetes errors into plain words with firelane codes', async () => {
    await start();
    fake.failNext({ method: 'PATCH', code: 403 });
    const forbidden = await cluster.setImage(target, 'app', 'x:2', meta).catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(FirelaneError);
    expect(forbidden).toMatchObject({ code: 'forbidden' });
    expect((forbidden as Error).message).toMatch(/not allowed to set the image of payments\/payments \(HTTP 403\)/);
    fake.failNext({ method: 'GET', code: 500 });
    await expect(cluster.rolloutProgress(target)).rejects.toMatchObject({ code: 'upstream' });
    await expect(cluster.readDeployment({ ...target, context: 'no-such-context' })).rejects.toThrow(
      /no context "no-such-context"/,
    );
    // Each failed API call is heard once, with its status (for firelane_upstream_errors_total).
    expect(upstreamErrors).toEqual(['403', '500']);
    // A Service that is not there is an answer (undefined), not an upstream error.
    expect(await cluster.readService({ namespace: 'payments', service: 'nope' })).toBeUndefined();
    expect(upstreamErrors).toEqual(['403', '500']);
  });
});
