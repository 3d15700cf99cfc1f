// The whole chain with nothing in memory: signed Slack requests -> Bolt -> router -> outbox ->
// the client-node adapter -> the loopback fake Kubernetes API (which progresses rollouts and
// crash-loops broken images like the real controller).
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKubeCluster } from '../../src/adapters/k8s/kube-cluster.js';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../fakes/fake-kube.js';
import type { FakeMessage } from '../fakes/fake-slack.js';
import { buttonClick, startHarness, type Harness } from '../support/harness.js';
import { ackText, blockTexts, buttons } from './slack-helpers.js';

const IMAGE = 'ghcr.io/acme/payments';
const CHANNEL = 'C0GENERAL';
const YAML = `incidents:
  announceChannel: C0INCIDENTS
services:
  payments:
    kubernetes: { namespace: payments, deployment: payments, container: app, image: ${IMAGE}, strategy: rolling }
    healthCheck: { window: 1s }   # the health window runs on the real clock here
approvals:
  production: { approvers: [U0LEAD1, U0LEAD2], required: 1 }
`;

describe('/deploy through the client-node adapter into the fake Kubernetes API', () => {
  let h: Harness;
  let kube: FakeKube;
  afterEach(async () => {
    await h?.close();
    await kube?.close();
  });

  async function start(yaml = YAML, seed = () => kube.addDeployment({ namespace: 'payments', name: 'payments', replicas: 3, containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }] }), options: FakeKubeOptions = {}) {
    kube = await startFakeKube({ stepMs: 5, ...options });
    seed();
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfigYaml());
    h = await startHarness({ configYaml: yaml, cluster: createKubeCluster({ kubeConfig: kc }), deploy: { pollIntervalMs: 10 } });
  }

  /** Images of the pods the Service sends traffic to. */
  const servedImages = () => [...new Set(kube.selectedPods('payments', 'payments').map((p) => p.spec.containers[0].image as string))].sort();

  function card(id: number): FakeMessage {
    const request = h.firelane.store.deploys.get(id)!;
    return h.slack.messages.find((m) => m.channel === request.roomId && m.ts === request.cardRef)!;
  }

  async function clickAs(user: string, label: string, message: FakeMessage) {
    const button = buttons(message.blocks).find((b) => b.text.text === label)!;
    expect(button, `a ${label} button`).toBeDefined();
    const before = h.slack.responses.length;
    await h.interaction(buttonClick({ user, channel: CHANNEL, messageTs: message.ts, actionId: button.action_id, value: button.value, responseUrl: h.slack.responseUrl() }));
    await vi.waitFor(() => expect(h.slack.responses.length).toBeGreaterThan(before));
    await h.drain();
  }

  it('deploys, fails early on a crash loop, and rolls back, all on the API server', async () => {
    await start();
    const ack = await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    expect(ackText(ack.body)).toContain('REQ-1');
    await h.drain();
    await clickAs('U0LEAD1', 'Approve', card(1));

    expect(h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    const deployment = kube.deployment('payments', 'payments');
    expect(deployment.spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);
    expect(deployment.metadata.annotations['kubernetes.io/change-cause']).toMatch(/REQ-1.*U0LEAD1/);
    const patch = kube.requests.find((r) => r.method === 'PATCH')!;
    expect(patch).toMatchObject({ contentType: 'application/strategic-merge-patch+json', fieldManager: 'firelane' });
    expect(blockTexts(card(1).blocks).join('\n')).toContain('Succeeded');

    // A version whose pods crash-loop fails long before Kubernetes' 10-minute progress deadline.
    kube.breakImage(`${IMAGE}:v2.1.2`, 'CrashLoopBackOff');
    await h.command('payments v2.1.2', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    await clickAs('U0LEAD2', 'Approve', card(2));
    await vi.waitFor(() => expect(h.firelane.store.deploys.get(2)!.status).toBe('failed'), { timeout: 10_000 });
    const failed = card(2);
    expect(blockTexts(failed.blocks).join('\n')).toMatch(/CrashLoopBackOff|restarted/);
    expect(buttons(failed.blocks).map((b) => b.text.text)).toEqual(['Rollback']);

    // Rollback from the failed card: a request like any other, then kubectl-style undo to v2.1.1.
    await clickAs('U0DEV', 'Rollback', failed);
    await clickAs('U0LEAD1', 'Approve', card(3));
    await vi.waitFor(() => expect(h.firelane.store.deploys.get(3)!.status).toBe('succeeded'), { timeout: 10_000 });
    expect(kube.deployment('payments', 'payments').spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);
    const undo = kube.requests.filter((r) => r.method === 'PATCH').at(-1)!;
    expect(undo.contentType).toBe('application/json-patch+json');
  });

  it('progress never goes backwards: nothing counts as updated before the controller observed the change', async () => {
    // A busy controller: the Deployment's status describes the old generation for 150 ms after the patch.
    await start(YAML, undefined, { stepMs: 40, observeDelayMs: 150 });
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    await clickAs('U0LEAD1', 'Approve', card(1));
    expect(h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    const shown = h.slack
      .callsTo('chat.update')
      .map((c) => /Rolling out: (\d) of 3 replicas updated/.exec(JSON.stringify(c.params))?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number);
    expect(shown.length).toBeGreaterThan(1);
    expect(shown[0]).toBe(0);
    expect(shown).toEqual([...shown].sort((a, b) => a - b));
  });

  it('blue-green: the idle colour comes up, the Service switches to it, and a rollback switches back', async () => {
    await start(YAML.replace('strategy: rolling', 'strategy: blue-green, service: payments'), () => {
      for (const [slot, version] of [['blue', 'v2.1.0'], ['green', 'v2.0.0']] as const) {
        kube.addDeployment({ namespace: 'payments', name: `payments-${slot}`, replicas: 2, labels: { app: 'payments', slot }, containers: [{ name: 'app', image: `${IMAGE}:${version}` }] });
      }
      kube.addService({ namespace: 'payments', name: 'payments', selector: { app: 'payments', slot: 'blue' } });
    });
    expect(servedImages()).toEqual([`${IMAGE}:v2.1.0`]);
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    expect(blockTexts(card(1).blocks).join('\n')).toContain('(blue, live)');
    await clickAs('U0LEAD1', 'Approve', card(1));
    expect(h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    expect(kube.service('payments', 'payments').spec.selector).toEqual({ app: 'payments', slot: 'green' });
    expect(servedImages()).toEqual([`${IMAGE}:v2.1.1`]);
    // The selector was switched only after every green replica ran the new version.
    const switchAt = kube.requests.findIndex((r) => r.method === 'PATCH' && r.path.endsWith('/services/payments'));
    const setAt = kube.requests.findIndex((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/payments-green'));
    expect(setAt).toBeGreaterThanOrEqual(0);
    expect(switchAt).toBeGreaterThan(setAt);
    expect(kube.requests[switchAt]).toMatchObject({ contentType: 'application/strategic-merge-patch+json', fieldManager: 'firelane' });
    // Blue still runs, untouched, for the switch-back.
    expect(kube.deployment('payments', 'payments-blue').status.availableReplicas).toBe(2);

    await clickAs('U0DEV', 'Rollback', card(1));
    await clickAs('U0LEAD2', 'Approve', card(2));
    expect(h.firelane.store.deploys.get(2)).toMatchObject({ status: 'succeeded' });
    expect(kube.service('payments', 'payments').spec.selector.slot).toBe('blue');
    expect(servedImages()).toEqual([`${IMAGE}:v2.1.0`]);
  });

  it('canary: creates <deployment>-canary from the main template, steps it up, promotes, and scales it to 0', async () => {
    await start(YAML.replace('strategy: rolling', 'strategy: canary, service: payments, canarySteps: [25, 100], canaryInterval: 1s'), () => {
      kube.addDeployment({ namespace: 'payments', name: 'payments', replicas: 4, labels: { app: 'payments' }, containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }] });
      kube.addService({ namespace: 'payments', name: 'payments', selector: { app: 'payments' } });
    });
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    await clickAs('U0LEAD1', 'Approve', card(1));
    expect(h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });

    const canary = kube.deployment('payments', 'payments-canary');
    expect(canary.spec.selector.matchLabels).toEqual({ app: 'payments', track: 'canary' });
    expect(canary.spec.template.metadata.labels).toMatchObject({ app: 'payments', track: 'canary' });
    expect(canary.spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);
    expect(canary.spec.replicas).toBe(0);
    const main = kube.deployment('payments', 'payments');
    expect(main.spec.replicas).toBe(4);
    expect(main.spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);
    expect(servedImages()).toEqual([`${IMAGE}:v2.1.1`]);
    // The first step created the canary with 1 of 4 replicas (25%); the second patched it to 4.
    const create = kube.requests.find((r) => r.method === 'POST' && r.path.endsWith('/deployments'));
    expect(create).toMatchObject({ fieldManager: 'firelane', body: { spec: { replicas: 1 } } });
    const replicasOfMain = kube.requests
      .filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/payments') && (r.body as { spec?: { replicas?: number } })?.spec?.replicas !== undefined)
      .map((r) => (r.body as { spec: { replicas: number } }).spec.replicas);
    expect(replicasOfMain).toEqual([3, 0, 4]);
  });
});
