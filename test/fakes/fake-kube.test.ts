/**
 * Contract tests for the Kubernetes fake. Its behaviour is checked with the real clients the project and its users
 * rely on: the `kubectl` binary (get, set image, rollout status/history/undo/pause/resume, scale, patch) and
 * @kubernetes/client-node 2.x (typed APIs with patch content types, ApiException, Watch). If the fake drifted from
 * the real API server, these clients would fail against it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from './fake-kube.js';
import { requireTool, TOOLS } from '../support/require-tool.js';

const NS = 'shop';

const KUBECTL = requireTool(TOOLS.kubectl);

const opened: FakeKube[] = [];
const tempDirs: string[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((f) => f.close()));
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function fakeWithWeb(
  options: FakeKubeOptions = {},
  replicas = 3,
  progressDeadlineSeconds?: number,
): Promise<FakeKube> {
  const fake = await startFakeKube({ stepMs: 20, ...options });
  opened.push(fake);
  fake.addDeployment({
    namespace: NS,
    name: 'web',
    replicas,
    containers: [{ name: 'app', image: 'shop/web:v1' }],
    progressDeadlineSeconds,
  });
  fake.addService({ namespace: NS, name: 'web', selector: { app: 'web' } });
  return fake;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
/** A kubectl bound to one fake, with its own kubeconfig, HOME and discovery cache (async execFile: never execFileSync). */
async function kubectlFor(fake: FakeKube): Promise<(...args: string[]) => Promise<Run>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fake-kube-'));
  tempDirs.push(dir);
  const config = path.join(dir, 'kubeconfig');
  await writeFile(config, fake.kubeconfigYaml());
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
  return (...args) =>
    new Promise<Run>((resolve) => {
      execFile(
        KUBECTL!,
        ['--kubeconfig', config, '--cache-dir', path.join(dir, 'cache'), '--request-timeout=10s', ...args],
        { env, timeout: 30_000 },
        (err, stdout, stderr) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
          }),
      );
    });
}

const image = (d: any) => d.spec.template.spec.containers[0].image as string;
const revision = (o: any) => o.metadata.annotations['deployment.kubernetes.io/revision'] as string;
const condition = (d: any, type: string) => (d.status?.conditions ?? []).find((c: any) => c.type === type);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 8000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!KUBECTL)('kubectl against the fake', () => {
  it('get deploy lists the Deployment with server-side columns, and a missing one is NotFound', async () => {
    const fake = await fakeWithWeb();
    const k = await kubectlFor(fake);
    const table = await k('get', 'deploy', '-n', NS);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/m);
    expect(table.stdout).toMatch(/^web\s+3\/3\s+3\s+3\s+/m);

    const json = await k('get', 'deployment', 'web', '-n', NS, '-o', 'json');
    const d = JSON.parse(json.stdout);
    expect(d).toMatchObject({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name: 'web', namespace: NS, generation: 1 },
      status: { observedGeneration: 1, readyReplicas: 3 },
    });
    expect(revision(d)).toBe('1');

    const missing = await k('get', 'deploy', 'nope', '-n', NS);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "nope" not found');
  });

  it('set image, then rollout status waits for the rollout (its watch resuming from a resourceVersion) and reports success', async () => {
    const fake = await fakeWithWeb({ stepMs: 400 });
    const k = await kubectlFor(fake);
    const set = await k('set', 'image', 'deploy/web', 'app=shop/web:v2', '-n', NS);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('deployment.apps/web image updated');
    const patch = fake.requests.find((r) => r.method === 'PATCH');
    expect(patch).toMatchObject({
      path: `/apis/apps/v1/namespaces/${NS}/deployments/web`,
      contentType: 'application/strategic-merge-patch+json',
      fieldManager: 'kubectl-set',
    });

    // --request-timeout=1s cuts each watch after a second: client-go then re-watches from the last resourceVersion seen
    const status = await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s', '--request-timeout=1s');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('Waiting for deployment "web" rollout to finish');
    expect(status.stdout.trim().split('\n').at(-1)).toBe('deployment "web" successfully rolled out');
    const watches = fake.requests.filter((r) => /(^|&)watch=true/.test(r.query));
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(
      watches.every((r) => /fieldSelector=metadata.name%3Dweb/.test(r.query) && /resourceVersion=\d+/.test(r.query)),
    ).toBe(true);

    const d = fake.deployment(NS, 'web');
    expect(image(d)).toBe('shop/web:v2');
    expect(d.metadata.generation).toBe(2);
    expect(d.status).toMatchObject({
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(condition(d, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(revision(d)).toBe('2');
    const pods = fake.pods(NS);
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => p.spec.containers[0].image === 'shop/web:v2')).toBe(true);
  });

  it('rollout history shows both revisions; kubectl annotate sets the change-cause of the current one', async () => {
    const fake = await fakeWithWeb();
    const k = await kubectlFor(fake);
    expect((await k('set', 'image', 'deploy/web', 'app=shop/web:v2', '-n', NS)).code).toBe(0);
    expect((await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s')).code).toBe(0);
    const before = fake.deployment(NS, 'web');
    const annotate = await k(
      'annotate',
      'deploy/web',
      '-n',
      NS,
      'kubernetes.io/change-cause=deploy v2 (approved by alice)',
    );
    expect(annotate.code, annotate.stderr).toBe(0);
    const annotated = fake.deployment(NS, 'web');
    expect(annotated.metadata.generation).toBe(before.metadata.generation); // metadata-only: no new generation
    expect(Number(annotated.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    // the controller copies the Deployment's annotations onto the current ReplicaSet, as the real one does
    await until('the change-cause on revision 2', () =>
      fake.replicaSets(NS).some((rs) => revision(rs) === '2' && rs.metadata.annotations['kubernetes.io/change-cause']),
    );

    const history = await k('rollout', 'history', 'deploy/web', '-n', NS);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE/);
    expect(history.stdout).toMatch(/^1\s+<none>/m);
    expect(history.stdout).toMatch(/^2\s+deploy v2 \(approved by alice\)/m);
    const rev2 = await k('rollout', 'history', 'deploy/web', '-n', NS, '--revision=2');
    expect(rev2.stdout).toContain('shop/web:v2');

    const rss = fake.replicaSets(NS);
    expect(rss).toHaveLength(2);
    const web = fake.deployment(NS, 'web');
    for (const rs of rss) {
      expect(rs.metadata.name).toBe(`web-${rs.metadata.labels['pod-template-hash']}`);
      expect(rs.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Deployment', name: 'web', uid: web.metadata.uid, controller: true }),
      ]);
    }
  });

  it('rollout undo brings the previous image back by reusing its ReplicaSet under a new revision', async () => {
    const fake = await fakeWithWeb();
    const k = await kubectlFor(fake);
    const rev1 = fake.replicaSets(NS)[0];
    expect((await k('set', 'image', 'deploy/web', 'app=shop/web:v2', '-n', NS)).code).toBe(0);
    expect((await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s')).code).toBe(0);

    const undo = await k('rollout', 'undo', 'deploy/web', '-n', NS);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toContain('deployment.apps/web rolled back');
    expect(fake.requests.filter((r) => r.method === 'PATCH').at(-1)?.contentType).toBe('application/json-patch+json');
    const status = await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('successfully rolled out');

    const d = fake.deployment(NS, 'web');
    expect(image(d)).toBe('shop/web:v1');
    expect(revision(d)).toBe('3');
    const rss = fake.replicaSets(NS);
    expect(rss).toHaveLength(2);
    const reused = rss.find((rs) => rs.metadata.uid === rev1.metadata.uid);
    expect(reused.spec.replicas).toBe(3);
    expect(revision(reused)).toBe('3');
    expect(reused.metadata.annotations['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(
      fake
        .pods(NS)
        .every((p) => p.metadata.labels['pod-template-hash'] === reused.metadata.labels['pod-template-hash']),
    ).toBe(true);
    const history = await k('rollout', 'history', 'deploy/web', '-n', NS);
    expect(history.stdout).toMatch(/^2\s/m);
    expect(history.stdout).toMatch(/^3\s/m);
    expect(history.stdout).not.toMatch(/^1\s/m);
  });

  it('rollout undo --to-revision picks that revision; an unknown one fails; a matching one is skipped', async () => {
    const fake = await fakeWithWeb();
    const k = await kubectlFor(fake);
    for (const v of ['v2', 'v3']) {
      expect((await k('set', 'image', 'deploy/web', `app=shop/web:${v}`, '-n', NS)).code).toBe(0);
      await fake.waitForRollout(NS, 'web');
    }
    expect(revision(fake.deployment(NS, 'web'))).toBe('3');
    const undo = await k('rollout', 'undo', 'deploy/web', '-n', NS, '--to-revision=1');
    expect(undo.code, undo.stderr).toBe(0);
    expect((await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s')).code).toBe(0);
    expect(image(fake.deployment(NS, 'web'))).toBe('shop/web:v1');
    expect(revision(fake.deployment(NS, 'web'))).toBe('4');

    const unknown = await k('rollout', 'undo', 'deploy/web', '-n', NS, '--to-revision=9');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unable to find specified revision 9 in history');

    const same = await k('rollout', 'undo', 'deploy/web', '-n', NS, '--to-revision=4');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain('skipped rollback (current template already matches revision 4)');
  });

  it('a crash-looping image: rollout status fails at the progress deadline, pods show CrashLoopBackOff, undo recovers', async () => {
    const fake = await fakeWithWeb({}, 3, 1);
    fake.breakImage('shop/web:bad', 'CrashLoopBackOff');
    const k = await kubectlFor(fake);
    expect((await k('set', 'image', 'deploy/web', 'app=shop/web:bad', '-n', NS)).code).toBe(0);
    const started = Date.now();
    const status = await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s');
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('error: deployment "web" exceeded its progress deadline');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(8000);
    const d = fake.deployment(NS, 'web');
    expect(condition(d, 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(condition(d, 'Available')).toMatchObject({ status: 'True' });
    expect(d.status).toMatchObject({ updatedReplicas: 1, availableReplicas: 3 });

    const pods = JSON.parse((await k('get', 'pods', '-n', NS, '-o', 'json')).stdout).items as any[];
    const bad = pods.filter((p) => p.spec.containers[0].image === 'shop/web:bad');
    expect(bad).toHaveLength(1); // maxSurge 1 of 3, maxUnavailable 0: old pods stay
    const cs = bad[0].status.containerStatuses[0];
    expect(cs).toMatchObject({ ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } });
    expect(cs.restartCount).toBeGreaterThanOrEqual(1);
    expect(pods.filter((p) => p.status.containerStatuses[0].ready)).toHaveLength(3);
    const table = await k('get', 'pods', '-n', NS);
    expect(table.stdout).toMatch(/web-\w+-\w+\s+0\/1\s+CrashLoopBackOff\s+\d+/);

    expect((await k('rollout', 'undo', 'deploy/web', '-n', NS)).code).toBe(0);
    const again = await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s');
    expect(again.code, again.stderr).toBe(0);
    expect(fake.pods(NS).map((p) => p.spec.containers[0].image)).toEqual(['shop/web:v1', 'shop/web:v1', 'shop/web:v1']);
  });

  it('ImagePullBackOff and stalled (Pending) pods never become ready; rollout status --timeout gives up', async () => {
    const fake = await fakeWithWeb({}, 2);
    fake.addDeployment({
      namespace: NS,
      name: 'api',
      replicas: 2,
      containers: [{ name: 'app', image: 'shop/api:v1' }],
      progressDeadlineSeconds: 1,
    });
    fake.breakImage('shop/web:nope', 'ImagePullBackOff');
    fake.stallImage('shop/api'); // any tag of the repository
    const k = await kubectlFor(fake);
    expect((await k('set', 'image', 'deploy/web', 'app=shop/web:nope', '-n', NS)).code).toBe(0);
    expect((await k('set', 'image', 'deploy/api', 'app=shop/api:v2', '-n', NS)).code).toBe(0);
    const [web, api] = await Promise.all([
      k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=1s'),
      k('rollout', 'status', 'deploy/api', '-n', NS, '--timeout=15s'),
    ]);
    expect(web.code).toBe(1);
    expect(web.stderr).toContain('timed out waiting for the condition');
    expect(api.code).toBe(1);
    expect(api.stderr).toContain('deployment "api" exceeded its progress deadline');

    const pods = fake.pods(NS);
    const pulling = pods.find((p) => p.spec.containers[0].image === 'shop/web:nope');
    expect(pulling.status.phase).toBe('Pending');
    expect(pulling.status.containerStatuses[0].state.waiting).toMatchObject({
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "shop/web:nope"',
    });
    const stalled = pods.find((p) => p.spec.containers[0].image === 'shop/api:v2');
    expect(stalled.status.phase).toBe('Pending');
    expect(stalled.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }),
    );
    expect(condition(fake.deployment(NS, 'web'), 'Progressing').reason).not.toBe('ProgressDeadlineExceeded'); // 600 s default
  });

  it('a paused Deployment takes the new template but does not roll; undo is refused; resume rolls it', async () => {
    const fake = await fakeWithWeb();
    const k = await kubectlFor(fake);
    expect((await k('rollout', 'pause', 'deploy/web', '-n', NS)).code).toBe(0);
    expect((await k('set', 'image', 'deploy/web', 'app=shop/web:v2', '-n', NS)).code).toBe(0);
    const paused = await until('the paused spec to be observed', () => {
      const d = fake.deployment(NS, 'web');
      return (
        d.status.observedGeneration === d.metadata.generation &&
        condition(d, 'Progressing')?.reason === 'DeploymentPaused' &&
        d
      );
    });
    expect(paused.metadata.generation).toBe(3); // pause and the image are both spec changes
    await sleep(150);
    expect(fake.replicaSets(NS)).toHaveLength(1);
    expect(fake.pods(NS).every((p) => p.spec.containers[0].image === 'shop/web:v1')).toBe(true);
    expect(revision(fake.deployment(NS, 'web'))).toBe('1');

    const undo = await k('rollout', 'undo', 'deploy/web', '-n', NS, '--to-revision=1');
    expect(undo.code).not.toBe(0);
    expect(undo.stderr).toContain('you cannot rollback a paused deployment');
    const noPrevious = await k('rollout', 'undo', 'deploy/web', '-n', NS); // only one ReplicaSet: nothing to go back to
    expect(noPrevious.stderr).toContain('no rollout history found for deployment "web"');

    expect((await k('rollout', 'resume', 'deploy/web', '-n', NS)).code).toBe(0);
    const status = await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s');
    expect(status.code, status.stderr).toBe(0);
    expect(image(fake.deployment(NS, 'web'))).toBe('shop/web:v2');
    expect(revision(fake.deployment(NS, 'web'))).toBe('2');
  });

  it('apply (client-side and server-side) creates and updates a Deployment', async () => {
    const fake = await fakeWithWeb();
    const k = await kubectlFor(fake);
    const file = path.join(tempDirs.at(-1)!, 'api.yaml');
    const manifest = (tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: ${NS} }
spec:
  replicas: 2
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      containers: [{ name: app, image: "shop/api:${tag}", ports: [{ containerPort: 8080 }] }]
`;
    await writeFile(file, manifest('v1'));
    // the fake serves no OpenAPI documents, so client-side validation is off
    const created = await k('apply', '--validate=false', '-f', file);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('deployment.apps/api created');
    expect((await k('rollout', 'status', 'deploy/api', '-n', NS, '--timeout=20s')).code).toBe(0);
    expect((await k('apply', '--validate=false', '-f', file)).stdout).toContain('deployment.apps/api unchanged');
    await writeFile(file, manifest('v2'));
    const ssa = await k('apply', '--validate=false', '--server-side', '-f', file);
    expect(ssa.code, ssa.stderr).toBe(0);
    expect(ssa.stdout).toContain('serverside-applied');
    expect(fake.requests.find((r) => r.contentType === 'application/apply-patch+yaml')).toMatchObject({
      method: 'PATCH',
      fieldManager: 'kubectl',
    });
    expect((await k('rollout', 'status', 'deploy/api', '-n', NS, '--timeout=20s')).code).toBe(0);
    const api = fake.deployment(NS, 'api');
    expect(image(api)).toBe('shop/api:v2');
    expect(revision(api)).toBe('2');
    expect(api.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
  });

  it('scale changes the replica count through the scale subresource', async () => {
    const fake = await fakeWithWeb();
    const k = await kubectlFor(fake);
    const scale = await k('scale', 'deploy/web', '-n', NS, '--replicas=5');
    expect(scale.code, scale.stderr).toBe(0);
    expect(scale.stdout).toContain('deployment.apps/web scaled');
    expect(fake.requests.some((r) => r.path.endsWith('/deployments/web/scale') && r.method === 'PATCH')).toBe(true);
    expect((await k('rollout', 'status', 'deploy/web', '-n', NS, '--timeout=20s')).code).toBe(0);
    const d = fake.deployment(NS, 'web');
    expect(d.spec.replicas).toBe(5);
    expect(d.status).toMatchObject({ replicas: 5, readyReplicas: 5, availableReplicas: 5 });
    expect(fake.replicaSets(NS)).toHaveLength(1); // no new revision
    expect(fake.pods(NS)).toHaveLength(5);
  });

  it('patch svc changes the selector (strategic merge, merge patch, JSON patch)', async () => {
    const fake = await fakeWithWeb();
    const k = await kubectlFor(fake);
    const smp = await k('patch', 'svc', 'web', '-n', NS, '-p', '{"spec":{"selector":{"slot":"green"}}}');
    expect(smp.code, smp.stderr).toBe(0);
    expect(smp.stdout).toContain('service/web patched');
    expect(fake.service(NS, 'web').spec.selector).toEqual({ app: 'web', slot: 'green' });
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'PATCH',
      path: `/api/v1/namespaces/${NS}/services/web`,
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(fake.selectedPods(NS, 'web')).toHaveLength(0); // the pods have no slot label

    const merge = await k(
      'patch',
      'service/web',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"selector":{"slot":null}}}',
    );
    expect(merge.code, merge.stderr).toBe(0);
    expect(fake.service(NS, 'web').spec.selector).toEqual({ app: 'web' });
    expect(fake.selectedPods(NS, 'web')).toHaveLength(3);

    const json = await k(
      'patch',
      'svc',
      'web',
      '-n',
      NS,
      '--type=json',
      '-p',
      '[{"op":"add","path":"/spec/selector/slot","value":"blue"}]',
    );
    expect(json.code, json.stderr).toBe(0);
    expect(fake.service(NS, 'web').spec.selector).toEqual({ app: 'web', slot: 'blue' });
    const got = JSON.parse((await k('get', 'svc', 'web', '-n', NS, '-o', 'json')).stdout);
    expect(got.spec).toMatchObject({
      selector: { app: 'web', slot: 'blue' },
      type: 'ClusterIP',
      ports: [{ port: 80, protocol: 'TCP' }],
    });
  });
});

describe('@kubernetes/client-node against the fake', () => {
  async function clients(fake: FakeKube) {
    const kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfigYaml('fake-ctx'));
    return { kc, apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };
  }
  const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  const errorBody = (e: unknown) => {
    const body = (e as ApiException<unknown>).body;
    return typeof body === 'string' ? JSON.parse(body) : body;
  };

  it('reads a Deployment; a missing one is ApiException 404 with a NotFound Status', async () => {
    const fake = await fakeWithWeb();
    const { kc, apps } = await clients(fake);
    expect(kc.getCurrentContext()).toBe('fake-ctx');
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    expect(d.metadata?.name).toBe('web');
    expect(d.spec?.template.spec?.containers[0]?.image).toBe('shop/web:v1');
    expect(d.status?.availableReplicas).toBe(3);
    expect(fake.requests.at(-1)?.path).toBe(`/apis/apps/v1/namespaces/${NS}/deployments/web`);

    const err = await apps.readNamespacedDeployment({ name: 'nope', namespace: NS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(404);
    expect(errorBody(err)).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: 'deployments.apps "nope" not found',
    });
  });

  it('a strategic merge patch with fieldManager rolls the Deployment; a Watch sees MODIFIED events until it is complete', async () => {
    const fake = await fakeWithWeb();
    const { kc, apps } = await clients(fake);
    const seen: V1Deployment[] = [];
    let done!: () => void;
    const complete = new Promise<void>((resolve) => (done = resolve));
    let ended: unknown = 'open';
    const ctrl = await new Watch(kc).watch(
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      { fieldSelector: 'metadata.name=web' },
      (type, obj: V1Deployment) => {
        seen.push({ ...obj, kind: type });
        const s = obj.status;
        if (
          type === 'MODIFIED' &&
          obj.metadata?.generation === 2 &&
          s?.observedGeneration === 2 &&
          s.updatedReplicas === 3 &&
          s.availableReplicas === 3 &&
          s.replicas === 3
        )
          done();
      },
      (err) => (ended = err),
    );
    const patched = await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: NS,
        fieldManager: 'firelane',
        body: {
          metadata: { annotations: { 'kubernetes.io/change-cause': 'INC-7 hotfix' } },
          spec: { template: { spec: { containers: [{ name: 'app', image: 'shop/web:v2' }] } } },
        },
      },
      smp,
    );
    expect(patched.metadata?.generation).toBe(2);
    expect(patched.spec?.template.spec?.containers).toEqual([
      expect.objectContaining({ name: 'app', image: 'shop/web:v2', imagePullPolicy: 'IfNotPresent' }),
    ]);
    expect(patched.metadata?.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'firelane', operation: 'Update' }),
    );
    expect(fake.requests.find((r) => r.method === 'PATCH')).toMatchObject({
      contentType: 'application/strategic-merge-patch+json',
      fieldManager: 'firelane',
    });

    await complete;
    ctrl.abort();
    expect(seen[0]?.kind).toBe('ADDED');
    const modified = seen.filter((e) => e.kind === 'MODIFIED');
    expect(modified.length).toBeGreaterThanOrEqual(4);
    // the PATCH itself comes first (status not yet observed), then the controller's updates
    expect(modified[0]?.status?.observedGeneration).toBe(1);
    const updated = modified
      .filter((e) => e.status?.observedGeneration === 2)
      .map((e) => e.status?.updatedReplicas ?? 0);
    // Seen in progress before complete (how far the controller got by its first status write depends on timing).
    expect(updated[0]).toBeLessThan(3);
    expect(updated).toEqual([...updated].sort((a, b) => a - b)); // the rollout only moves forward
    const rvs = seen.map((e) => Number(e.metadata?.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(new Set(rvs).size).toBe(rvs.length);
    expect(modified.some((e) => (e.status?.conditions ?? []).some((c) => c.reason === 'ReplicaSetUpdated'))).toBe(true);
    const final = fake.deployment(NS, 'web');
    expect(revision(final)).toBe('2');
    const newRS = fake.replicaSets(NS).find((rs) => revision(rs) === '2');
    expect(newRS.metadata.annotations['kubernetes.io/change-cause']).toBe('INC-7 hotfix');
    expect(ended).toBe('open');
  });

  it('merge patch and JSON patch; generation moves only on spec changes, resourceVersion on every change', async () => {
    const fake = await fakeWithWeb();
    const { apps } = await clients(fake);
    const d0 = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    const d1 = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: NS, body: { metadata: { annotations: { team: 'payments' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(d1.metadata?.generation).toBe(d0.metadata?.generation);
    expect(Number(d1.metadata?.resourceVersion)).toBeGreaterThan(Number(d0.metadata?.resourceVersion));
    expect(d1.metadata?.annotations).toMatchObject({ team: 'payments', 'deployment.kubernetes.io/revision': '1' });

    const same = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: NS, body: { metadata: { annotations: { team: 'payments' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(same.metadata?.resourceVersion).toBe(d1.metadata?.resourceVersion); // a no-op write changes nothing

    const d2 = await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: NS,
        body: [
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'shop/web:v9' },
          { op: 'add', path: '/metadata/annotations/kubernetes.io~1change-cause', value: 'json patch' },
          { op: 'remove', path: '/metadata/annotations/team' },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(d2.metadata?.generation).toBe((d0.metadata?.generation ?? 0) + 1);
    expect(d2.spec?.template.spec?.containers[0]?.image).toBe('shop/web:v9');
    expect(d2.metadata?.annotations?.team).toBeUndefined();
    expect(d2.metadata?.annotations?.['kubernetes.io/change-cause']).toBe('json patch');
    await fake.waitForRollout(NS, 'web');
    expect(revision(fake.deployment(NS, 'web'))).toBe('2');

    const badPath = await apps
      .patchNamespacedDeployment(
        { name: 'web', namespace: NS, body: [{ op: 'remove', path: '/metadata/labels/nope' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )
      .catch((e: unknown) => e);
    expect((badPath as ApiException<unknown>).code).toBe(422);
    // without a content-type option client-node sends application/json-patch+json, which an object body cannot be
    const objectAsJsonPatch = await apps
      .patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { replicas: 1 } } })
      .catch((e: unknown) => e);
    expect((objectAsJsonPatch as ApiException<unknown>).code).toBe(400);
  });

  it('409 Conflict for a stale resourceVersion, 415 for an unsupported patch type, 422 for an invalid spec, 401 for a wrong token', async () => {
    const fake = await fakeWithWeb();
    const { apps } = await clients(fake);
    const d0 = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { replicas: 4 } } }, smp);
    const stale = await apps
      .patchNamespacedDeployment(
        {
          name: 'web',
          namespace: NS,
          body: { metadata: { resourceVersion: d0.metadata?.resourceVersion }, spec: { replicas: 2 } },
        },
        smp,
      )
      .catch((e: unknown) => e);
    expect((stale as ApiException<unknown>).code).toBe(409);
    expect(errorBody(stale)).toMatchObject({
      reason: 'Conflict',
      code: 409,
      message: expect.stringContaining('the object has been modified'),
    });
    expect(fake.deployment(NS, 'web').spec.replicas).toBe(4);

    const raw = await fetch(`${fake.url}/apis/apps/v1/namespaces/${NS}/deployments/web`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"spec":{"replicas":1}}',
    });
    expect(raw.status).toBe(415);
    expect(await raw.json()).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });

    const invalid = await apps
      .patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { replicas: -1 } } }, smp)
      .catch((e: unknown) => e);
    expect((invalid as ApiException<unknown>).code).toBe(422);
    const immutable = await apps
      .patchNamespacedDeployment(
        { name: 'web', namespace: NS, body: { spec: { selector: { matchLabels: { app: 'other' } } } } },
        smp,
      )
      .catch((e: unknown) => e);
    expect((immutable as ApiException<unknown>).code).toBe(422);

    const unauth = await fetch(`${fake.url}/apis/apps/v1/namespaces/${NS}/deployments/web`, {
      headers: { authorization: 'Bearer wrong' },
    });
    expect(unauth.status).toBe(401);
  });

  it('the scale subresource: read, replace (with a stale resourceVersion -> 409) and patch', async () => {
    const fake = await fakeWithWeb();
    const { apps } = await clients(fake);
    const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: NS });
    expect(scale).toMatchObject({ spec: { replicas: 3 }, status: { replicas: 3, selector: 'app=web' } });
    const replaced = await apps.replaceNamespacedDeploymentScale({
      name: 'web',
      namespace: NS,
      body: {
        metadata: { name: 'web', namespace: NS, resourceVersion: scale.metadata?.resourceVersion },
        spec: { replicas: 1 },
      },
    });
    expect(replaced.spec?.replicas).toBe(1);
    const stale = await apps
      .replaceNamespacedDeploymentScale({
        name: 'web',
        namespace: NS,
        body: {
          metadata: { name: 'web', namespace: NS, resourceVersion: scale.metadata?.resourceVersion },
          spec: { replicas: 2 },
        },
      })
      .catch((e: unknown) => e);
    expect((stale as ApiException<unknown>).code).toBe(409);
    await until('one pod', () => fake.pods(NS).length === 1);
    await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace: NS, body: { spec: { replicas: 2 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await fake.waitForRollout(NS, 'web');
    expect(fake.deployment(NS, 'web').status).toMatchObject({ replicas: 2, availableReplicas: 2 });
  });

  it('lists ReplicaSets and pods by label selector; pods carry their ReplicaSet pod-template-hash', async () => {
    const fake = await fakeWithWeb();
    fake.addDeployment({
      namespace: NS,
      name: 'other',
      replicas: 1,
      containers: [{ name: 'app', image: 'shop/other:v1' }],
    });
    const { apps, core } = await clients(fake);
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: NS,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'shop/web:v2' }] } } } },
      },
      smp,
    );
    await fake.waitForRollout(NS, 'web');
    const rsList = await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=web' });
    expect(rsList.items).toHaveLength(2);
    expect(Number(rsList.metadata?.resourceVersion)).toBeGreaterThan(0);
    const current = rsList.items.find((rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2')!;
    expect(current.spec?.replicas).toBe(3);
    const hash = current.metadata?.labels?.['pod-template-hash'];
    expect(current.spec?.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: `app=web,pod-template-hash=${hash}` });
    expect(pods.items).toHaveLength(3);
    expect(
      pods.items.every(
        (p) => p.metadata?.ownerReferences?.[0]?.name === current.metadata?.name && p.status?.phase === 'Running',
      ),
    ).toBe(true);
    expect((await core.listNamespacedPod({ namespace: NS, labelSelector: 'app in (other)' })).items).toHaveLength(1);
    expect((await core.listNamespacedPod({ namespace: NS, labelSelector: 'app!=web' })).items).toHaveLength(1);
    const rs = await apps.readNamespacedReplicaSet({ name: current.metadata!.name!, namespace: NS });
    expect(rs.status?.readyReplicas).toBe(3);
  });

  it('services: read, strategic merge and merge patch of the selector, 404', async () => {
    const fake = await fakeWithWeb();
    const { core } = await clients(fake);
    const svc = await core.readNamespacedService({ name: 'web', namespace: NS });
    expect(svc.spec?.selector).toEqual({ app: 'web' });
    const green = await core.patchNamespacedService(
      { name: 'web', namespace: NS, fieldManager: 'firelane', body: { spec: { selector: { slot: 'green' } } } },
      smp,
    );
    expect(green.spec?.selector).toEqual({ app: 'web', slot: 'green' });
    expect(green.spec?.clusterIP).toBe(svc.spec?.clusterIP);
    const blue = await core.patchNamespacedService(
      { name: 'web', namespace: NS, body: { spec: { selector: { slot: 'blue' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(blue.spec?.selector).toEqual({ app: 'web', slot: 'blue' });
    const missing = await core.readNamespacedService({ name: 'nope', namespace: NS }).catch((e: unknown) => e);
    expect((missing as ApiException<unknown>).code).toBe(404);
    expect(errorBody(missing)).toMatchObject({ reason: 'NotFound', message: 'services "nope" not found' });
  });

  it('create and delete a Deployment (a canary made from the main template); ReplicaSets and pods follow', async () => {
    const fake = await fakeWithWeb();
    const { apps } = await clients(fake);
    const main = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    const labels = { ...main.spec!.template.metadata!.labels, track: 'canary' };
    const template = structuredClone(main.spec!.template);
    template.metadata = { labels };
    template.spec!.containers[0]!.image = 'shop/web:v2';
    const created = await apps.createNamespacedDeployment({
      namespace: NS,
      fieldManager: 'firelane',
      body: {
        metadata: { name: 'web-canary', labels },
        spec: { replicas: 1, selector: { matchLabels: labels }, template },
      },
    });
    expect(created.metadata).toMatchObject({ name: 'web-canary', generation: 1 });
    const conflict = await apps.createNamespacedDeployment({ namespace: NS, body: created }).catch((e: unknown) => e);
    expect((conflict as ApiException<unknown>).code).toBe(409);
    await fake.waitForRollout(NS, 'web-canary');
    expect(revision(fake.deployment(NS, 'web-canary'))).toBe('1');
    expect(fake.selectedPods(NS, 'web')).toHaveLength(4); // the Service (app=web) selects main and canary pods

    await apps.deleteNamespacedDeployment({ name: 'web-canary', namespace: NS });
    expect(fake.deployment(NS, 'web-canary')).toBeUndefined();
    expect(fake.pods(NS)).toHaveLength(3);
    expect(fake.replicaSets(NS)).toHaveLength(1);
  });

  it('a Watch can resume from a list resourceVersion; close() ends open watches', async () => {
    const fake = await fakeWithWeb({ stepMs: 1000 });
    const { kc, apps } = await clients(fake);
    const listed = await apps.listNamespacedDeployment({ namespace: NS });
    await apps.patchNamespacedDeployment(
      { name: 'web', namespace: NS, body: { metadata: { labels: { tier: 'front' } } } },
      smp,
    );
    const events: Array<{ type: string; labels: unknown }> = [];
    let ended: unknown = 'open';
    const endedP = new Promise<void>((resolve) => {
      void new Watch(kc).watch(
        `/apis/apps/v1/namespaces/${NS}/deployments`,
        { resourceVersion: listed.metadata?.resourceVersion },
        (type, obj) => events.push({ type, labels: obj.metadata?.labels }),
        (err) => {
          ended = err;
          resolve();
        },
      );
    });
    await until('the replayed event', () => events.length >= 1);
    expect(events[0]).toEqual({ type: 'MODIFIED', labels: { app: 'web', tier: 'front' } });
    await fake.close();
    await endedP;
    expect(ended).toBeNull();
  });

  it('failNext injects an error Status for matching requests', async () => {
    const fake = await fakeWithWeb();
    const { apps } = await clients(fake);
    fake.failNext({ method: 'GET', path: /\/deployments\/web$/, code: 503 });
    const err = await apps.readNamespacedDeployment({ name: 'web', namespace: NS }).catch((e: unknown) => e);
    expect((err as ApiException<unknown>).code).toBe(503);
    expect((await apps.readNamespacedDeployment({ name: 'web', namespace: NS })).metadata?.name).toBe('web');
  });
});
