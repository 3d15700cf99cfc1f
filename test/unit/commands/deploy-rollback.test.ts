// /rollback requests: the card names the exact revision and image, checked against the history;
// an approved rollback runs `rollout undo` to that revision once.
import { afterEach, describe, expect, it } from 'vitest';
import { toPlainText } from '../../../src/ports/reply.js';
import {
  buttonLabels,
  createDeployFixture,
  field,
  IMAGE,
  LEAD1,
  PAYMENTS,
  type DeployFixture,
} from './deploy-fixture.js';

let f: DeployFixture;
afterEach(() => f?.close());

const plain = (text: string | undefined) => toPlainText(text ?? '');

/** Revisions 1 v2.0.0, 2 v2.1.0, 3 v2.2.0 (running). */
function withThreeRevisions() {
  f = createDeployFixture();
  f.cluster.changeOutside(PAYMENTS, 'app', `${IMAGE}:v2.2.0`);
}

async function requestRollback(text: string, user = 'alice') {
  const result = await f.run(text, { user });
  expect(result.outcome, result.reply.text).toBe('ok');
  await f.drain();
  return result;
}

describe('/rollback <service>', () => {
  it('by default names the previous revision and its image on the card', async () => {
    withThreeRevisions();
    const result = await requestRollback('/rollback payments');
    expect(result.reply.text).toMatch(/REQ-1: rollback of payments \(production\) to the previous revision requested/);
    expect(await f.request()).toMatchObject({
      kind: 'rollback',
      status: 'pending',
      target: null,
      plan: { fromRevision: 3, fromImage: `${IMAGE}:v2.2.0`, toRevision: 2, toImage: `${IMAGE}:v2.1.0` },
    });
    const card = await f.card();
    expect(card.title).toBe('↩️ Rollback REQ-1: payments in production');
    expect(field(card, 'From')).toBe(`${IMAGE}:v2.2.0 (revision 3)`);
    expect(field(card, 'To')).toBe(`${IMAGE}:v2.1.0 (revision 2)`);
    expect(buttonLabels(card)).toEqual(['Approve', 'Reject']);
    expect((await f.audit())[0]).toMatchObject({ action: 'rollback.requested', actor: 'alice' });
  });

  it('--to=<revision> and --to=<version> pick that revision from the history', async () => {
    withThreeRevisions();
    await requestRollback('/rollback payments --to=1');
    expect((await f.request(1)).plan).toMatchObject({ toRevision: 1, toImage: `${IMAGE}:v2.0.0` });
    await f.run('/deploy reject REQ-1', { user: 'alice' });
    await requestRollback('/rollback payments --to=v2.1.0');
    expect((await f.request(2)).plan).toMatchObject({ toRevision: 2, toImage: `${IMAGE}:v2.1.0` });
  });

  it('a --to that is not in the history makes the request void, naming the revisions there are', async () => {
    withThreeRevisions();
    await requestRollback('/rollback payments --to=9');
    expect(await f.request()).toMatchObject({
      status: 'void',
      reason: 'revision 9 is not in the history of payments/payments (revisions: 1, 2, 3)',
    });
    expect(plain((await f.card()).text)).toContain('Void: revision 9 is not in the history');
    expect(buttonLabels(await f.card())).toEqual([]);
    await f.run('/deploy reject REQ-1', { user: 'alice' }).then((r) => expect(r.reply.text).toMatch(/REQ-1 is void/));

    await requestRollback('/rollback payments --to=v1.0.0');
    expect((await f.request(2)).reason).toBe(
      'no revision in the history of payments/payments runs v1.0.0 (revisions: 1, 2, 3)',
    );
    await requestRollback('/rollback payments --to=3');
    expect((await f.request(3)).reason).toBe('revision 3 is the one running now');
  });

  it('bad input changes nothing', async () => {
    withThreeRevisions();
    const before = (await f.count('deploy_requests')) + (await f.count('jobs')) + (await f.count('audit_log'));
    const cases: Array<[string, RegExp]> = [
      ['/rollback nosuch', /Unknown service "nosuch"/],
      ['/rollback payments 3', /to name the target, write --to=3/],
      ['/rollback payments --to', /--to takes a revision number or a version/],
      ['/rollback payments --to=a/b', /--to takes a revision number or a version/],
      ['/rollback payments --env=qa', /payments has no target in qa\. It deploys to: `production`/],
      ['/rollback payments --undo=REQ-9', /REQ-9 is not a deploy of payments in production/],
      ['/rollback payments --strategy=rolling', /--strategy is not an option/],
    ];
    for (const [text, message] of cases) {
      const result = await f.run(text);
      expect(result.reply.visibility, text).toBe('private');
      expect(result.reply.text, text).toMatch(message);
    }
    expect((await f.count('deploy_requests')) + (await f.count('jobs')) + (await f.count('audit_log'))).toBe(before);
  });

  it('a second rollback request while one waits points at the first', async () => {
    withThreeRevisions();
    await requestRollback('/rollback payments');
    const again = await f.run('/rollback payments', { user: 'bob' });
    expect(again.outcome).toBe('refused');
    expect(again.reply.text).toBe(
      'REQ-1 already asks to roll back payments (production) and waits for approval: approve or reject that one.',
    );
  });

  it('approved, it runs undo to the named revision: the old template comes back under a new revision', async () => {
    withThreeRevisions();
    await requestRollback('/rollback payments --to=1');
    await f.run('/rollback approve REQ-1', { user: LEAD1 });
    await f.drain();
    expect(await f.request()).toMatchObject({ status: 'succeeded', resultRevision: 4 });
    expect(f.cluster.changes).toEqual([
      expect.objectContaining({
        kind: 'undo',
        revision: 4,
        images: { app: `${IMAGE}:v2.0.0` },
        changeCause: expect.stringContaining('firelane REQ-1: rollback payments'),
      }),
    ]);
    const history = await f.cluster.history(PAYMENTS);
    expect(history.map((r) => [r.revision, r.images.app])).toEqual([
      [2, `${IMAGE}:v2.1.0`],
      [3, `${IMAGE}:v2.2.0`],
      [4, `${IMAGE}:v2.0.0`],
    ]);
    // A finished rollback card offers no further Rollback.
    expect(buttonLabels(await f.card())).toEqual([]);
    expect(plain((await f.card()).text)).toContain('Succeeded');
  });
});
