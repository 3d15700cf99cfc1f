// A deploy interrupted mid-rollout whose execute job is gone (dead after its last attempt, or
// missing) is reconciled from the cluster when firelane starts again on the same database: it ends
// succeeded or failed as the cluster says, or a fresh watch follows a rollout still under way, and
// the service's rollout lock is free again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryLater } from '../../src/jobs/worker.js';
import { startFakeSlack, type FakeMessage, type FakeSlack } from '../fakes/fake-slack.js';
import { createMemoryCluster, type MemoryCluster } from '../fakes/memory-cluster.js';
import { buttonClick, startHarness, type Harness } from '../support/harness.js';
import { changeDatabase, queryDatabase } from '../support/test-store.js';
import { ackText, blockTexts, buttons } from './slack-helpers.js';
import { CHANNEL, IMAGE, PAYMENTS, deployYaml } from './deploy-config.js';

const YAML = deployYaml(['U0LEAD1', 'U0LEAD2']);

let slack: FakeSlack | undefined;
let h: Harness | undefined;
let dir: string | undefined;
let cluster: MemoryCluster;

afterEach(async () => {
  await h?.close();
  h = undefined;
  await slack?.close();
  slack = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** One firelane process on the shared database, fake Slack and cluster. */
async function start(options: { killMidRollout?: boolean } = {}) {
  h = await startHarness({
    configYaml: YAML,
    cluster,
    slack: slack!,
    dir: dir!,
    deploy: {
      pollIntervalMs: 5,
      // The process "dies" right after its first rollout poll: the execute job stops there, set aside for an hour.
      ...(options.killMidRollout && {
        sleep: async () => {
          throw new RetryLater('firelane was killed here', 3_600_000);
        },
      }),
    },
  });
  return h;
}

/** A fake Slack, a database folder and a cluster that outlive one firelane process. */
async function setUp() {
  slack = await startFakeSlack({
    channels: [
      { id: 'C0INCIDENTS', name: 'incidents' },
      { id: 'C0ESCALATE', name: 'escalations' },
      { id: CHANNEL, name: 'general' },
    ],
  });
  dir = mkdtempSync(join(tmpdir(), 'firelane-reconcile-'));
  cluster = createMemoryCluster({ rolloutPolls: 3 });
  cluster.addDeployment({
    ...PAYMENTS,
    name: 'payments',
    images: { app: `${IMAGE}:v2.1.0` },
    history: [{ app: `${IMAGE}:v2.0.0` }],
    replicas: 3,
  });
}

/** The first process: /deploy, approval, the image set, one rollout poll, then it is gone. */
async function runUntilKilled() {
  const first = await start({ killMidRollout: true });
  const ack = await first.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0LEAD2' });
  expect(ackText(ack.body)).toContain('REQ-1');
  await first.drain();
  const approve = buttons((await card()).blocks).find((b) => b.text.text === 'Approve')!;
  await first.interaction(
    buttonClick({
      user: 'U0LEAD1',
      channel: CHANNEL,
      messageTs: (await card()).ts,
      actionId: approve.action_id,
      value: approve.value,
      responseUrl: slack!.responseUrl(),
    }),
  );
  await vi.waitFor(() =>
    expect(slack!.responses.map((r) => ackText(r.body as { text?: string })).join('\n')).toMatch(/You approved REQ-1/),
  );
  await first.drain();

  expect(await first.firelane.store.deploys.get(1)).toMatchObject({ status: 'executing' });
  expect(cluster.changes.filter((c) => c.kind === 'set-image')).toHaveLength(1);
  expect(await first.firelane.store.jobs.state('deploy-execute:1')).toBe('queued');
  await first.close();
  h = undefined;
}

/** What the outbox leaves after the job's last attempt (dead), or a job row lost altogether. */
async function executeJob(action: 'dead' | 'missing') {
  const changed = await changeDatabase(
    { dir: dir! },
    action === 'dead'
      ? "UPDATE jobs SET status = 'dead', last_error = 'gave up after 12 attempts', locked_by = NULL, locked_until = NULL WHERE key = 'deploy-execute:1'"
      : "DELETE FROM jobs WHERE key = 'deploy-execute:1'",
  );
  expect(changed).toBe(1);
}

/** REQ-<id>'s card as it is in the channel now. */
async function card(id = 1): Promise<FakeMessage> {
  const request = (await h!.firelane.store.deploys.get(id))!;
  const message = slack!.messages.find((m) => m.channel === request.roomId && m.ts === request.cardRef);
  expect(message, `REQ-${id} has a card`).toBeDefined();
  return message!;
}

const audit = () =>
  queryDatabase<{ action: string; actor: string }>(
    h!.firelane,
    "SELECT action, actor FROM audit_log WHERE action LIKE 'deploy.%' ORDER BY seq",
  );

/** The lock is free: a new /deploy of the service is taken and gets its own card. */
async function newDeployAccepted() {
  const ack = await h!.command('payments v2.1.2', { command: '/deploy', channel: CHANNEL, user: 'U0LEAD2' });
  expect(ackText(ack.body)).toMatch(/REQ-2/);
  expect(ackText(ack.body)).not.toMatch(/right now/);
  await h!.drain();
  expect(await h!.firelane.store.deploys.get(2)).toMatchObject({
    status: 'pending',
    plan: { toImage: `${IMAGE}:v2.1.2` },
  });
}

describe('start-up reconcile of a deploy interrupted mid-rollout', () => {
  it('the rollout finished meanwhile: succeeded, the card says so, and the lock is free', async () => {
    await setUp();
    await runUntilKilled();
    await executeJob('dead');
    cluster.advance(PAYMENTS);

    const second = await start();
    await second.drain();
    expect(await second.firelane.store.deploys.get(1)).toMatchObject({
      status: 'succeeded',
      reason: null,
      resultRevision: 3,
    });
    expect(blockTexts((await card()).blocks).join('\n')).toContain('Succeeded');
    expect((await audit()).slice(-1)).toEqual([{ action: 'deploy.succeeded', actor: 'firelane' }]);
    expect(cluster.changes).toHaveLength(1);
    await newDeployAccepted();
  });

  it('the rollout failed meanwhile (and the job row is gone): failed with the reason', async () => {
    await setUp();
    // The second poll (the reconcile's) reports it; the first process's one poll still saw it progressing.
    cluster.failNextRollout(PAYMENTS, 'pods of the new ReplicaSet are in CrashLoopBackOff', 2);
    await runUntilKilled();
    await executeJob('missing');

    const second = await start();
    await second.drain();
    const request = (await second.firelane.store.deploys.get(1))!;
    expect(request).toMatchObject({ status: 'failed', resultRevision: 3 });
    expect(request.reason).toBe('reconciled at start-up: pods of the new ReplicaSet are in CrashLoopBackOff');
    const text = blockTexts((await card()).blocks).join('\n');
    expect(text).toContain('Failed');
    expect(text).toContain('reconciled at start-up: pods of the new ReplicaSet are in CrashLoopBackOff');
    expect((await audit()).slice(-1)).toEqual([{ action: 'deploy.failed', actor: 'firelane' }]);
    expect(cluster.changes).toHaveLength(1);
    await newDeployAccepted();
  });

  it('the rollout is still under way: a fresh watch follows it to the end, with one set-image in all', async () => {
    await setUp();
    await runUntilKilled();
    expect(await cluster.readDeployment(PAYMENTS)).toMatchObject({ revision: 3, updated: 1, desired: 3 });
    await executeJob('dead');

    const second = await start();
    await second.drain();
    expect(await second.firelane.store.jobs.state('deploy-execute:1:reconcile:1')).toBe('done');
    expect(await second.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded', resultRevision: 3 });
    expect(await cluster.readDeployment(PAYMENTS)).toMatchObject({
      revision: 3,
      images: { app: `${IMAGE}:v2.1.1` },
      updated: 3,
      available: 3,
    });
    expect(cluster.changes.map((c) => c.kind)).toEqual(['set-image']);
    expect(blockTexts((await card()).blocks).join('\n')).toContain('Succeeded');
    expect((await audit()).filter((a) => a.action === 'deploy.succeeded')).toHaveLength(1);
    await newDeployAccepted();
  });

  it('a restart in the middle of a superseded deploy: the rollback resumes and undoes once, and the deploy never succeeds', async () => {
    await setUp();
    await runUntilKilled();
    // Before it died, the first process took a rollback of REQ-1 (mid-rollout) and its approval.
    const first = await start({ killMidRollout: true });
    await first.command('payments', { command: '/rollback', channel: CHANNEL, user: 'U0DEV' });
    await first.drain();
    const approve = buttons((await card(2)).blocks).find((b) => b.text.text === 'Approve')!;
    await first.interaction(
      buttonClick({
        user: 'U0LEAD1',
        channel: CHANNEL,
        messageTs: (await card(2)).ts,
        actionId: approve.action_id,
        value: approve.value,
        responseUrl: slack!.responseUrl(),
      }),
    );
    await vi.waitFor(async () => expect((await first.firelane.store.deploys.get(2))!.status).not.toBe('pending'));
    await first.drain();
    expect((await first.firelane.store.deploys.get(1))!.status).toBe('superseded');
    // REQ-2 got as far as its undo, then the process died in its first wait.
    expect((await first.firelane.store.deploys.get(2))!.status).toBe('executing');
    expect(cluster.changes.map((c) => c.kind)).toEqual(['set-image', 'undo']);
    await first.close();
    h = undefined;
    // Both execute jobs come due again after the restart.
    await changeDatabase(
      { dir: dir! },
      "UPDATE jobs SET run_at = 0 WHERE key IN ('deploy-execute:1', 'deploy-execute:2')",
    );

    const second = await start();
    await second.drain();
    await vi.waitFor(async () => {
      await second.drain();
      expect((await second.firelane.store.deploys.get(2))!.status).toBe('succeeded');
    });
    expect((await second.firelane.store.deploys.get(1))!.status).toBe('superseded');
    expect(cluster.changes.map((c) => c.kind)).toEqual(['set-image', 'undo']);
    expect(await cluster.readDeployment(PAYMENTS)).toMatchObject({ images: { app: `${IMAGE}:v2.1.0` }, available: 3 });
    expect((await audit()).filter((a) => a.action === 'deploy.succeeded')).toEqual([]);
    expect(blockTexts((await card(1)).blocks).join('\n')).toContain('Superseded');
  });

  it('a request whose execute job is still queued is left to that job, which resumes by itself', async () => {
    await setUp();
    await runUntilKilled();
    // Due again (as after a short backoff): the outbox, not the reconcile, finishes it.
    await changeDatabase({ dir: dir! }, "UPDATE jobs SET run_at = 0 WHERE key = 'deploy-execute:1'");

    const second = await start();
    await second.drain();
    expect(await second.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    expect(await second.firelane.store.jobs.state('deploy-execute:1')).toBe('done');
    expect(await second.firelane.store.jobs.state('deploy-execute:1:reconcile:1')).toBeUndefined();
    expect(cluster.changes).toHaveLength(1);
  });
});
