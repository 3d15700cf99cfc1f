// Rollback at any moment: while a deploy rolls out or is verified, /rollback (or the card's Rollback)
// asks to undo it; once approved, the deploy is superseded (its execution stops, it never reports
// success) and the rollback returns the target to what ran before it, exactly once, also when it
// races the deploy's own automatic rollback.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toPlainText } from '../../../src/ports/reply.js';
import {
  buttonLabels,
  createDeployFixture,
  field,
  IMAGE,
  LEAD1,
  LEAD2,
  PAYMENTS,
  type DeployFixture,
  type DeployFixtureOptions,
} from './deploy-fixture.js';

let f: DeployFixture;
afterEach(() => f?.close());

const plain = (text: string | undefined) => toPlainText(text ?? '');
const image = async () => (await f.cluster.readDeployment(PAYMENTS))!.images.app;
const changes = () => f.cluster.changes.map((c) => `${c.kind} ${c.images.app}`);

/** Runs `act` once, at the first wait of the deploy's health window (the card then says "Verifying health"). */
function whileVerifying(act: () => Promise<void>): DeployFixtureOptions['onSleep'] {
  let done = false;
  return async () => {
    if (done || (await f.request(1)).status !== 'executing' || !/Verifying health/.test(plain((await f.card(1)).text)))
      return;
    done = true;
    await act();
  };
}

/** Asks for the rollback as bob and approves it as LEAD2, while the deploy's job waits in its window. */
async function rollBackNow(text = '/rollback payments') {
  const asked = await f.run(text, { user: 'bob' });
  expect(asked.outcome, asked.reply.text).toBe('ok');
  // Its card is posted by the worker, which keeps running jobs while the deploy's job waits here.
  await vi.waitFor(async () => expect((await f.request(2)).plan).not.toBeNull());
  const approved = await f.run('/deploy approve REQ-2', { user: LEAD2 });
  expect(approved.outcome, approved.reply.text).toBe('ok');
}

async function deployAndApprove() {
  expect((await f.run('/deploy payments v2.1.1')).outcome).toBe('ok');
  await f.drain();
  expect((await f.run('/deploy approve REQ-1', { user: LEAD1 })).outcome).toBe('ok');
}

/** Drains, moving the clock past retries (the rollback waits for the stopped deploy's job to let go). */
async function settle() {
  for (let i = 0; i < 5; i++) {
    await f.drain();
    f.clock.advance(1_000);
  }
  await f.drain();
}

describe('rollback at any moment', () => {
  it('while the deploy is verified: the card offers Rollback, /rollback is accepted, and once approved the deploy stops and never succeeds', async () => {
    let shownWhileVerifying: string[] = [];
    let answer = '';
    f = createDeployFixture({
      onSleep: whileVerifying(async () => {
        shownWhileVerifying = buttonLabels(await f.card(1));
        const asked = await f.run('/rollback payments', { user: 'bob' });
        answer = asked.reply.text;
        await vi.waitFor(async () => expect((await f.request(2)).plan).not.toBeNull());
        expect((await f.run('/deploy approve REQ-2', { user: LEAD2 })).outcome).toBe('ok');
      }),
    });
    await deployAndApprove();
    await settle();

    expect(shownWhileVerifying).toEqual(['Rollback']);
    expect(answer).toBe(
      'REQ-2: rollback of REQ-1 (payments in production) to what ran before it requested. Once approved it stops REQ-1 and returns payments to ghcr.io/acme/payments:v2.1.0.',
    );
    expect((await f.request(1)).status).toBe('superseded');
    expect(plain((await f.request(1)).reason ?? '')).toBe('stopped by REQ-2, a rollback approved by @U0LEAD2');
    expect(await f.request(2)).toMatchObject({ kind: 'rollback', undoes: 1, status: 'succeeded' });
    expect(await image()).toBe(`${IMAGE}:v2.1.0`);
    expect(changes()).toEqual([`set-image ${IMAGE}:v2.1.1`, `undo ${IMAGE}:v2.1.0`]);

    // Long after the health window would have ended, REQ-1 still has not reported success.
    f.clock.advance(10 * 60_000);
    await settle();
    expect((await f.request(1)).status).toBe('superseded');
    expect((await f.audit()).filter((a) => a.action === 'deploy.succeeded')).toEqual([]);
    const card1 = await f.card(1);
    expect(plain(card1.text)).toBe('⏹️ Superseded: stopped by REQ-2, a rollback approved by @U0LEAD2');
    expect(card1.buttons).toBeUndefined();
    const card2 = await f.card(2);
    expect(card2.title).toBe('↩️ Rollback REQ-2 of REQ-1: payments in production');
    expect(field(card2, 'From')).toBe(`${IMAGE}:v2.1.1 (what REQ-1 deploys)`);
    expect(field(card2, 'To')).toBe(`${IMAGE}:v2.1.0 (revision 2, before REQ-1)`);
    expect(
      (await f.audit()).map((a) => a.action).filter((a) => /superseded|rollback\.(approved|started|succeeded)/.test(a)),
    ).toEqual(['deploy.superseded', 'rollback.approved', 'rollback.started', 'rollback.succeeded']);
  });

  it('while the deploy rolls out: the rollback stops it mid-rollout and returns the target', async () => {
    let rolledBack = false;
    f = createDeployFixture({
      rolloutPolls: 4,
      onSleep: async () => {
        if (
          rolledBack ||
          (await f.request(1)).status !== 'executing' ||
          !/Rolling out/.test(plain((await f.card(1)).text))
        )
          return;
        rolledBack = true;
        expect(buttonLabels(await f.card(1))).toEqual(['Rollback']);
        await rollBackNow();
      },
    });
    await deployAndApprove();
    await settle();
    expect(rolledBack).toBe(true);
    expect((await f.request(1)).status).toBe('superseded');
    expect((await f.request(2)).status).toBe('succeeded');
    expect(await image()).toBe(`${IMAGE}:v2.1.0`);
    expect(changes()).toEqual([`set-image ${IMAGE}:v2.1.1`, `undo ${IMAGE}:v2.1.0`]);
  });

  it("racing the deploy's own automatic rollback: the target goes back once, and nothing rolls forward", async () => {
    f = createDeployFixture({
      onSleep: whileVerifying(async () => {
        // The new version loses its pods: the deploy's health check fails at its next look...
        f.cluster.loseAvailability(PAYMENTS, 1);
      }),
    });
    // ...and while its automatic undo is on its way to the cluster, a person's rollback is approved.
    const undo = f.cluster.undo.bind(f.cluster);
    let raced = false;
    f.cluster.undo = async (target, meta, revision) => {
      if (!raced && /automatic rollback of REQ-1/.test(meta.changeCause)) {
        raced = true;
        await rollBackNow();
      }
      return undo(target, meta, revision);
    };
    await deployAndApprove();
    await settle();
    expect(raced).toBe(true);
    expect((await f.request(1)).status).toBe('superseded');
    expect(await f.request(2)).toMatchObject({ status: 'succeeded' });
    expect(await image()).toBe(`${IMAGE}:v2.1.0`);
    // One undo: the rollback found the target already back and changed nothing.
    expect(changes()).toEqual([`set-image ${IMAGE}:v2.1.1`, `undo ${IMAGE}:v2.1.0`]);
  });

  it('after the automatic rollback won the race, approving the rollback changes nothing and says why', async () => {
    f = createDeployFixture({
      onSleep: whileVerifying(async () => {
        expect((await f.run('/rollback payments', { user: 'bob' })).outcome).toBe('ok');
        f.cluster.loseAvailability(PAYMENTS, 1);
      }),
    });
    await deployAndApprove();
    await settle();
    expect((await f.request(1)).status).toBe('rolled_back');
    const late = await f.run('/deploy approve REQ-2', { user: LEAD2 });
    expect(late.outcome).toBe('ok');
    expect(late.reply.text).toMatch(
      /^Nothing to approve: REQ-1 was already rolled back automatically: payments \(production\) is back at v2\.1\.0 since REQ-1 was rolled back automatically/,
    );
    await settle();
    expect(await f.request(2)).toMatchObject({ status: 'void' });
    expect(changes()).toEqual([`set-image ${IMAGE}:v2.1.1`, `undo ${IMAGE}:v2.1.0`]);
  });

  it('two Approve clicks on the rollback, and a retried one, undo once', async () => {
    f = createDeployFixture({
      onSleep: whileVerifying(async () => {
        expect((await f.run('/rollback payments', { user: 'bob' })).outcome).toBe('ok');
        await vi.waitFor(async () => expect((await f.request(2)).plan).not.toBeNull());
        const clicks = await Promise.all([
          f.run('/deploy approve REQ-2', { user: LEAD2, idempotencyKey: 'click-1' }),
          f.run('/deploy approve REQ-2', { user: LEAD1, idempotencyKey: 'click-2' }),
          f.run('/deploy approve REQ-2', { user: LEAD2, idempotencyKey: 'click-1' }),
        ]);
        expect(clicks.map((c) => c.outcome).sort()).toEqual(['duplicate', 'ok', 'refused']);
      }),
    });
    await deployAndApprove();
    await settle();
    expect(await f.request(2)).toMatchObject({ status: 'succeeded', approvals: [{ by: LEAD2 }] });
    expect(changes()).toEqual([`set-image ${IMAGE}:v2.1.1`, `undo ${IMAGE}:v2.1.0`]);
  });

  it('a rollback while another rollback runs is refused, and --to is refused while a deploy runs', async () => {
    f = createDeployFixture({
      onSleep: whileVerifying(async () => {
        const to = await f.run('/rollback payments --to=1', { user: 'bob' });
        expect(to.outcome).toBe('refused');
        expect(to.reply.text).toMatch(
          /^REQ-1 is rolling out: \/rollback payments --env=production \(without --to\) returns to what ran before it/,
        );
        await rollBackNow();
        const again = await f.run('/rollback payments', { user: 'carol' });
        expect(again.reply.text).toMatch(/^payments \(production\) is being rolled back by REQ-2 right now/);
      }),
    });
    await deployAndApprove();
    await settle();
    expect(await f.count('deploy_requests')).toBe(2);
  });
});
