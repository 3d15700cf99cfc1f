// The deploy request store on each database: guarded transitions (the exactly-once core), the
// per-service lock, audit rows; on PostgreSQL also across replicas sharing the database.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FirelaneError } from '../../../../src/errors.js';
import { createManualClock } from '../../../../src/ports/clock.js';
import type { NewDeployRequest, Store } from '../../../../src/ports/store.js';
import { auditRows, dialects, type StoreUnderTest } from '../../../support/stores.js';

const by = (action: string) => ({ actor: 'U0LEAD1', platform: 'slack', action });
const plan = { fromRevision: 2, fromImage: 'img:v1', toImage: 'img:v2', toRevision: null };
const approve = (store: Store, id: number) =>
  store.deploys.transition(id, { from: ['pending'] }, { status: 'approved' }, by('deploy.approved'));

for (const dialect of dialects()) {
  describe(`deploy store on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    let store: StoreUnderTest['store'];
    const newRequest = (service = 'payments', environment = 'production'): NewDeployRequest => ({
      kind: 'deploy',
      service,
      environment,
      strategy: 'rolling',
      requester: 'U0ALICE',
      platform: 'slack',
      roomId: 'C1',
      target: 'v2',
      container: 'app',
      expiresAt: t.clock.now() + 60_000,
      incidentId: null,
      createdAt: t.clock.now(),
    });

    beforeEach(async () => {
      t = await dialect.open({ clock: createManualClock(Date.parse('2026-03-01T10:00:00Z')) });
      store = t.store;
    });
    afterEach(() => t.close());

    it('creates REQ rows pending with no plan, and audits the request', async () => {
      const created = await store.deploys.create(newRequest(), 'slack');
      expect(created).toMatchObject({ id: 1, status: 'pending', plan: null, approvals: [], changeCount: 0 });
      expect(await store.deploys.get(1)).toEqual(created);
      const [row] = await auditRows(t);
      expect(row).toMatchObject({ action: 'deploy.requested', actor: 'U0ALICE', platform: 'slack' });
      expect(JSON.parse(row!.after!)).toMatchObject({ request: 'REQ-1', service: 'payments', status: 'pending' });
    });

    it('stores the plan, facts and target as they were given, and reads them back the same', async () => {
      const whereTo = { namespace: 'shop', deployment: 'payments' };
      await store.deploys.create({ ...newRequest(), whereTo, undoes: null, requesterPerson: 'alice' }, 'slack');
      const bluegreen = { ...plan, toRevision: 3, slots: { from: 'blue' as const, to: 'green' as const }, replicas: 4 };
      const facts = { sha: 'abc123', checks: { passed: 4, total: 4, blocking: [], requiredFailed: [] } };
      const planned = await store.deploys.transition(
        1,
        { from: ['pending'] },
        { plan: bluegreen, facts, cardRef: 'C1:1.2', githubDeploymentId: 2 ** 40 },
        by('deploy.planned'),
      );
      expect(planned).toMatchObject({ plan: bluegreen, facts, whereTo, requesterPerson: 'alice', changeCount: 1 });
      expect(await store.deploys.get(1)).toEqual(planned);
      // A plan taken back is seven empty columns again.
      const cleared = await store.deploys.transition(1, { from: ['pending'] }, { plan: null }, by('deploy.replanned'));
      expect(cleared?.plan).toBeNull();
      expect((await t.query('SELECT from_slot, plan_replicas FROM deploy_requests WHERE id = ?', [1]))[0]).toEqual({
        from_slot: null,
        plan_replicas: null,
      });
    });

    it('a transition applies only from the guarded status, so the second of two identical ones changes nothing', async () => {
      await store.deploys.create(newRequest(), 'slack');
      await store.deploys.transition(1, { from: ['pending'] }, { plan }, by('deploy.planned'));
      const first = await approve(store, 1);
      const second = await approve(store, 1);
      expect(first?.status).toBe('approved');
      expect(second).toBeUndefined();
      expect(await store.deploys.transition(9, { from: ['pending'] }, { status: 'approved' }, by('x'))).toBeUndefined();
      expect((await auditRows(t)).filter((r) => r.action === 'deploy.approved')).toHaveLength(1);
    });

    it('a stale changeCount loses: two approvals read at the same time cannot both be written', async () => {
      const read = await store.deploys.create(newRequest(), 'slack');
      const a = await store.deploys.transition(
        1,
        { from: ['pending'], changeCount: read.changeCount },
        { approvals: [{ by: 'A', at: 1 }] },
        by('deploy.approval'),
      );
      const b = await store.deploys.transition(
        1,
        { from: ['pending'], changeCount: read.changeCount },
        { approvals: [{ by: 'B', at: 1 }] },
        by('deploy.approval'),
      );
      expect(a?.approvals).toEqual([{ by: 'A', at: 1 }]);
      expect(a?.changeCount).toBe(1);
      expect(b).toBeUndefined();
      expect((await store.deploys.get(1))!.approvals).toEqual([{ by: 'A', at: 1 }]);
    });

    it('holds one running request per target (service and environment): a second becomes a conflict naming the first', async () => {
      await store.deploys.create(newRequest(), 'slack');
      await store.deploys.create(newRequest(), 'slack');
      await store.deploys.create(newRequest('search'), 'slack');
      await store.deploys.create(newRequest('payments', 'staging'), 'slack');
      await approve(store, 1);
      expect((await store.deploys.running('payments', 'production'))?.id).toBe(1);
      expect(await store.deploys.running('payments', 'staging')).toBeUndefined();
      let error: unknown;
      try {
        await store.transaction(() => approve(store, 2));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FirelaneError);
      expect((error as FirelaneError).message).toMatch(/payments \(production\) is being deployed by REQ-1 right now/);
      expect((await store.deploys.get(2))!.status).toBe('pending');
      // Other services and other environments are not held up, and a finished rollout frees the lock.
      expect((await approve(store, 3))?.status).toBe('approved');
      expect((await approve(store, 4))?.status).toBe('approved');
      expect((await store.deploys.inProgress()).map((r) => r.id)).toEqual([1, 3, 4]);
      await store.deploys.transition(1, { from: ['approved'] }, { status: 'executing' }, by('deploy.started'));
      await store.deploys.transition(1, { from: ['executing'] }, { status: 'succeeded' }, by('deploy.succeeded'));
      expect((await approve(store, 2))?.status).toBe('approved');
    });

    it('the rollout conflict leaves the caller’s transaction usable: its other writes commit', async () => {
      await store.deploys.create(newRequest(), 'slack');
      await store.deploys.create(newRequest(), 'slack');
      await approve(store, 1);
      await store.transaction(async () => {
        await expect(approve(store, 2)).rejects.toThrow(/being deployed by REQ-1/);
        await store.deploys.transition(
          2,
          { from: ['pending'] },
          { status: 'superseded', reason: 'REQ-1 is rolling out' },
          by('deploy.superseded'),
        );
      });
      expect(await store.deploys.get(2)).toMatchObject({ status: 'superseded', changeCount: 1 });
      expect((await auditRows(t)).map((r) => r.action)).toEqual([
        'deploy.requested',
        'deploy.requested',
        'deploy.approved',
        'deploy.superseded',
      ]);
      expect((await store.audit.verify()).ok).toBe(true);
    });

    it('lists pending requests oldest first, and the one that last started', async () => {
      for (let i = 0; i < 3; i++) await store.deploys.create(newRequest(), 'slack');
      await store.deploys.create(newRequest('search'), 'slack');
      expect((await store.deploys.pending('payments', 'production')).map((r) => r.id)).toEqual([1, 2, 3]);
      expect(await store.deploys.lastStarted('payments', 'production')).toBeUndefined();
      await store.deploys.transition(1, { from: ['pending'] }, { startedAt: 100 }, by('deploy.started'));
      await store.deploys.transition(2, { from: ['pending'] }, { startedAt: 200 }, by('deploy.started'));
      await store.deploys.transition(3, { from: ['pending'] }, { startedAt: 200 }, by('deploy.started'));
      expect((await store.deploys.lastStarted('payments', 'production'))?.id).toBe(3);
      expect(await store.deploys.lastStarted('payments', 'staging')).toBeUndefined();
    });

    it('records a failed health signal only for an executing deploy, the first one only, audited', async () => {
      const signal = (id: number, reason: string) =>
        store.deploys.signalHealth(
          id,
          reason,
          { actor: 'alertmanager', platform: 'alertmanager', action: 'deploy.health_signal' },
          t.clock.now(),
        );
      await store.deploys.create(newRequest(), 'slack');
      expect(await signal(1, 'alert A firing (Alertmanager)')).toBe(false); // pending: nothing to verify
      await approve(store, 1);
      await store.deploys.transition(1, { from: ['approved'] }, { status: 'executing' }, by('deploy.started'));
      expect(await store.deploys.healthSignal(1)).toBeUndefined();
      expect(await signal(1, 'alert A firing (Alertmanager)')).toBe(true);
      expect(await signal(1, 'alert B firing (Alertmanager)')).toBe(false);
      expect(await store.deploys.healthSignal(1)).toBe('alert A firing (Alertmanager)');
      const rows = (await auditRows(t)).filter((r) => r.action === 'deploy.health_signal');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ actor: 'alertmanager', platform: 'alertmanager' });
      expect(JSON.parse(rows[0]!.after!)).toEqual({ request: 'REQ-1', healthSignal: 'alert A firing (Alertmanager)' });
      // A rollback request is never verified.
      await store.deploys.transition(1, { from: ['executing'] }, { status: 'succeeded' }, by('deploy.succeeded'));
      await store.deploys.create({ ...newRequest(), kind: 'rollback' }, 'slack');
      await approve(store, 2);
      await store.deploys.transition(2, { from: ['approved'] }, { status: 'executing' }, by('rollback.started'));
      expect(await signal(2, 'alert C firing (Alertmanager)')).toBe(false);
      expect(await store.deploys.healthSignal(2)).toBeUndefined();
    });

    it('audits the changed fields before and after', async () => {
      await store.deploys.create(newRequest(), 'slack');
      await store.deploys.transition(
        1,
        { from: ['pending'] },
        { status: 'rejected', rejectedBy: 'U0LEAD1', reason: 'freeze' },
        by('deploy.rejected'),
      );
      const row = (await auditRows(t)).at(-1)!;
      expect(row.action).toBe('deploy.rejected');
      expect(JSON.parse(row.before!)).toEqual({ request: 'REQ-1', status: 'pending', rejectedBy: null, reason: null });
      expect(JSON.parse(row.after!)).toEqual({
        request: 'REQ-1',
        status: 'rejected',
        rejectedBy: 'U0LEAD1',
        reason: 'freeze',
      });
      expect((await store.audit.verify()).ok).toBe(true);
    });

    it('audits a field given again with equal content as unchanged, whatever the order of its keys', async () => {
      await store.deploys.create(newRequest(), 'slack');
      // jsonb (PostgreSQL) keeps no key order and SQLite keeps the first writer's: the same facts and
      // approvals given again in another order are no change on either.
      const facts = { sha: 'abc123', note: 'ok', checks: { passed: 4, total: 4, blocking: [], requiredFailed: [] } };
      const approvals = [{ by: 'U0LEAD1', at: 1, via: 'slack' as const, person: 'lee' }];
      await store.deploys.transition(1, { from: ['pending'] }, { facts, approvals }, by('deploy.planned'));
      const reordered = {
        checks: { requiredFailed: [], blocking: [], total: 4, passed: 4 },
        note: 'ok',
        sha: 'abc123',
      };
      await store.deploys.transition(
        1,
        { from: ['pending'] },
        { facts: reordered, approvals: [{ person: 'lee', via: 'slack', at: 1, by: 'U0LEAD1' }], status: 'approved' },
        by('deploy.approved'),
      );
      const row = (await auditRows(t)).at(-1)!;
      expect(JSON.parse(row.before!)).toEqual({ request: 'REQ-1', status: 'pending' });
      expect(JSON.parse(row.after!)).toEqual({ request: 'REQ-1', status: 'approved' });
    });

    if (dialect.name === 'postgres') {
      describe('two replicas on one database', () => {
        let other: StoreUnderTest;
        beforeEach(async () => {
          other = await t.replica!();
        });
        afterEach(() => other.close());

        it('approving two requests of one target at the same moment: exactly one takes the rollout lock', async () => {
          const services = Array.from({ length: 8 }, (_, i) => `svc${i}`);
          for (const service of services) {
            await store.deploys.create(newRequest(service), 'slack');
            await other.store.deploys.create(newRequest(service), 'slack');
          }
          const results = await Promise.allSettled(
            services.flatMap((_, i) => [approve(store, 2 * i + 1), approve(other.store, 2 * i + 2)]),
          );
          for (const [i, service] of services.entries()) {
            const pair = results.slice(2 * i, 2 * i + 2);
            const won = pair.filter((r) => r.status === 'fulfilled');
            const lost = pair.filter((r) => r.status === 'rejected');
            expect(won).toHaveLength(1);
            expect(lost).toHaveLength(1);
            const holder = await other.store.deploys.running(service, 'production');
            expect((won[0] as PromiseFulfilledResult<{ id: number }>).value.id).toBe(holder!.id);
            expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(FirelaneError);
            expect(String((lost[0] as PromiseRejectedResult).reason)).toContain(`by REQ-${holder!.id} right now`);
          }
          expect(await store.deploys.inProgress()).toHaveLength(services.length);
          expect((await auditRows(t)).filter((r) => r.action === 'deploy.approved')).toHaveLength(services.length);
          expect(await store.audit.verify()).toMatchObject({ ok: true, rows: 3 * services.length });
        });

        it('a second approval waits for the first replica’s open transaction, then names its request', async () => {
          await store.deploys.create(newRequest(), 'slack');
          await store.deploys.create(newRequest(), 'slack');
          let release!: () => void;
          const held = new Promise<void>((resolve) => (release = resolve));
          let approved!: () => void;
          const firstApproved = new Promise<void>((resolve) => (approved = resolve));
          const first = store.transaction(async () => {
            const request = await approve(store, 1);
            approved();
            await held;
            return request;
          });
          await firstApproved;
          let settled = false;
          const second = approve(other.store, 2).finally(() => (settled = true));
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(settled).toBe(false);
          release();
          expect((await first)?.status).toBe('approved');
          await expect(second).rejects.toThrow(/payments \(production\) is being deployed by REQ-1 right now/);
          expect((await other.store.deploys.get(2))?.status).toBe('pending');
          expect((await store.audit.verify()).ok).toBe(true);
        });

        it('the same guarded transition on two replicas at the same moment: exactly one applies it', async () => {
          for (let i = 0; i < 8; i++) await store.deploys.create(newRequest(`svc${i}`), 'slack');
          const ids = Array.from({ length: 8 }, (_, i) => i + 1);
          const results = await Promise.all(ids.flatMap((id) => [approve(store, id), approve(other.store, id)]));
          for (const [i, id] of ids.entries()) {
            const applied = results.slice(2 * i, 2 * i + 2).filter((r) => r !== undefined);
            expect(applied).toHaveLength(1);
            expect(applied[0]).toMatchObject({ id, status: 'approved', changeCount: 1 });
          }
          // The same with a changeCount guard: two approvals read at the same time, one written.
          const [a, b] = await Promise.all(
            ['A', 'B'].map((who, n) =>
              [store, other.store][n]!.deploys.transition(
                1,
                { from: ['approved'], changeCount: 1 },
                { approvals: [{ by: who, at: 1 }] },
                by('deploy.approval'),
              ),
            ),
          );
          expect([a, b].filter((r) => r !== undefined)).toHaveLength(1);
          expect((await store.deploys.get(1))?.approvals).toEqual((a ?? b)!.approvals);
          const actions = (await auditRows(t)).map((r) => r.action);
          expect(actions.filter((action) => action === 'deploy.approved')).toHaveLength(ids.length);
          expect(actions.filter((action) => action === 'deploy.approval')).toHaveLength(1);
          expect((await other.store.audit.verify()).ok).toBe(true);
        });
      });
    }
  });
}
