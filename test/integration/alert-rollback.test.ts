// Alert → deploy → rollback over the wire: /deploy over signed Slack requests, rolled out by the
// client-node adapter on the loopback fake Kubernetes API; an Alertmanager alert for the service
// (POST /alerts/alertmanager with the bearer token); the card in the war room naming the deploy, its
// Rollback button, the approval, and the cluster back on the version before. Health windows and
// deployWindow are a second or a few on the real clock.
import { createHash } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKubeCluster } from '../../src/adapters/k8s/kube-cluster.js';
import { startFakeKube, type FakeKube } from '../fakes/fake-kube.js';
import type { FakeMessage } from '../fakes/fake-slack.js';
import { ANNOUNCE, buttonClick, startHarness, type Harness } from '../support/harness.js';
import { ackText, blockTexts, buttons, cardField, sleep } from './slack-helpers.js';
import { ALERTS_TOKEN, postAlertmanager, probeFailure } from '../support/alerts.js';

const TOKEN = ALERTS_TOKEN;
const IMAGE = 'ghcr.io/acme/payments';
const CHANNEL = 'C0GENERAL';
const TRIAGE = 'C0TRIAGE';

function yaml(options: { window: string; deployWindow: string }) {
  return `incidents:
  announceChannel: ${ANNOUNCE}
  escalationChannel: C0ESCALATE
services:
  payments:
    kubernetes: { namespace: payments, deployment: payments, container: app, image: ${IMAGE}, strategy: rolling }
    healthCheck:
      window: ${options.window}
approvals:
  production: { approvers: [U0LEAD1, U0LEAD2], required: 1, allowSelfApproval: false }
alerts:
  triageChannel: ${TRIAGE}
  deployWindow: ${options.deployWindow}
  rules:
    - match: { severity: critical }
      service: "{{ labels.service }}"
      declare: sev1
    - match: { severity: warning }
      service: "{{ labels.service }}"
`;
}

/** The status of POST /alerts/alertmanager with the token. */
const deliver = async (h: Harness, body: unknown) => (await postAlertmanager(h, body)).status;

/** The key of the card job of an alert group (Alertmanager, receiver firelane) and a request. */
const cardJobKey = (groupKey: string, request: number) =>
  `alert-deploy:${createHash('sha256')
    .update(JSON.stringify(['alertmanager', 'firelane', groupKey]))
    .digest('hex')}:${request}`;

/** Cards naming a recent deploy, in one channel. */
const deployCards = (h: Harness, channel: string) =>
  h.slack.messagesIn(channel).filter((m) => blockTexts(m.blocks).some((t) => t.includes('Recent deploy of payments')));

describe('alert → deploy → rollback, over the wire', () => {
  let h: Harness | undefined;
  let kube: FakeKube | undefined;
  afterEach(async () => {
    await h?.close();
    await kube?.close();
    h = kube = undefined;
  });

  async function start(config: string, options: { startWorker?: boolean } = {}) {
    kube = await startFakeKube({ stepMs: 5 });
    kube.addDeployment({
      namespace: 'payments',
      name: 'payments',
      replicas: 3,
      labels: { app: 'payments' },
      containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }],
    });
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfigYaml());
    h = await startHarness({
      configYaml: config,
      cluster: createKubeCluster({ kubeConfig: kc }),
      deploy: { pollIntervalMs: 10, healthIntervalMs: 20 },
      env: { FIRELANE_ALERTS_TOKEN: TOKEN },
      fake: {
        channels: [
          { id: ANNOUNCE, name: 'incidents' },
          { id: 'C0ESCALATE', name: 'escalations' },
          { id: CHANNEL, name: 'general' },
          { id: TRIAGE, name: 'triage' },
        ],
      },
      ...(options.startWorker && { startWorker: true }),
    });
    return h;
  }

  const image = () => kube!.deployment('payments', 'payments').spec.template.spec.containers[0].image as string;

  async function requestCard(id: number): Promise<FakeMessage> {
    const request = (await h!.firelane.store.deploys.get(id))!;
    const message = h!.slack.messages.find((m) => m.channel === request.roomId && m.ts === request.cardRef);
    expect(message, `REQ-${id} has a card`).toBeDefined();
    return message!;
  }

  async function click(user: string, message: FakeMessage, label: string) {
    const button = buttons(message.blocks).find((b) => b.text.text === label);
    expect(button, `a ${label} button`).toBeDefined();
    return h!.interaction(
      buttonClick({
        user,
        channel: message.channel,
        messageTs: message.ts,
        actionId: button!.action_id,
        value: button!.value,
        responseUrl: h!.slack.responseUrl(),
      }),
    );
  }

  /** /deploy payments v2.1.1 by U0DEV, approved by U0LEAD1 on its card (the worker runs it unless started). */
  async function deployV211(options: { wait: boolean }) {
    await h!.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    if (options.wait) await h!.drain();
    else await vi.waitFor(async () => expect((await h!.firelane.store.deploys.get(1))?.cardRef).toBeTruthy());
    await vi.waitFor(async () => expect((await h!.firelane.store.deploys.get(1))?.plan).toBeTruthy());
    const approve = await click('U0LEAD1', await requestCard(1), 'Approve');
    expect(approve.status).toBe(200);
    if (options.wait) await h!.drain();
  }

  /** The war room of INC-n once it is open (`drain`: no background worker runs the jobs). */
  async function warRoom(id = 1, drain = true): Promise<string> {
    return vi.waitFor(
      async () => {
        if (drain) await h!.drain();
        const room = (await h!.firelane.store.incidents.get(id))?.roomId;
        expect(room, `INC-${id} has a war room`).toBeTruthy();
        return room!;
      },
      { timeout: 5000, interval: 50 },
    );
  }

  it('the story: v2.1.1 deployed, an alert for payments, the war room offers its rollback, an approver approves, v2.1.0 is back', async () => {
    await start(yaml({ window: '1s', deployWindow: '30m' }));
    await deployV211({ wait: true });
    expect(await h!.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    expect(image()).toBe(`${IMAGE}:v2.1.1`);

    // The alert fires after the deploy (its health window is over): it declares INC-1.
    expect(await deliver(h!, probeFailure({ startsAt: new Date().toISOString() }))).toBe(202);
    const room = await warRoom();
    const card = await vi.waitFor(
      async () => {
        await h!.drain();
        const cards = deployCards(h!, room);
        expect(cards).toHaveLength(1);
        return cards[0]!;
      },
      { timeout: 8000, interval: 100 },
    );
    expect(cardField(card.blocks, 'Service')).toBe('payments');
    expect(cardField(card.blocks, 'Environment')).toBe('production');
    expect(cardField(card.blocks, 'Version')).toBe('v2.1.1');
    expect(cardField(card.blocks, 'Previous version')).toBe('v2.1.0');
    expect(cardField(card.blocks, 'Requested by')).toBe('<@U0DEV>');
    expect(cardField(card.blocks, 'Approved by')).toBe('<@U0LEAD1>');
    expect(cardField(card.blocks, 'Finished')).toMatch(/^<!date\^\d+\^/);
    expect(cardField(card.blocks, 'Alert')).toBe('ProbeFailure (Alertmanager)');
    expect(blockTexts(card.blocks).join('\n')).toMatch(/ProbeFailure \(Alertmanager\) is firing \d+s after REQ-1/);
    // The deploy card's own Rollback: the same command.
    const deployCardRollback = buttons((await requestCard(1)).blocks).find((b) => b.text.text === 'Rollback')!;
    expect(buttons(card.blocks).map((b) => [b.text.text, b.value])).toEqual([['Rollback', deployCardRollback.value]]);
    expect(await h!.firelane.store.jobs.state(cardJobKey(probeFailure().groupKey, 1))).toBe('done');
    const timeline = await h!.firelane.store.incidents.timeline(1);
    expect(timeline.filter((e) => e.kind === 'alert_deploy').map((e) => e.text)).toEqual([
      'ProbeFailure fired after REQ-1 deployed payments v2.1.1 (production): its rollback was offered',
    ]);

    // Alertmanager sends the group again (another alert of it firing): no second card.
    const again = probeFailure({ startsAt: new Date().toISOString(), fingerprint: '77aa00112233bbcc' });
    expect(await deliver(h!, again)).toBe(202);
    await h!.drain();
    await h!.drain();
    expect((await h!.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'alert')).toHaveLength(2);
    expect(deployCards(h!, room)).toHaveLength(1);

    // U0LEAD1 clicks Rollback in the war room: a rollback request of REQ-1 with the usual approval.
    expect((await click('U0LEAD1', card, 'Rollback')).status).toBe(200);
    await h!.drain();
    const rollback = (await h!.firelane.store.deploys.get(2))!;
    expect(rollback).toMatchObject({
      kind: 'rollback',
      undoes: 1,
      requester: 'U0LEAD1',
      roomId: room,
      status: 'pending',
    });
    const rollbackCard = await requestCard(2);
    expect(blockTexts(rollbackCard.blocks).join('\n')).toContain('Rollback REQ-2 of REQ-1');
    expect(cardField(rollbackCard.blocks, 'To')).toBe(`${IMAGE}:v2.1.0 (revision 1, before REQ-1)`);
    // The requester may not approve it; another approver does.
    await click('U0LEAD1', rollbackCard, 'Approve');
    await vi.waitFor(() =>
      expect(h!.slack.responses.map((r) => ackText(r.body as { text?: string })).join('\n')).toMatch(
        /You asked for REQ-2, so someone else must approve it/,
      ),
    );
    expect((await h!.firelane.store.deploys.get(2))!.status).toBe('pending');
    expect((await click('U0LEAD2', rollbackCard, 'Approve')).status).toBe(200);
    await h!.drain();

    expect(await h!.firelane.store.deploys.get(2)).toMatchObject({ status: 'succeeded' });
    await kube!.waitForRollout('payments', 'payments');
    expect(image()).toBe(`${IMAGE}:v2.1.0`);
    expect(await h!.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
  });

  it('an alert while the deploy is still being verified counts as a failed health check: it rolls back by itself', async () => {
    await start(yaml({ window: '30s', deployWindow: '30m' }), { startWorker: true });
    await deployV211({ wait: false });
    // Verifying health: the card says so while the 30 s window runs.
    await vi.waitFor(
      () => {
        const updates = h!.slack.callsTo('chat.update').map((c) => JSON.stringify(c.params));
        expect(updates.some((u) => u.includes('Verifying health'))).toBe(true);
      },
      { timeout: 8000, interval: 20 },
    );
    expect(image()).toBe(`${IMAGE}:v2.1.1`);

    expect(await deliver(h!, probeFailure({ startsAt: new Date().toISOString() }))).toBe(202);
    const reason = 'alert ProbeFailure firing (Alertmanager)';
    await vi.waitFor(
      async () => expect(await h!.firelane.store.deploys.get(1)).toMatchObject({ status: 'rolled_back', reason }),
      { timeout: 8000, interval: 50 },
    );
    await kube!.waitForRollout('payments', 'payments');
    expect(image()).toBe(`${IMAGE}:v2.1.0`);
    await vi.waitFor(async () =>
      expect(blockTexts((await requestCard(1)).blocks).join('\n')).toContain(`Rolled back automatically: ${reason}`),
    );

    // The war room's card says why, and offers no Rollback of what is rolled back already.
    const room = await warRoom(1, false);
    const card = await vi.waitFor(
      () => {
        const cards = deployCards(h!, room);
        expect(cards).toHaveLength(1);
        return cards[0]!;
      },
      { timeout: 8000, interval: 50 },
    );
    expect(blockTexts(card.blocks).join('\n')).toContain(
      'ProbeFailure (Alertmanager) is firing while REQ-1 is still being verified: it counts as a failed health check, so payments rolls back to v2.1.0 by itself.',
    );
  });

  it('an alert that declares nothing gets the card in the triage channel, beside its triage card', async () => {
    await start(yaml({ window: '1s', deployWindow: '30m' }));
    await deployV211({ wait: true });
    const warning = probeFailure({
      startsAt: new Date().toISOString(),
      groupKey: '{}/{severity="warning"}:{alertname="Slow"}',
    });
    for (const alert of [warning.alerts[0]!.labels, warning.commonLabels]) alert.severity = 'warning';
    expect(await deliver(h!, warning)).toBe(202);
    await h!.drain();
    await h!.drain();
    expect(await h!.firelane.store.incidents.list()).toHaveLength(0);
    const cards = deployCards(h!, TRIAGE);
    expect(cards).toHaveLength(1);
    expect(cardField(cards[0]!.blocks, 'Version')).toBe('v2.1.1');
    expect(buttons(cards[0]!.blocks).map((b) => b.value)).toEqual(['rollback payments --env=production --undo=REQ-1']);
    expect(h!.slack.messagesIn(TRIAGE)).toHaveLength(2);
  });

  it('no card for an alert that started before the deploy, nor for one after deployWindow', async () => {
    await start(yaml({ window: '1s', deployWindow: '3s' }));
    await deployV211({ wait: true });
    const finishedAt = (await h!.firelane.store.deploys.get(1))!.finishedAt!;
    expect(finishedAt).toBeGreaterThan(0);

    // Within deployWindow, but firing since before the deploy: not caused by it.
    const before = new Date(Date.now() - 3_600_000).toISOString();
    expect(await deliver(h!, probeFailure({ startsAt: before }))).toBe(202);
    const room = await warRoom();
    await h!.drain();

    // After deployWindow: another group, firing from now.
    await sleep(Math.max(0, finishedAt + 3_200 - Date.now()));
    const later = probeFailure({
      startsAt: new Date().toISOString(),
      groupKey: '{}/{severity="critical"}:{alertname="Later"}',
    });
    expect(await deliver(h!, later)).toBe(202);
    const room2 = await warRoom(2);
    await h!.drain();
    // Not even queued (a card job waits for a war room to open).
    for (const group of [probeFailure({ startsAt: before }).groupKey, later.groupKey])
      expect(await h!.firelane.store.jobs.get(cardJobKey(group, 1))).toBeUndefined();

    expect(h!.slack.messagesIn(room).length).toBeGreaterThan(0);
    for (const channel of [room, room2, TRIAGE]) expect(deployCards(h!, channel)).toHaveLength(0);
    expect(await h!.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    expect(image()).toBe(`${IMAGE}:v2.1.1`);
  });
});
