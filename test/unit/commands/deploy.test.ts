// /deploy requests and their approval: who may approve, how many, expiry, exactly-once, the lock, the plan.
import { FirelaneError } from '../../../src/errors.js';
import { afterEach, describe, expect, it } from 'vitest';
import { toPlainText, type Card } from '../../../src/ports/reply.js';
import {
  buttonLabels,
  createDeployFixture,
  T0,
  deployConfig,
  field,
  IMAGE,
  LEAD1,
  LEAD2,
  PAYMENTS,
  ROOM,
  type DeployFixture,
} from './deploy-fixture.js';

let f: DeployFixture;
afterEach(() => f?.close());

const plain = (text: string | undefined) => toPlainText(text ?? '');
const cardText = (card: Card) =>
  plain([card.title, card.text, ...card.fields.map((x) => `${x.label}: ${x.value}`)].join('\n'));
/** Everything a refused command must leave alone. */
const state = async () => ({
  requests: await f.count('deploy_requests'),
  jobs: await f.count('jobs'),
  audit: await f.count('audit_log'),
  timeline: await f.count('timeline_events'),
  requestRows: JSON.stringify(f.handle.sqlite.prepare('SELECT * FROM deploy_requests ORDER BY id').all()),
});

async function requestDeploy(text = '/deploy payments v2.1.1', user = 'alice') {
  const result = await f.run(text, { user });
  expect(result.outcome, result.reply.text).toBe('ok');
  await f.drain();
  return result;
}

describe('/deploy <service> <version>', () => {
  it('records a pending request, then the job reads the cluster and posts the card with Approve and Reject', async () => {
    f = createDeployFixture();
    const result = await f.run('/deploy payments v2.1.1');
    expect(result.reply.visibility).toBe('private');
    expect(result.reply.text).toMatch(/REQ-1: deploy of payments v2\.1\.1 to production requested/);
    // Nothing read from the cluster on the acknowledgement path: the plan comes with the job.
    expect(await f.request()).toMatchObject({
      status: 'pending',
      plan: null,
      cardRef: null,
      requester: 'alice',
      target: 'v2.1.1',
      environment: 'production',
      expiresAt: f.clock.now() + 30 * 60_000,
    });

    await f.drain();
    const request = await f.request();
    expect(request.plan).toEqual({
      fromRevision: 2,
      fromImage: `${IMAGE}:v2.1.0`,
      toImage: `${IMAGE}:v2.1.1`,
      toRevision: null,
      replicas: 3,
    });
    const card = await f.card();
    expect(card.title).toContain('REQ-1');
    expect(buttonLabels(card)).toEqual(['Approve', 'Reject']);
    expect(card.buttons!.map((b) => b.command)).toEqual(['deploy approve REQ-1', 'deploy reject REQ-1']);
    expect(field(card, 'Service')).toBe('payments');
    expect(field(card, 'Environment')).toBe('production');
    expect(field(card, 'From')).toBe(`${IMAGE}:v2.1.0 (revision 2)`);
    expect(field(card, 'To')).toBe(`${IMAGE}:v2.1.1`);
    expect(plain(field(card, 'Requested by'))).toBe('@alice');
    expect(field(card, 'Incident')).toBe('none');
    expect(field(card, 'Approvals')).toBe('0 of 1');
    expect(plain(field(card, 'Expires'))).toBe('2026-03-01 10:30 UTC');
    expect(plain(card.text)).toContain('Waiting for approval (0 of 1)');
    expect(f.cluster.changes).toEqual([]);
    expect((await f.audit()).map((a) => a.action)).toEqual([
      'deploy.requested',
      'deploy.planned',
      'deploy.card_posted',
    ]);
  });

  it('bad input is refused privately and changes nothing', async () => {
    f = createDeployFixture();
    const before = await state();
    const cases: Array<[string, RegExp]> = [
      ['/deploy nosuch v1', /Unknown service "nosuch"\. Configured services: `payments`/],
      ['/deploy payments', /Give the version/],
      ['/deploy payments v1..2/x', /is not an image tag/],
      ['/deploy payments .v1', /is not an image tag/],
      ['/deploy payments ' + 'v'.repeat(129), /is not an image tag/],
      ['/deploy payments v1 --force', /--force is not an option/],
      ['/deploy payments v1 --env=staging', /payments has no target in staging\. It deploys to: `production`/],
      [
        '/deploy payments latest',
        /"latest" is a moving tag: what it names can change between the approval and the rollout/,
      ],
      ['/deploy payments @sha256:abc', /"sha256:abc" is not an image digest/],
      ['/deploy payments v1 --strategy=yolo', /Unknown strategy "yolo": use rolling, blue-green, canary/],
      [
        '/deploy payments v1 --strategy=blue-green',
        /blue-green needs the Service in front of the pods: set `kubernetes.service`/,
      ],
      ['/deploy payments v1 extra', /Unexpected "extra"/],
      ['/deploy payments v1 --incident=INC-9', /INC-9 does not exist/],
    ];
    for (const [text, message] of cases) {
      const result = await f.run(text);
      expect(result.reply.visibility, text).toBe('private');
      expect(result.outcome, text).not.toBe('ok');
      expect(result.reply.text, text).toMatch(message);
    }
    await f.drain();
    expect(await state()).toEqual(before);
  });

  it('an environment without approvers, or no cluster, is refused before anything is recorded', async () => {
    f = createDeployFixture({ config: deployConfig({ approvers: [] }) });
    const none = await f.run('/deploy payments v1');
    expect(none.reply.text).toMatch(/Nobody may approve a deploy to production/);
    f.close();
    f = createDeployFixture({ withCluster: false });
    const noCluster = await f.run('/deploy payments v1');
    expect(noCluster.outcome).toBe('refused');
    expect(noCluster.reply.text).toMatch(/Kubernetes is not connected/);
    expect(await f.count('deploy_requests')).toBe(0);
  });

  it('a cluster that does not answer: after a few quick tries the card says so, and the request is void', async () => {
    f = createDeployFixture();
    f.cluster.readDeployment = async () => {
      throw new FirelaneError(
        'upstream',
        'Kubernetes could not be reached to read deployment payments/payments: connect ECONNREFUSED 10.0.0.1:443',
      );
    };
    expect((await f.run('/deploy payments v2.1.1')).outcome).toBe('ok');
    for (let i = 0; i < 4; i++) {
      await f.drain();
      f.clock.advance(2_000);
    }
    await f.drain();
    expect(await f.request()).toMatchObject({ status: 'void' });
    expect((await f.request()).reason).toBe(
      'the cluster could not be read (Kubernetes could not be reached to read deployment payments/payments: connect ECONNREFUSED 10.0.0.1:443); ask again once it answers',
    );
    expect(plain((await f.card()).text)).toMatch(/^⚠️ Void: the cluster could not be read/);
    expect(f.clock.now() - T0).toBeLessThanOrEqual(10_000);
  });

  it('/deploy and /deploy help show the usage', async () => {
    f = createDeployFixture();
    for (const text of ['/deploy', '/deploy help', '/rollback help']) {
      const result = await f.run(text);
      expect(result.reply.text, text).toContain('/deploy <service> <version>');
      expect(result.reply.text, text).toContain('/rollback <service> [--to=<version or revision>]');
      expect(result.reply.text, text).toContain('/deploy approve REQ-n');
    }
  });

  it('a deployment missing from the cluster makes the request void, with the reason on the card', async () => {
    f = createDeployFixture({
      config: deployConfig(
        {},
        {
          services: {
            ghost: {
              ...deployConfig().services.payments!,
              kubernetes: { ...deployConfig().services.payments!.kubernetes!, deployment: 'ghost' },
            },
          },
        },
      ),
    });
    await requestDeploy('/deploy ghost v1');
    expect(await f.request()).toMatchObject({
      status: 'void',
      reason: 'the deployment payments/ghost does not exist in the cluster',
    });
    expect(buttonLabels(await f.card())).toEqual([]);
    expect(plain((await f.card()).text)).toContain('Void: the deployment payments/ghost does not exist');
    expect((await f.run('/deploy approve REQ-1', { user: LEAD1 })).reply.text).toMatch(/REQ-1 is void/);
  });
});

describe('approving', () => {
  it('the requester may not approve their own request', async () => {
    f = createDeployFixture({ config: deployConfig({ approvers: ['alice', `console:${LEAD1}`] }) });
    await requestDeploy();
    const before = await state();
    const result = await f.run('/deploy approve REQ-1', { user: 'alice' });
    expect(result.outcome).toBe('refused');
    expect(result.reply).toMatchObject({
      visibility: 'private',
      text: expect.stringMatching(
        /You asked for REQ-1, so someone else must approve it \(self-approval is off for production\)/,
      ),
    });
    expect(await state()).toEqual(before);
  });

  it('with allowSelfApproval the requester may approve', async () => {
    f = createDeployFixture({ config: deployConfig({ approvers: ['alice'], allowSelfApproval: true }) });
    await requestDeploy();
    expect((await f.run('/deploy approve REQ-1', { user: 'alice' })).outcome).toBe('ok');
    expect((await f.request()).status).toBe('approved');
  });

  it('someone who is not an approver is refused and told why', async () => {
    f = createDeployFixture();
    await requestDeploy();
    const before = await state();
    const result = await f.run('/deploy approve REQ-1', { user: 'mallory' });
    expect(result.outcome).toBe('refused');
    expect(result.reply.text).toBe('You are not an approver for production, so you cannot approve REQ-1.');
    expect(await state()).toEqual(before);
  });

  it('required: 2 needs two different approvers; the same one twice counts once', async () => {
    f = createDeployFixture({ config: deployConfig({ required: 2 }) });
    await requestDeploy();
    const first = await f.run('/deploy approve REQ-1', { user: LEAD1 });
    expect(first.reply.text).toBe('You approved REQ-1 (1 of 2); it needs 1 more.');
    expect(await f.request()).toMatchObject({ status: 'pending', approvals: [{ by: LEAD1, at: f.clock.now() }] });
    await f.drain();
    expect(field(await f.card(), 'Approvals')).toContain('1 of 2');
    expect(plain((await f.card()).text)).toContain('Waiting for approval (1 of 2), approved by @U0LEAD1 so far');

    const again = await f.run('/deploy approve REQ-1', { user: LEAD1 });
    expect(again.outcome).toBe('refused');
    expect(again.reply.text).toMatch(/You already approved REQ-1; it needs 1 more approval from another approver/);
    expect((await f.request()).approvals).toHaveLength(1);

    const second = await f.run('/deploy approve REQ-1', { user: LEAD2 });
    expect(second.reply.text).toMatch(/You approved REQ-1 \(2 of 2\); firelane rolls it out now/);
    expect((await f.request()).status).toBe('approved');
    await f.drain();
    expect((await f.request()).status).toBe('succeeded');
    expect(f.cluster.changes).toHaveLength(1);
    expect(f.cluster.changes[0]!.changeCause).toBe(
      `firelane REQ-1: deploy payments to ${IMAGE}:v2.1.1; requested by alice, approved by ${LEAD1}, ${LEAD2}`,
    );
    expect(
      (await f.audit()).filter((a) => a.action.startsWith('deploy.approv')).map((a) => [a.action, a.actor]),
    ).toEqual([
      ['deploy.approval', LEAD1],
      ['deploy.approved', LEAD2],
    ]);
  });

  it('an expired request can no longer be approved: the late click marks it expired', async () => {
    f = createDeployFixture();
    await requestDeploy();
    f.clock.advance(30 * 60_000);
    const result = await f.run('/deploy approve REQ-1', { user: LEAD1 });
    expect(result.reply).toMatchObject({
      visibility: 'private',
      text: 'REQ-1 expired before it was approved; ask again with a new request.',
    });
    expect(await f.request()).toMatchObject({ status: 'expired', approvals: [] });
    await f.drain();
    expect(plain((await f.card()).text)).toBe('⌛ Expired at 2026-03-01 10:30 UTC with 0 of 1 approvals');
    expect(buttonLabels(await f.card())).toEqual([]);
    expect(f.cluster.changes).toEqual([]);
    const expired = (await f.audit()).find((a) => a.action === 'deploy.expired');
    expect(expired).toMatchObject({
      actor: LEAD1,
      before: { request: 'REQ-1', status: 'pending' },
      after: { request: 'REQ-1', status: 'expired' },
    });
    // And again: still refused, nothing new.
    expect((await f.run('/deploy approve REQ-1', { user: LEAD2 })).reply.text).toMatch(
      /REQ-1 expired before it was approved/,
    );
    expect((await f.audit()).filter((a) => a.action === 'deploy.expired')).toHaveLength(1);
  });

  it('the expiry job marks an unapproved request expired at its time and updates the card', async () => {
    f = createDeployFixture();
    await requestDeploy();
    f.clock.advance(30 * 60_000 - 1);
    await f.drain();
    expect((await f.request()).status).toBe('pending');
    f.clock.advance(1);
    await f.drain();
    expect((await f.request()).status).toBe('expired');
    expect((await f.audit()).find((a) => a.action === 'deploy.expired')).toMatchObject({ actor: 'firelane' });
    expect(plain((await f.card()).text)).toContain('Expired');
    expect(buttonLabels(await f.card())).toEqual([]);
  });

  it('two approvals racing execute once; the loser hears that it is already approved', async () => {
    f = createDeployFixture();
    await requestDeploy();
    const [a, b] = await Promise.all([
      f.run('/deploy approve REQ-1', { user: LEAD1 }),
      f.run('/deploy approve REQ-1', { user: LEAD2 }),
    ]);
    expect([a.outcome, b.outcome].sort()).toEqual(['ok', 'refused']);
    expect([a, b].find((r) => r.outcome === 'refused')!.reply.text).toMatch(/REQ-1 is already approved/);
    await f.drain();
    await f.drain();
    expect((await f.request()).status).toBe('succeeded');
    expect((await f.request()).approvals).toHaveLength(1);
    expect(f.cluster.changes).toHaveLength(1);
    expect((await f.store.jobs.get('deploy-execute:1'))?.status).toBe('done');
  });

  it('the same click delivered twice (same idempotency key) approves once and answers the same', async () => {
    f = createDeployFixture();
    await requestDeploy();
    const first = await f.run('/deploy approve REQ-1', { user: LEAD1, idempotencyKey: 'click-1' });
    const retried = await f.run('/deploy approve REQ-1', { user: LEAD1, idempotencyKey: 'click-1' });
    expect(retried.outcome).toBe('duplicate');
    expect(retried.reply).toEqual(first.reply);
    await f.drain();
    expect((await f.audit()).filter((a) => a.action === 'deploy.approved')).toHaveLength(1);
    expect(f.cluster.changes).toHaveLength(1);
  });

  it('an approval made before the card exists is refused (nothing to bind to yet)', async () => {
    f = createDeployFixture();
    await f.run('/deploy payments v2.1.1');
    const early = await f.run('/deploy approve REQ-1', { user: LEAD1 });
    expect(early.outcome).toBe('refused');
    expect(early.reply.text).toMatch(/still being prepared/);
  });

  it('unknown or malformed request ids are refused', async () => {
    f = createDeployFixture();
    expect((await f.run('/deploy approve REQ-7', { user: LEAD1 })).reply.text).toMatch(/REQ-7 does not exist/);
    expect((await f.run('/deploy approve', { user: LEAD1 })).reply.text).toMatch(/Name the request/);
    expect((await f.run('/deploy reject nonsense', { user: LEAD1 })).reply.text).toMatch(
      /"nonsense" is not a request id/,
    );
  });
});

describe('rejecting', () => {
  it('an approver rejects with a reason: the card says so, the audit has it, nothing runs', async () => {
    f = createDeployFixture();
    await requestDeploy();
    const result = await f.run('/deploy reject REQ-1 not during the freeze', { user: LEAD2 });
    expect(result.reply.text).toBe('You rejected REQ-1; nothing will run.');
    expect(await f.request()).toMatchObject({ status: 'rejected', rejectedBy: LEAD2, reason: 'not during the freeze' });
    await f.drain();
    expect(plain((await f.card()).text)).toBe('🚫 Rejected by @U0LEAD2: not during the freeze');
    expect(buttonLabels(await f.card())).toEqual([]);
    expect((await f.audit()).find((a) => a.action === 'deploy.rejected')).toMatchObject({
      actor: LEAD2,
      after: { status: 'rejected', rejectedBy: LEAD2 },
    });
    expect((await f.run('/deploy approve REQ-1', { user: LEAD1 })).reply.text).toBe('REQ-1 was rejected.');
    await f.drain();
    expect(f.cluster.changes).toEqual([]);
  });

  it('a long reason is cut at 500 characters, never inside an emoji', async () => {
    f = createDeployFixture();
    await requestDeploy();
    const reason = `${'x'.repeat(499)}🔥 and more`;
    expect((await f.run(`/deploy reject REQ-1 ${reason}`, { user: LEAD2 })).reply.text).toBe(
      'You rejected REQ-1; nothing will run.',
    );
    expect((await f.request()).reason).toBe(`${'x'.repeat(499)}🔥`);
  });

  it('the requester may withdraw; anyone else is refused', async () => {
    f = createDeployFixture();
    await requestDeploy();
    const other = await f.run('/deploy reject REQ-1', { user: 'mallory' });
    expect(other.outcome).toBe('refused');
    expect(other.reply.text).toBe('Only the requester or an approver for production can reject REQ-1.');
    expect((await f.run('/deploy reject REQ-1', { user: 'alice' })).reply.text).toBe(
      'You withdrew REQ-1; nothing will run.',
    );
  });
});

describe('one rollout at a time per target', () => {
  it('a second /deploy while one runs is refused clearly; after it finishes a new one is fine', async () => {
    f = createDeployFixture();
    await requestDeploy();
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    expect((await f.request()).status).toBe('approved');
    const before = await state();
    const second = await f.run('/deploy payments v2.1.2');
    expect(second.outcome).toBe('refused');
    expect(second.reply.text).toBe(
      'payments (production) is being deployed by REQ-1 right now: one rollout at a time per target. Ask again when it has finished. To stop it, /rollback payments --env=production.',
    );
    expect(await state()).toEqual(before);
    await f.drain();
    expect((await f.request()).status).toBe('succeeded');
    expect((await f.run('/deploy payments v2.1.2')).outcome).toBe('ok');
  });

  it('a pending request of the target is superseded when another starts: its Approve changes nothing; the database holds the lock', async () => {
    f = createDeployFixture();
    await requestDeploy('/deploy payments v2.1.1');
    await requestDeploy('/deploy payments v2.1.2');
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    expect(await f.request(2)).toMatchObject({ status: 'superseded', approvals: [] });
    const result = await f.run('/deploy approve REQ-2', { user: LEAD1 });
    expect(result.outcome).toBe('refused');
    expect(result.reply.text).toBe(
      'REQ-2 is superseded: REQ-1 changes payments (production) after this card was posted; ask again if it is still wanted; its buttons change nothing.',
    );
    // The database itself holds the lock: a second running row for the target cannot exist.
    expect(() => f.handle.sqlite.prepare("UPDATE deploy_requests SET status = 'executing' WHERE id = 2").run()).toThrow(
      /UNIQUE/,
    );
    await f.drain();
    expect(plain((await f.card(2)).text)).toMatch(/^⏹️ Superseded: REQ-1 changes payments/);
    expect((await f.card(2)).buttons).toBeUndefined();
    expect(f.cluster.changes.map((c) => c.images.app)).toEqual([`${IMAGE}:v2.1.1`]);
  });
});

describe('the approval binds to the plan on the card', () => {
  it('a cluster changed since the card was posted makes the request void, and the card says why', async () => {
    f = createDeployFixture();
    await requestDeploy();
    f.cluster.changeOutside(PAYMENTS, 'app', `${IMAGE}:v2.1.0-hotpatch`);
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    await f.drain();
    const request = await f.request();
    expect(request.status).toBe('void');
    expect(request.reason).toBe(
      'the cluster changed since the card was posted (the deployment is at revision 3 now, not 2 as on the card); ask again with a new request',
    );
    expect(plain((await f.card()).text)).toContain('Void: the cluster changed since the card was posted');
    expect(f.cluster.changes).toEqual([]);
    expect((await f.cluster.readDeployment(PAYMENTS))!.images.app).toBe(`${IMAGE}:v2.1.0-hotpatch`);
    // The lock is free again.
    expect((await f.run('/deploy payments v2.1.1')).outcome).toBe('ok');
  });
});

describe('execution (rolling)', () => {
  it('sets the image, shows the progress on the card, and ends succeeded with a Rollback button', async () => {
    f = createDeployFixture();
    await requestDeploy();
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    await f.drain();
    const request = await f.request();
    expect(request).toMatchObject({ status: 'succeeded', resultRevision: 3, reason: null });
    const d = (await f.cluster.readDeployment(PAYMENTS))!;
    expect(d).toMatchObject({ revision: 3, images: { app: `${IMAGE}:v2.1.1` }, updated: 3, available: 3 });
    const shown = f.updates.map((u) => plain(u.card?.text));
    expect(shown).toContain('🔄 Rolling out: 2 of 3 replicas updated (approved by @U0LEAD1)');
    const card = await f.card();
    expect(plain(card.text)).toBe('✅ Succeeded (approved by @U0LEAD1): now at revision 3');
    expect(card.accent).toBe('good');
    expect(card.buttons).toEqual([
      { label: 'Rollback', command: 'rollback payments --env=production --undo=REQ-1', style: 'danger' },
    ]);
    expect((await f.audit()).map((a) => a.action).filter((a) => a.startsWith('deploy.'))).toEqual([
      'deploy.requested',
      'deploy.planned',
      'deploy.card_posted',
      'deploy.approved',
      'deploy.started',
      'deploy.succeeded',
    ]);
  });

  it('a failed rollout is rolled back by itself; the card says why, and its stale Rollback button changes nothing', async () => {
    f = createDeployFixture();
    f.cluster.failNextRollout(PAYMENTS, 'pods of the new ReplicaSet are in CrashLoopBackOff', 1);
    await requestDeploy();
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    await f.drain();
    expect(await f.request()).toMatchObject({
      status: 'rolled_back',
      reason: 'the rollout failed: pods of the new ReplicaSet are in CrashLoopBackOff',
      resultRevision: 4,
    });
    expect((await f.cluster.readDeployment(PAYMENTS))!.images.app).toBe(`${IMAGE}:v2.1.0`);
    const card = await f.card();
    expect(plain(card.text)).toBe(
      '↩️ Rolled back automatically: the rollout failed: pods of the new ReplicaSet are in CrashLoopBackOff (now at revision 4)',
    );
    expect(card.buttons).toBeUndefined();
    // The Rollback button shown while it rolled out asks to undo REQ-1, which is undone already.
    const stale = await f.run('/rollback payments --env=production --undo=REQ-1', { user: 'bob' });
    expect(stale.outcome).toBe('refused');
    expect(stale.reply.text).toBe(
      'REQ-1 was already rolled back automatically: payments (production) is back at v2.1.0 since REQ-1 was rolled back automatically (the rollout failed: pods of the new ReplicaSet are in CrashLoopBackOff). Nothing was requested.',
    );
    expect(await f.count('deploy_requests')).toBe(1);
  });

  it('a job that dies after setting the image resumes following the rollout, without setting it again', async () => {
    f = createDeployFixture();
    await requestDeploy();
    const real = f.cluster.rolloutProgress.bind(f.cluster);
    let failures = 1;
    f.cluster.rolloutProgress = async (target) => {
      if (failures-- > 0) throw new Error('connection reset by the API server');
      return real(target);
    };
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    await f.drain();
    expect((await f.request()).status).toBe('executing');
    expect(await f.store.jobs.get('deploy-execute:1')).toMatchObject({
      status: 'queued',
      lastError: 'connection reset by the API server',
    });
    f.clock.advance(1_000);
    await f.drain();
    expect((await f.request()).status).toBe('succeeded');
    expect(f.cluster.changes).toHaveLength(1);
  });

  it('a rollout that never completes fails at the timeout instead of polling for ever', async () => {
    f = createDeployFixture({ rolloutPolls: 10_000 });
    await requestDeploy();
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    await f.drain();
    expect((await f.request()).status).toBe('failed');
    expect((await f.request()).reason).toMatch(/the rollout did not complete within 15m/);
  });
});

describe('incident linking and the timeline', () => {
  it('in a war room the request links its incident; request, approval and outcome land on the timeline', async () => {
    f = createDeployFixture();
    await f.run('/incident sev1 Payments down');
    f.handle.sqlite.prepare("UPDATE incidents SET room_id = 'inc-1-payments-down' WHERE id = 1").run();
    // A second open incident: outside the war room no incident is guessed.
    await f.run('/incident sev2 Slow search');
    expect((await f.run('/deploy payments v2.1.1', { roomId: 'inc-1-payments-down' })).outcome).toBe('ok');
    expect((await f.run('/deploy payments v2.1.2', { roomId: ROOM })).outcome).toBe('ok');
    expect((await f.request(1)).incidentId).toBe(1);
    expect((await f.request(2)).incidentId).toBeNull();
    await f.drain();
    expect(field(await f.card(1), 'Incident')).toBe('INC-1');
    await f.run('/deploy approve REQ-1', { user: LEAD1 });
    await f.drain();
    const kinds = (await f.store.incidents.timeline(1)).map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['deploy_requested', 'deploy_approved', 'deploy_started', 'deploy_succeeded']),
    );
    expect(
      (await f.audit()).filter((a) => a.action.startsWith('deploy.') && a.incidentId === 1).length,
    ).toBeGreaterThan(3);
  });

  it('with exactly one open incident, a request made anywhere links it; --incident names one explicitly', async () => {
    f = createDeployFixture();
    await f.run('/incident sev1 Payments down');
    await f.run('/deploy payments v2.1.1');
    expect((await f.request(1)).incidentId).toBe(1);
    await f.run('/incident sev2 Slow search');
    await f.run('/deploy payments v2.1.2 --incident=INC-2');
    expect((await f.request(2)).incidentId).toBe(2);
  });
});

describe('card text', () => {
  it('shows what a reviewer needs in one place', async () => {
    f = createDeployFixture({ config: deployConfig({ required: 2 }) });
    await requestDeploy();
    expect(cardText(await f.card())).toContain(`From: ${IMAGE}:v2.1.0 (revision 2)`);
    expect(cardText(await f.card())).toContain('Approvers: @U0LEAD1, @U0LEAD2');
  });
});
