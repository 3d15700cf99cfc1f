// The whole chain with nothing in memory: signed Slack requests -> Bolt -> router -> outbox ->
// the client-node adapter -> the loopback fake Kubernetes API (which progresses rollouts and
// crash-loops broken images like the real controller).
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKubeCluster } from '../../src/adapters/k8s/kube-cluster.js';
import { startFakeKube, type FakeKube } from '../fakes/fake-kube.js';
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

  async function start() {
    kube = await startFakeKube({ stepMs: 5 });
    kube.addDeployment({ namespace: 'payments', name: 'payments', replicas: 3, containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }] });
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfigYaml());
    h = await startHarness({ configYaml: YAML, cluster: createKubeCluster({ kubeConfig: kc }), deploy: { pollIntervalMs: 10 } });
  }

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
});
