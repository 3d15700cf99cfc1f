// /deploy with GitHub set up: the card shows the go/no-go facts (checks of the version's commit,
// commits since the running version) and flags failed required checks before anyone approves; each
// rollout is recorded as a GitHub Deployment with its statuses. Signed Slack requests, the memory
// cluster, and the real octokit adapter on the fake GitHub REST API.
import { FirelaneError } from '../../src/errors.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGitHubHost } from '../../src/adapters/github/github-host.js';
import { createMemoryCluster, type MemoryCluster } from '../fakes/memory-cluster.js';
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from '../fakes/fake-github.js';
import { buttonClick, startHarness, type Harness } from '../support/harness.js';
import { CHANNEL, IMAGE, PAYMENTS, deployYaml } from './deploy-config.js';
import { blockTexts, buttons, cardField } from './slack-helpers.js';

let h: Harness;
let gh: FakeGitHub;
let repo: FakeRepo;
let cluster: MemoryCluster;
afterEach(async () => {
  await h?.close();
  await gh?.close();
});

async function start(yaml?: (base: string) => string, startWorker = false) {
  gh = await startFakeGitHub();
  repo = gh.addRepo('acme', 'payments', {
    defaultBranch: 'main',
    branches: { main: ['initial'], production: { from: 'main', commits: ['release 2.1.0'] } },
    tags: { 'v2.1.0': 'production' },
  });
  repo.commit('production', 'Treat NULL refund amounts as zero');
  repo.commit('production', 'Log refund failures with the order id');
  repo.tag('v2.1.1', 'production');
  cluster = createMemoryCluster({ rolloutPolls: 2 });
  cluster.addDeployment({ ...PAYMENTS, name: 'payments', images: { app: `${IMAGE}:v2.1.0` }, replicas: 3 });
  const git = createGitHubHost({
    token: gh.token,
    baseUrl: gh.url,
    retryAfterBaseMs: 0,
    writeSpacingMs: 0,
    mergeablePollMs: 5,
  });
  const base = deployYaml(['U0LEAD1']).replace('window: 1s', 'window: 1s\n    productionBranch: production');
  h = await startHarness({
    configYaml: yaml ? yaml(base) : base,
    cluster,
    git,
    startWorker,
    deploy: { pollIntervalMs: 5, healthIntervalMs: 20 },
  });
}

async function card(id: number) {
  const request = (await h.firelane.store.deploys.get(id))!;
  return h.slack.messages.find((m) => m.channel === request.roomId && m.ts === request.cardRef)!;
}

async function approve(id: number) {
  const message = await card(id);
  const button = buttons(message.blocks).find((b) => b.text.text === 'Approve')!;
  const before = h.slack.responses.length;
  await h.interaction(
    buttonClick({
      user: 'U0LEAD1',
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

/** Waits (running due jobs) until the Deployment has exactly these statuses. */
async function statesOf(id: number, states: string[]) {
  await vi.waitFor(
    async () => {
      await h.drain();
      expect(
        repo
          .deploymentStatuses(id)
          .map((s: { state: string }) => s.state)
          .sort(),
      ).toEqual(states);
    },
    { timeout: 5_000, interval: 200 },
  );
}

describe('/deploy with GitHub', () => {
  it('flags failed required checks on the card, lists the commits since the running version, and records the Deployment', async () => {
    await start();
    repo.protect('production', ['ci']);
    repo.setCheckRun('v2.1.1', 'ci', { status: 'completed', conclusion: 'failure' });
    repo.setStatus('v2.1.1', 'lint', 'success');

    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    const posted = await card(1);
    expect(cardField(posted.blocks, 'Checks')).toBe('❌ failed: ci (failure)');
    expect(cardField(posted.blocks, 'Changes')).toBe(
      '2 commits since v2.1.0: Treat NULL refund amounts as zero; Log refund failures with the order id',
    );
    expect(blockTexts(posted.blocks).join('\n')).toContain('⚠️ Checks FAILED for v2.1.1: ci.');
    // Flagged, not blocked: the approver decides.
    expect(buttons(posted.blocks).map((b) => b.text.text)).toEqual(['Approve', 'Reject']);

    await approve(1);
    await h.drain();
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded' });
    const [deployment] = repo.deployments();
    expect(deployment).toMatchObject({ ref: 'v2.1.1', sha: repo.sha('v2.1.1'), environment: 'production' });
    // The final status waits for the first one's job (a retry a second later).
    await statesOf(deployment.id, ['in_progress', 'success']);
    expect((await h.firelane.store.deploys.get(1))!.githubDeploymentId).toBe(deployment.id);
  });

  it('passing checks are shown as such; a version GitHub does not know is said on the card and does not stop the rollout', async () => {
    await start();
    repo.setCheckRun('v2.1.1', 'ci', { status: 'completed', conclusion: 'success' });
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    expect(cardField((await card(1)).blocks, 'Checks')).toBe('✅ 1 of 1 passed');
    expect(blockTexts((await card(1)).blocks).join('\n')).not.toContain('FAILED');
    await approve(1);
    await h.drain();

    await h.command('payments v9.9.9', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    expect(cardField((await card(2)).blocks, 'GitHub')).toBe(
      'acme/payments has no tag or branch named v9.9.9, so its checks are unknown',
    );
    await approve(2);
    await h.drain();
    // GitHub refuses a Deployment of an unknown ref; the rollout does not care.
    expect(await h.firelane.store.deploys.get(2)).toMatchObject({ status: 'succeeded' });
    expect(repo.deployments().map((d: { ref: string }) => d.ref)).toEqual(['v2.1.1']);
    expect(await h.firelane.store.jobs.state('deploy-github:2:executing')).toBe('dead');
  });

  it('a failed rollout, rolled back by itself, makes its GitHub Deployment inactive with the reason', async () => {
    await start();
    cluster.failNextRollout(PAYMENTS, 'pod payments-x is in CrashLoopBackOff');
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    await approve(1);
    await h.drain();
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'rolled_back' });
    const [deployment] = repo.deployments();
    await statesOf(deployment.id, ['in_progress', 'inactive']);
    const statuses = repo.deploymentStatuses(deployment.id) as Array<{ state: string; description: string }>;
    expect(repo.deployments()).toHaveLength(1);
    expect(statuses.find((s) => s.state === 'inactive')!.description).toMatch(
      /^REQ-1 rolled back: the rollout failed: pod payments-x is in CrashLoopBackOff/,
    );
  });

  it('a deploy superseded by a rollback while it is verified makes its GitHub Deployment inactive; the rollback records its own', async () => {
    await start((base) => base.replace('window: 1s', 'window: 10m'), true);
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    const message = await card(1);
    const button = buttons(message.blocks).find((b) => b.text.text === 'Approve')!;
    await h.interaction(
      buttonClick({
        user: 'U0LEAD1',
        channel: CHANNEL,
        messageTs: message.ts,
        actionId: button.action_id,
        value: button.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    // The worker runs by itself here: wait for the ten-minute window to begin, then roll back.
    await vi.waitFor(async () => expect(blockTexts((await card(1)).blocks).join('\n')).toMatch(/Verifying health/), {
      timeout: 5_000,
    });
    await h.command('payments', { command: '/rollback', channel: CHANNEL, user: 'U0DEV' });
    await vi.waitFor(
      async () => expect((await h.firelane.store.deploys.get(2))?.cardRef && (await card(2))).toBeTruthy(),
      {
        timeout: 5_000,
      },
    );
    const rollback = buttons((await card(2)).blocks).find((b) => b.text.text === 'Approve')!;
    await h.interaction(
      buttonClick({
        user: 'U0LEAD1',
        channel: CHANNEL,
        messageTs: (await card(2)).ts,
        actionId: rollback.action_id,
        value: rollback.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    await vi.waitFor(async () => expect((await h.firelane.store.deploys.get(2))!.status).toBe('succeeded'), {
      timeout: 5_000,
    });
    expect((await h.firelane.store.deploys.get(1))!.status).toBe('superseded');
    // The rollback's Deployment is made by a job of its own, which may still be running when it succeeds.
    await vi.waitFor(() => expect(repo.deployments()).toHaveLength(2), { timeout: 5_000 });
    const [deployment, rolledBackTo] = repo.deployments();
    expect(deployment).toMatchObject({ ref: 'v2.1.1' });
    await statesOf(deployment.id, ['in_progress', 'inactive']);
    const statuses = repo.deploymentStatuses(deployment.id) as Array<{ state: string; description: string }>;
    const superseded = statuses.find((s) => s.state === 'inactive')!.description;
    expect(superseded).toMatch(/^REQ-1 superseded: stopped by REQ-2/);
    // The approver is named as plain text GitHub leaves alone: no chat token characters, no @mention of a GitHub user.
    expect(superseded.replace(/\u200b/g, '')).toMatch(/a rollback approved by @U0LEAD1$/);
    expect(superseded).not.toMatch(/[\uE000\uE001]|(?:^|[^\w\u200b])@[A-Za-z0-9]/);
    expect(rolledBackTo).toMatchObject({ ref: 'v2.1.0' });
    await statesOf(rolledBackTo.id, ['in_progress', 'success']);
  });

  it('a rollout whose automatic rollback is refused too ends its GitHub Deployment with failure', async () => {
    await start();
    cluster.failNextRollout(PAYMENTS, 'pod payments-x is in CrashLoopBackOff');
    cluster.undo = async () => {
      throw new FirelaneError('forbidden', 'firelane is not allowed to roll back payments/payments (HTTP 403)');
    };
    await h.command('payments v2.1.1', { command: '/deploy', channel: CHANNEL, user: 'U0DEV' });
    await h.drain();
    await approve(1);
    await h.drain();
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'failed' });
    const [deployment] = repo.deployments();
    await statesOf(deployment.id, ['failure', 'in_progress']);
    const statuses = repo.deploymentStatuses(deployment.id) as Array<{ state: string; description: string }>;
    expect(statuses.find((s) => s.state === 'failure')!.description).toMatch(
      /^REQ-1 failed: the rollout failed \(pod payments-x is in CrashLoopBackOff\) and Kubernetes refused the automatic rollback/,
    );
  });
});
