// /deploy over signed Slack requests into the whole app, with the in-memory cluster: the card,
// Approve clicks by the wrong and the right people, the rollout, and a double click.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buttonClick, startHarness, type Harness } from '../support/harness.js';
import { createMemoryCluster, type MemoryCluster } from '../fakes/memory-cluster.js';
import { ackText, blockTexts, buttons, cardField, messageJson } from './slack-helpers.js';
import type { FakeMessage } from '../fakes/fake-slack.js';
import { CHANNEL, IMAGE, PAYMENTS, deployYaml } from './deploy-config.js';

const YAML = deployYaml(['U0LEAD1', 'U0LEAD2', 'U0LEAD3']);

let h: Harness;
let cluster: MemoryCluster;
afterEach(async () => h?.close());

async function start() {
  cluster = createMemoryCluster({ rolloutPolls: 3 });
  cluster.addDeployment({
    ...PAYMENTS,
    name: 'payments',
    images: { app: `${IMAGE}:v2.1.0` },
    history: [{ app: `${IMAGE}:v2.0.0` }],
    replicas: 3,
  });
  h = await startHarness({ configYaml: YAML, cluster, deploy: { pollIntervalMs: 5 } });
}

/** The request card as it is in the channel now (the fake applies chat.update in place). */
async function card(id = 1): Promise<FakeMessage> {
  const request = await h.firelane.store.deploys.get(id);
  expect(request?.cardRef, `REQ-${id} has a card`).toBeTruthy();
  const message = h.slack.messages.find((m) => m.channel === request!.roomId && m.ts === request!.cardRef);
  expect(message).toBeDefined();
  return message!;
}

async function click(user: string, label: string, message?: FakeMessage) {
  message ??= await card();
  const button = buttons(message.blocks).find((b) => b.text.text === label);
  expect(button, `a ${label} button`).toBeDefined();
  return buttonClick({
    user,
    channel: CHANNEL,
    messageTs: message.ts,
    actionId: button!.action_id,
    value: button!.value,
    responseUrl: h.slack.responseUrl(),
  });
}

/** Requested by U0LEAD2, an approver himself: his own click is the self-approval case. */
async function requestDeploy() {
  const ack = await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0LEAD2' });
  expect(ack.status).toBe(200);
  expect(ack.body.response_type, ackText(ack.body)).toBe('ephemeral');
  expect(ackText(ack.body)).toContain('REQ-1');
  await h.drain();
}

describe('/deploy over Slack', () => {
  it('posts the card after the ack; the requester is refused privately; an approver approves and the rollout runs to success', async () => {
    await start();
    await requestDeploy();

    const posted = await card();
    expect(buttons(posted.blocks).map((b) => b.text.text)).toEqual(['Approve', 'Reject']);
    expect(cardField(posted.blocks, 'From')).toBe(`${IMAGE}:v2.1.0 (revision 2)`);
    expect(cardField(posted.blocks, 'To')).toBe(`${IMAGE}:v2.1.1`);
    expect(cardField(posted.blocks, 'Requested by')).toBe('<@U0LEAD2>');
    expect(cardField(posted.blocks, 'Approvals')).toBe('0 of 1');

    // The requester clicks Approve, then someone who is no approver: private refusals, nothing changes.
    expect((await h.interaction(await click('U0LEAD2', 'Approve'))).status).toBe(200);
    await vi.waitFor(() => expect(h.slack.responses).toHaveLength(1));
    expect(h.slack.responses[0]!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(ackText(h.slack.responses[0]!.body as { text?: string })).toMatch(
      /You asked for REQ-1, so someone else must approve it/,
    );
    expect((await h.interaction(await click('U0BOB', 'Approve'))).status).toBe(200);
    await vi.waitFor(() => expect(h.slack.responses).toHaveLength(2));
    expect(ackText(h.slack.responses[1]!.body as { text?: string })).toMatch(/You are not an approver for production/);
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'pending', approvals: [] });
    expect(h.slack.callsTo('chat.update')).toHaveLength(0);

    // An approver clicks Approve.
    const approved = await h.interaction(await click('U0LEAD1', 'Approve'));
    expect(approved.status).toBe(200);
    await vi.waitFor(() => expect(h.slack.responses).toHaveLength(3));
    expect(ackText(h.slack.responses[2]!.body as { text?: string })).toMatch(/You approved REQ-1/);
    await h.drain();

    const updates = h.slack.callsTo('chat.update').map((c) => JSON.stringify(c.params));
    expect(
      updates.some((u) => u.includes('approved by &lt;@U0LEAD1&gt;') || u.includes('approved by <@U0LEAD1>')),
    ).toBe(true);
    expect(updates.some((u) => /Rolling out: \d of 3 replicas updated/.test(u))).toBe(true);

    const done = await card();
    expect(blockTexts(done.blocks).join('\n')).toContain('Succeeded');
    expect(buttons(done.blocks).map((b) => [b.text.text, b.value])).toEqual([
      ['Rollback', 'rollback payments --env=production --undo=REQ-1'],
    ]);
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded', resultRevision: 3 });
    expect(await cluster.readDeployment(PAYMENTS)).toMatchObject({
      revision: 3,
      images: { app: `${IMAGE}:v2.1.1` },
      available: 3,
    });
    expect(cluster.changes).toHaveLength(1);

    // The Rollback button opens a rollback request that needs approval like any other.
    await h.interaction(await click('U0BOB', 'Rollback', done));
    await h.drain();
    const rollback = await card(2);
    expect(messageJson(rollback)).toContain('Rollback REQ-2 of REQ-1');
    expect(cardField(rollback.blocks, 'From')).toBe(`${IMAGE}:v2.1.1 (what REQ-1 deploys)`);
    expect(cardField(rollback.blocks, 'To')).toBe(`${IMAGE}:v2.1.0 (revision 2, before REQ-1)`);
    expect(buttons(rollback.blocks).map((b) => b.text.text)).toEqual(['Approve', 'Reject']);
  });

  it('two Approve clicks at once (and one retried) set the image once', async () => {
    await start();
    await requestDeploy();
    const first = await click('U0LEAD1', 'Approve');
    const second = await click('U0LEAD3', 'Approve');
    const [a, b] = await Promise.all([h.interaction(first), h.interaction(second)]);
    const retried = await h.interaction(first);
    expect([a.status, b.status, retried.status]).toEqual([200, 200, 200]);
    await vi.waitFor(() => expect(h.slack.responses).toHaveLength(3));
    const answers = h.slack.responses.map((r) => ackText(r.body as { text?: string })).join('\n');
    expect(answers).toMatch(/You approved REQ-1/);
    expect(answers).toMatch(/REQ-1 is already approved/);

    await h.drain();
    await h.drain();
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    expect((await h.firelane.store.deploys.get(1))!.approvals).toHaveLength(1);
    expect(cluster.changes.filter((c) => c.kind === 'set-image')).toHaveLength(1);
    expect((await cluster.history(PAYMENTS)).map((r) => r.revision)).toEqual([1, 2, 3]);
  });

  it('an unknown service is answered privately, and nothing reaches the cluster or the channel', async () => {
    await start();
    const ack = await h.command('nosuch v1', { command: '/deploy', channel: CHANNEL });
    expect(ack.body.response_type).toBe('ephemeral');
    expect(ackText(ack.body)).toMatch(/Unknown service "nosuch"\. Configured services: `payments`/);
    await h.drain();
    expect(h.slack.messagesIn(CHANNEL)).toHaveLength(0);
    expect(await h.firelane.store.deploys.get(1)).toBeUndefined();
  });
});
