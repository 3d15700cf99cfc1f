// The whole chain with nothing in memory: signed Slack requests -> Bolt -> router -> outbox ->
// the client-node adapter -> the loopback fake Kubernetes API (which progresses rollouts and
// crash-loops broken images like the real controller).
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKubeCluster } from '../../src/adapters/k8s/kube-cluster.js';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../fakes/fake-kube.js';
import type { FakeMessage } from '../fakes/fake-slack.js';
import { buttonClick, startHarness, type Harness } from '../support/harness.js';
import { ackText, blockTexts, buttons, cardField } from './slack-helpers.js';

const IMAGE = 'ghcr.io/acme/payments';
const CHANNEL = 'C0GENERAL';
const YAML = `incidents:
  announceChannel: C0INCIDENTS
  escalationChannel: C0ESCALATE
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

  async function start(
    yaml = YAML,
    seed = () =>
      kube.addDeployment({
        namespace: 'payments',
        name: 'payments',
        replicas: 3,
        containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }],
      }),
    options: FakeKubeOptions = {},
    startWorker = false,
  ) {
    kube = await startFakeKube({ stepMs: 5, ...options });
    seed();
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfigYaml());
    h = await startHarness({
      configYaml: yaml,
      cluster: createKubeCluster({ kubeConfig: kc }),
      startWorker,
      deploy: { pollIntervalMs: 10, healthIntervalMs: 20 },
    });
  }

  /** Images of the pods the Service sends traffic to. */
  const servedImages = () =>
    [...new Set(kube.selectedPods('payments', 'payments').map((p) => p.spec.containers[0].image as string))].sort();

  async function card(id: number): Promise<FakeMessage> {
    const request = (await h.firelane.store.deploys.get(id))!;
    return h.slack.messages.find((m) => m.channel === request.roomId && m.ts === request.cardRef)!;
  }

  async function clickAs(user: string, label: string, message: FakeMessage) {
    const button = buttons(message.blocks).find((b) => b.text.text === label)!;
    expect(button, `a ${label} button`).toBeDefined();
    const before = h.slack.responses.length;
    await h.interaction(
      buttonClick({
        user,
        channel: CHANNEL,
        messageTs: message.ts,
        actionId: button.action_id,
        value: button.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await vi.waitFor(() => expect(h.slack.responses.length).toBeGreaterThan(before));
    await h.drain();
  }

  /** The Rollback button of a card as it was at some update (the fake keeps only the latest). */
  async function rollbackShownWhile(id: number, status: RegExp): Promise<{ value: string; actionId: string }> {
    const request = (await h.firelane.store.deploys.get(id))!;
    const shown = h.slack
      .callsTo('chat.update')
      .filter((c) => c.params.ts === request.cardRef && status.test(blockTexts(c.params.blocks).join('\n')))
      .map((c) => buttons(c.params.blocks as unknown[]).find((b) => b.text.text === 'Rollback'))
      .find((b) => b !== undefined);
    expect(shown, `a Rollback button on REQ-${id}'s card while ${status}`).toBeDefined();
    return { value: shown!.value, actionId: shown!.action_id };
  }

  async function clickStale(user: string, id: number, button: { value: string; actionId: string }) {
    const before = h.slack.responses.length;
    await h.interaction(
      buttonClick({
        user,
        channel: CHANNEL,
        messageTs: (await card(id)).ts,
        actionId: button.actionId,
        value: button.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await vi.waitFor(() => expect(h.slack.responses.length).toBeGreaterThan(before));
    return ackText(h.slack.responses.at(-1)!.body as { text?: string });
  }

  it('deploys; a crash-looping version is rolled back by itself long before the deadline; its stale Rollback button changes nothing', async () => {
    await start();
    const ack = await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    expect(ackText(ack.body)).toContain('REQ-1');
    await h.drain();
    await clickAs('U0LEAD1', 'Approve', await card(1));

    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    const deployment = kube.deployment('payments', 'payments');
    expect(deployment.spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);
    expect(deployment.metadata.annotations['kubernetes.io/change-cause']).toMatch(/REQ-1.*U0LEAD1/);
    const patch = kube.requests.find((r) => r.method === 'PATCH')!;
    expect(patch).toMatchObject({ contentType: 'application/strategic-merge-patch+json', fieldManager: 'firelane' });
    expect(blockTexts((await card(1)).blocks).join('\n')).toContain('Succeeded');

    // A version whose pods crash-loop: detected from the pods (not the 10-minute deadline) and undone at once.
    kube.breakImage(`${IMAGE}:v2.1.2`, 'CrashLoopBackOff');
    await h.command('payments v2.1.2', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    const approvedAt = Date.now();
    await clickAs('U0LEAD2', 'Approve', await card(2));
    await vi.waitFor(async () => expect((await h.firelane.store.deploys.get(2))!.status).toBe('rolled_back'), {
      timeout: 10_000,
    });
    expect(Date.now() - approvedAt).toBeLessThan(10_000);
    expect((await h.firelane.store.deploys.get(2))!.reason).toMatch(
      /^the rollout failed: pod payments-\S+ (is in CrashLoopBackOff|restarted \d+ times)/,
    );
    await kube.waitForRollout('payments', 'payments');
    const after = kube.deployment('payments', 'payments');
    expect(after.spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);
    expect(after.status).toMatchObject({ availableReplicas: 3, updatedReplicas: 3 });
    const undo = kube.requests.filter((r) => r.method === 'PATCH').at(-1)!;
    expect(undo.contentType).toBe('application/json-patch+json');
    const text = blockTexts((await card(2)).blocks).join('\n');
    expect(text).toMatch(
      /Rolled back automatically: the rollout failed: pod payments-\S+ (is in CrashLoopBackOff|restarted)/,
    );
    expect(buttons((await card(2)).blocks)).toEqual([]);

    // The Rollback button the card showed while it rolled out: REQ-2 is undone already, so it says
    // so privately and nothing is requested (it must never roll forward to v2.1.2).
    const stale = await rollbackShownWhile(2, /Rolling out/);
    expect(await clickStale('U0DEV', 2, stale)).toMatch(
      /^REQ-2 was already rolled back automatically: payments \(production\) is back at v2\.1\.1 since REQ-2 was rolled back automatically/,
    );
    expect(await h.firelane.store.deploys.get(3)).toBeUndefined();

    // REQ-1's Rollback is stale as well: REQ-2 changed payments after it.
    const older = buttons((await card(1)).blocks).find((b) => b.text.text === 'Rollback')!;
    expect(await clickStale('U0DEV', 1, { value: older.value, actionId: older.action_id })).toMatch(
      /^REQ-1 is out of date: payments \(production\) is back at v2\.1\.1 since REQ-2 was rolled back automatically/,
    );
    expect(await h.firelane.store.deploys.get(3)).toBeUndefined();
  });

  it('a rollout that exceeds its progress deadline, or cannot pull its image, is rolled back by itself', async () => {
    await start(YAML, () =>
      kube.addDeployment({
        namespace: 'payments',
        name: 'payments',
        replicas: 2,
        progressDeadlineSeconds: 1,
        containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }],
      }),
    );
    kube.stallImage(`${IMAGE}:v2.1.1`);
    kube.breakImage(`${IMAGE}:v2.1.2`, 'ImagePullBackOff');
    for (const [id, version, reason] of [
      [1, 'v2.1.1', /^the rollout failed: the rollout exceeded its progress deadline/],
      [2, 'v2.1.2', /^the rollout failed: pod payments-\S+ is in ImagePullBackOff/],
    ] as const) {
      await h.command(`payments ${version}`, { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
      await h.drain();
      await clickAs('U0LEAD1', 'Approve', await card(id));
      await vi.waitFor(async () => expect((await h.firelane.store.deploys.get(id))!.status).toBe('rolled_back'), {
        timeout: 15_000,
      });
      expect((await h.firelane.store.deploys.get(id))!.reason).toMatch(reason);
      await kube.waitForRollout('payments', 'payments');
      expect(kube.deployment('payments', 'payments').spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.0`);
    }
  });

  it('when the automatic rollback fails too, it escalates with what the cluster shows', async () => {
    await start();
    kube.breakImage(`${IMAGE}:v2.1.1`, 'CrashLoopBackOff');
    await h.command('sev1 Payments erroring', { command: '/incident', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    const incident = (await h.firelane.store.incidents.get(1))!;
    await h.command('payments v2.1.1 --incident=INC-1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    // The undo (a JSON patch, as kubectl rollout undo sends) is refused: firelane's Role lost a verb, say.
    kube.failNext({ method: 'PATCH', contentType: 'application/json-patch+json', code: 403 });
    await clickAs('U0LEAD1', 'Approve', await card(1));
    await vi.waitFor(async () => expect((await h.firelane.store.deploys.get(1))!.status).toBe('failed'), {
      timeout: 15_000,
    });
    expect((await h.firelane.store.deploys.get(1))!.reason).toMatch(
      /^the rollout failed \(pod .*\) and Kubernetes refused the automatic rollback: firelane is not allowed to roll back payments\/payments \(HTTP 403\)/,
    );
    await h.drain();
    const escalations = h.slack.messages.filter((m) =>
      /needs a person now/.test(`${m.text ?? ''}${JSON.stringify(m.blocks ?? [])}`),
    );
    expect(escalations.map((m) => m.channel).sort()).toEqual(['C0ESCALATE', incident.roomId].sort());
    const said = `${escalations[0]!.text ?? ''}${blockTexts(escalations[0]!.blocks).join('\n')}`;
    expect(said).toMatch(
      /The cluster shows: payments\/payments runs ghcr\.io\/acme\/payments:v2\.1\.1 \(revision 2\), \d of 3 replicas available; pod payments-\S+ (is in CrashLoopBackOff|restarted)/,
    );
    expect((await h.firelane.store.incidents.timeline(1)).map((e) => e.kind)).toContain('deploy_escalated');
    // The card says failed, and still offers Rollback: a person may ask for one.
    expect(blockTexts((await card(1)).blocks).join('\n')).toMatch(/Failed: the rollout failed/);
    expect(buttons((await card(1)).blocks).map((b) => b.text.text)).toEqual(['Rollback']);
  });

  it("--env picks the target and its rules together: a staging deploy under staging's rules never touches production", async () => {
    const yaml = YAML.replace(
      'approvals:\n',
      '    environments:\n      staging: { kubernetes: { namespace: payments-staging } }\napprovals:\n  staging: { approvers: [U0DEV, U0LEAD1], allowSelfApproval: true }\n',
    );
    await start(yaml, () => {
      for (const namespace of ['payments', 'payments-staging']) {
        kube.addDeployment({
          namespace,
          name: 'payments',
          replicas: 2,
          containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }],
        });
      }
    });
    const unknown = await h.command('payments v2.1.1 --env=qa', {
      command: '/deploy',
      channel: CHANNEL,
      user: 'U0DEV',
    });
    expect(ackText(unknown.body)).toMatch(/payments has no target in qa\. It deploys to: `production`, `staging`/);

    await h.command('payments v2.1.1 --env=staging', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    expect(cardField((await card(1)).blocks, 'Environment')).toBe('staging');
    expect(cardField((await card(1)).blocks, 'Target')).toBe('payments-staging/payments');
    // Staging allows self-approval: the requester approves it.
    await clickAs('U0DEV', 'Approve', await card(1));
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded', environment: 'staging' });
    expect(kube.deployment('payments-staging', 'payments').spec.template.spec.containers[0].image).toBe(
      `${IMAGE}:v2.1.1`,
    );
    expect(kube.deployment('payments', 'payments').spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.0`);
    expect(kube.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/namespaces/payments/'))).toEqual([]);

    // The same requester, the same flagless command: production's rules (he is no approver there).
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    expect(cardField((await card(2)).blocks, 'Target')).toBe('payments/payments');
    await clickAs('U0DEV', 'Approve', await card(2));
    expect(ackText(h.slack.responses.at(-1)!.body as { text?: string })).toMatch(
      /You are not an approver for production/,
    );
    expect((await h.firelane.store.deploys.get(2))!.status).toBe('pending');
    expect(kube.deployment('payments', 'payments').spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.0`);
  });

  it("while a deploy is verified, its card's Rollback undoes it at once: the deploy stops and never succeeds", async () => {
    // A ten-minute window: the deploy would report success only long after the test.
    await start(YAML.replace('window: 1s', 'window: 10m'), undefined, {}, true);
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await vi.waitFor(async () => expect((await card(1))?.blocks).toBeDefined());
    const approve = buttons((await card(1)).blocks).find((b) => b.text.text === 'Approve')!;
    await h.interaction(
      buttonClick({
        user: 'U0LEAD1',
        channel: CHANNEL,
        messageTs: (await card(1)).ts,
        actionId: approve.action_id,
        value: approve.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await vi.waitFor(async () => expect(blockTexts((await card(1)).blocks).join('\n')).toMatch(/Verifying health/), {
      timeout: 10_000,
    });
    expect(kube.deployment('payments', 'payments').spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);

    // The engineer who sees errors clicks Rollback on the card being verified; a lead approves.
    const rollback = buttons((await card(1)).blocks).find((b) => b.text.text === 'Rollback')!;
    await h.interaction(
      buttonClick({
        user: 'U0DEV',
        channel: CHANNEL,
        messageTs: (await card(1)).ts,
        actionId: rollback.action_id,
        value: rollback.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await vi.waitFor(async () =>
      expect((await card(2))?.blocks && buttons((await card(2)).blocks).map((b) => b.text.text)).toEqual([
        'Approve',
        'Reject',
      ]),
    );
    expect(blockTexts((await card(2)).blocks).join('\n')).toContain('Rollback REQ-2 of REQ-1');
    const approveRollback = buttons((await card(2)).blocks).find((b) => b.text.text === 'Approve')!;
    await h.interaction(
      buttonClick({
        user: 'U0LEAD2',
        channel: CHANNEL,
        messageTs: (await card(2)).ts,
        actionId: approveRollback.action_id,
        value: approveRollback.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await vi.waitFor(async () => expect((await h.firelane.store.deploys.get(2))!.status).toBe('succeeded'), {
      timeout: 10_000,
    });
    expect((await h.firelane.store.deploys.get(1))!.status).toBe('superseded');
    await kube.waitForRollout('payments', 'payments');
    expect(kube.deployment('payments', 'payments').spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.0`);
    // One undo on the API server (a JSON patch), and the superseded deploy never reports success.
    expect(
      kube.requests.filter((r) => r.method === 'PATCH' && r.contentType === 'application/json-patch+json'),
    ).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.firelane.store.deploys.get(1))!.status).toBe('superseded');
    expect(blockTexts((await card(1)).blocks).join('\n')).toMatch(/Superseded: stopped by REQ-2/);
    expect(buttons((await card(1)).blocks)).toEqual([]);
  });

  it('progress never goes backwards: nothing counts as updated before the controller observed the change', async () => {
    // A busy controller: the Deployment's status describes the old generation for 150 ms after the patch.
    await start(YAML, undefined, { stepMs: 40, observeDelayMs: 150 });
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    await clickAs('U0LEAD1', 'Approve', await card(1));
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
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
      for (const [slot, version] of [
        ['blue', 'v2.1.0'],
        ['green', 'v2.0.0'],
      ] as const) {
        kube.addDeployment({
          namespace: 'payments',
          name: `payments-${slot}`,
          replicas: 2,
          labels: { app: 'payments', slot },
          containers: [{ name: 'app', image: `${IMAGE}:${version}` }],
        });
      }
      kube.addService({ namespace: 'payments', name: 'payments', selector: { app: 'payments', slot: 'blue' } });
    });
    expect(servedImages()).toEqual([`${IMAGE}:v2.1.0`]);
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    expect(blockTexts((await card(1)).blocks).join('\n')).toContain('(blue, live)');
    await clickAs('U0LEAD1', 'Approve', await card(1));
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    expect(kube.service('payments', 'payments').spec.selector).toEqual({ app: 'payments', slot: 'green' });
    expect(servedImages()).toEqual([`${IMAGE}:v2.1.1`]);
    // The selector was switched only after every green replica ran the new version.
    const switchAt = kube.requests.findIndex((r) => r.method === 'PATCH' && r.path.endsWith('/services/payments'));
    const setAt = kube.requests.findIndex(
      (r) => r.method === 'PATCH' && r.path.endsWith('/deployments/payments-green'),
    );
    expect(setAt).toBeGreaterThanOrEqual(0);
    expect(switchAt).toBeGreaterThan(setAt);
    expect(kube.requests[switchAt]).toMatchObject({
      contentType: 'application/strategic-merge-patch+json',
      fieldManager: 'firelane',
    });
    // Blue still runs, untouched, for the switch-back.
    expect(kube.deployment('payments', 'payments-blue').status.availableReplicas).toBe(2);

    await clickAs('U0DEV', 'Rollback', await card(1));
    await clickAs('U0LEAD2', 'Approve', await card(2));
    expect(await h.firelane.store.deploys.get(2)).toMatchObject({ status: 'succeeded' });
    expect(kube.service('payments', 'payments').spec.selector.slot).toBe('blue');
    expect(servedImages()).toEqual([`${IMAGE}:v2.1.0`]);
  });

  it('canary: creates <deployment>-canary from the main template, steps it up, promotes, and scales it to 0', async () => {
    await start(
      YAML.replace(
        'strategy: rolling',
        'strategy: canary, service: payments, canarySteps: [25, 100], canaryInterval: 1s',
      ),
      () => {
        kube.addDeployment({
          namespace: 'payments',
          name: 'payments',
          replicas: 4,
          labels: { app: 'payments' },
          containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }],
        });
        kube.addService({ namespace: 'payments', name: 'payments', selector: { app: 'payments' } });
      },
    );
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    await clickAs('U0LEAD1', 'Approve', await card(1));
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });

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
      .filter(
        (r) =>
          r.method === 'PATCH' &&
          r.path.endsWith('/deployments/payments') &&
          (r.body as { spec?: { replicas?: number } })?.spec?.replicas !== undefined,
      )
      .map((r) => (r.body as { spec: { replicas: number } }).spec.replicas);
    expect(replicasOfMain).toEqual([3, 0, 4]);
  });
});
