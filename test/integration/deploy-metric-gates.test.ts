// Metric gates over the wire: signed Slack requests -> Bolt -> router -> outbox -> the client-node
// adapter -> the loopback fake Kubernetes API, with the health window's gates queried from the
// loopback fake Prometheus by the real adapter (POST /api/v1/query). Windows and intervals are a
// second or two on the real clock.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKubeCluster } from '../../src/adapters/k8s/kube-cluster.js';
import { startFakeKube, type FakeKube } from '../fakes/fake-kube.js';
import { startFakePrometheus, type FakePrometheus, type FakePrometheusOptions } from '../fakes/fake-prometheus.js';
import type { FakeMessage } from '../fakes/fake-slack.js';
import { buttonClick, startHarness, type Harness } from '../support/harness.js';
import { freePort, startProcess, type RunningProcess } from '../support/process.js';
import { databaseEnv, dropDatabase } from '../support/test-store.js';
import { blockTexts, buttons, cardField } from './slack-helpers.js';

const IMAGE = 'ghcr.io/acme/payments';
const CHANNEL = 'C0GENERAL';
const ERRORS =
  'sum(rate(http_requests_total{service="payments",status=~"5.."}[1m])) / sum(rate(http_requests_total{service="payments"}[1m]))';

/** payments with one gate, `error rate` (max 0.05), checked every second through a 2 s window. */
function yaml(url: string, options: { strategy?: string; onNoData?: string; extraQuery?: string } = {}) {
  return `incidents:
  announceChannel: C0INCIDENTS
  escalationChannel: C0ESCALATE
services:
  payments:
    kubernetes: { namespace: payments, deployment: payments, container: app, image: ${IMAGE}, ${options.strategy ?? 'strategy: rolling'} }
    healthCheck:
      window: 2s
      prometheus:
        url: ${url}
        interval: 1s
        ${options.onNoData ? `onNoData: ${options.onNoData}` : ''}
        queries:
          - name: error rate
            query: '${ERRORS}'
            max: 0.05
${options.extraQuery ?? ''}
approvals:
  production: { approvers: [U0LEAD1], required: 1 }
`;
}

describe('metric gates of a deploy, over the wire', () => {
  let h: Harness | undefined;
  let kube: FakeKube | undefined;
  let prom: FakePrometheus | undefined;
  afterEach(async () => {
    await h?.close();
    await kube?.close();
    await prom?.close();
    h = kube = prom = undefined;
  });

  async function start(
    config: (url: string) => string,
    options: { prometheus?: FakePrometheusOptions; env?: Record<string, string>; canary?: boolean } = {},
  ) {
    prom = await startFakePrometheus(options.prometheus);
    kube = await startFakeKube({ stepMs: 5 });
    kube.addDeployment({
      namespace: 'payments',
      name: 'payments',
      replicas: 4,
      labels: { app: 'payments' },
      containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }],
    });
    if (options.canary) kube.addService({ namespace: 'payments', name: 'payments', selector: { app: 'payments' } });
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfigYaml());
    h = await startHarness({
      configYaml: config(prom.url),
      cluster: createKubeCluster({ kubeConfig: kc }),
      deploy: { pollIntervalMs: 10, healthIntervalMs: 20 },
      ...(options.env && { env: options.env }),
    });
    return { h, kube, prom };
  }

  async function card(id = 1): Promise<FakeMessage> {
    const request = (await h!.firelane.store.deploys.get(id))!;
    return h!.slack.messages.find((m) => m.channel === request.roomId && m.ts === request.cardRef)!;
  }

  /** /deploy payments v2.1.1, approved by U0LEAD1 on its card; returns once the request has ended. */
  async function deployAndApprove() {
    await h!.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h!.drain();
    const message = await card();
    const approve = buttons(message.blocks).find((b) => b.text.text === 'Approve')!;
    await h!.interaction(
      buttonClick({
        user: 'U0LEAD1',
        channel: CHANNEL,
        messageTs: message.ts,
        actionId: approve.action_id,
        value: approve.value,
        responseUrl: h!.slack.responseUrl(),
      }),
    );
    await h!.drain();
    return (await h!.firelane.store.deploys.get(1))!;
  }

  const cardText = async () => blockTexts((await card()).blocks).join('\n');
  /** The card's "Metric gates" field at each update while the deploy was verified. */
  const shownGates = async () => {
    const request = (await h!.firelane.store.deploys.get(1))!;
    return h!.slack
      .callsTo('chat.update')
      .filter((c) => c.params.ts === request.cardRef)
      .map((c) => cardField(c.params.blocks as unknown[], 'Metric gates'))
      .filter((v): v is string => v !== undefined);
  };
  const image = () => kube!.deployment('payments', 'payments').spec.template.spec.containers[0].image as string;

  it('an error rate above max rolls the deploy back; while verifying the card showed the last values, escaped', async () => {
    await start((url) =>
      yaml(url, {
        extraQuery: `          - name: "5xx <!channel> & friends"\n            query: by_pod\n            max: 10`,
      }),
    );
    prom!.answer(ERRORS, ({ n }) => ({ vector: [{ labels: { service: 'payments' }, value: n >= 2 ? 0.12 : 0.01 }] }));
    prom!.answer('by_pod', {
      vector: [
        { labels: { pod: 'payments-a' }, value: 1 },
        { labels: { pod: '<!here>' }, value: 2 },
      ],
    });
    const request = await deployAndApprove();

    expect(request).toMatchObject({ status: 'rolled_back', reason: 'error rate 0.12 > max 0.05' });
    await kube!.waitForRollout('payments', 'payments');
    expect(image()).toBe(`${IMAGE}:v2.1.0`);
    expect(await cardText()).toMatch(
      /Rolled back automatically: error rate 0\.12 &gt; max 0\.05 \(now at revision \d+\)/,
    );
    // The queries went to /api/v1/query, as POSTed forms, at the times of the window's looks.
    expect(prom!.asked(ERRORS).map((r) => [r.method, r.path, r.contentType])).toEqual([
      ['POST', '/api/v1/query', 'application/x-www-form-urlencoded'],
      ['POST', '/api/v1/query', 'application/x-www-form-urlencoded'],
    ]);
    // While verifying: every gate's last reading, as Slack text (escaped like the rest of the card).
    expect(await shownGates()).toContain(
      'error rate 0.01 (max 0.05)\n5xx &lt;!channel&gt; &amp; friends 2 (max 10; worst of 2 series)',
    );
    const everything = JSON.stringify(h!.slack.callsTo('chat.update').map((c) => c.params.blocks));
    expect(everything).not.toContain('<!channel>');
    expect(everything).not.toContain('<!here>');
  });

  it('canary: a gate failing at the first step aborts it; the main Deployment keeps its version and size', async () => {
    await start(
      (url) =>
        yaml(url, { strategy: 'strategy: canary, service: payments, canarySteps: [25, 100], canaryInterval: 2s' }),
      { canary: true },
    );
    prom!.answer(ERRORS, { vector: [{ labels: { service: 'payments' }, value: 0.3 }] });
    const request = await deployAndApprove();

    expect(request).toMatchObject({
      status: 'rolled_back',
      reason: 'the health check failed at canary step 1 of 2 (25%): error rate 0.3 > max 0.05',
    });
    expect(prom!.asked(ERRORS)).toHaveLength(1);
    const canary = kube!.deployment('payments', 'payments-canary');
    expect(canary.spec.replicas).toBe(0);
    expect(canary.spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);
    expect(image()).toBe(`${IMAGE}:v2.1.0`);
    expect(kube!.deployment('payments', 'payments').spec.replicas).toBe(4);
    expect(await cardText()).toContain(
      'Rolled back automatically: the health check failed at canary step 1 of 2 (25%): error rate 0.3 &gt; max 0.05',
    );
  });

  it('onNoData: fail rolls back on an empty result, saying so', async () => {
    await start((url) => yaml(url)); // the error rate query is not scripted: an empty vector
    const request = await deployAndApprove();
    expect(request).toMatchObject({
      status: 'rolled_back',
      reason: 'error rate: no data (the query returned no series; onNoData is fail)',
    });
    expect(await cardText()).toContain(
      'Rolled back automatically: error rate: no data (the query returned no series; onNoData is fail)',
    );
  });

  it('onNoData: ignore lets an empty result pass, and the card says there was no data', async () => {
    await start((url) => yaml(url, { onNoData: 'ignore' }));
    const request = await deployAndApprove();
    expect(request).toMatchObject({ status: 'succeeded' });
    expect(image()).toBe(`${IMAGE}:v2.1.1`);
    // The window's first look, one a second later and its last.
    expect(prom!.asked(ERRORS).length).toBeGreaterThanOrEqual(2);
    expect(await shownGates()).toContain('error rate: no data (ignored: onNoData is ignore)');
  });

  it('a query error is reported as such and rolls back: a gate that was not evaluated never passes', async () => {
    await start((url) => yaml(url));
    prom!.answer(ERRORS, {
      error: 'execution',
      message: 'many-to-many matching not allowed: matching labels must be unique on one side',
    });
    const request = await deployAndApprove();
    expect(request).toMatchObject({
      status: 'rolled_back',
      reason:
        'error rate could not be evaluated, which counts as failed: Prometheus answered HTTP 422 (execution: many-to-many matching not allowed: matching labels must be unique on one side)',
    });
    expect(await cardText()).toContain(
      'Rolled back automatically: error rate could not be evaluated, which counts as failed',
    );
    await kube!.waitForRollout('payments', 'payments');
    expect(image()).toBe(`${IMAGE}:v2.1.0`);
  });

  it('FIRELANE_PROMETHEUS_TOKEN is sent as a bearer token to an API that requires one', async () => {
    await start((url) => yaml(url), {
      prometheus: { token: 'prom-token-123', prefix: '/prometheus' },
      env: { FIRELANE_PROMETHEUS_TOKEN: 'prom-token-123' },
    });
    prom!.answer(ERRORS, { scalar: 0.001 });
    const request = await deployAndApprove();
    expect(request).toMatchObject({ status: 'succeeded' });
    expect(prom!.asked(ERRORS).every((r) => r.authorization === 'Bearer prom-token-123')).toBe(true);
    expect(prom!.asked(ERRORS)[0]!.path).toBe('/prometheus/api/v1/query');
    expect(await shownGates()).toContain('error rate 0.001 (max 0.05)');
  });
});

describe('start-up with metric gates', () => {
  let dir: string;
  const running: RunningProcess[] = [];
  afterEach(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    running.length = 0;
    rmSync(dir, { recursive: true, force: true });
    await dropDatabase(dir);
  });

  it('a bad gate stops start-up with one line naming the file, the key path and the reason', async () => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-gates-'));
    const file = join(dir, 'firelane.yaml');
    writeFileSync(
      file,
      yaml('http://prometheus.monitoring.svc:9090').replace('            max: 0.05\n', '            threshold: 0.05\n'),
    );
    const p = startProcess({ ...(await databaseEnv(dir)), FIRELANE_CONFIG: file, PORT: String(await freePort()) });
    running.push(p);
    expect((await p.exited).code).toBe(2);
    expect(p.output().trim().split('\n')).toEqual([
      `firelane: configuration error: ${file}: services.payments.healthCheck.prometheus.queries[0].threshold: unknown key`,
    ]);
  });

  it('never logs FIRELANE_PROMETHEUS_TOKEN', async () => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-gates-'));
    const file = join(dir, 'firelane.yaml');
    writeFileSync(file, yaml('http://127.0.0.1:9'));
    const token = 'prom-very-secret-token-789';
    const p = startProcess({
      ...(await databaseEnv(dir)),
      FIRELANE_CONFIG: file,
      PORT: String(await freePort()),
      FIRELANE_PROMETHEUS_TOKEN: token,
      LOG_LEVEL: 'trace',
    });
    running.push(p);
    await p.waitFor(/firelane is up/, 20_000);
    await vi.waitFor(() => expect(p.output()).toMatch(/settings \(secrets redacted\)/));
    expect(p.output()).not.toContain(token);
  });
});
