// The hotfix store on each database: one live hotfix per branch of a repo, guarded status changes,
// audit rows; on PostgreSQL also across replicas sharing the database.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FirelaneError } from '../../../../src/errors.js';
import { createManualClock } from '../../../../src/ports/clock.js';
import type { NewHotfix } from '../../../../src/ports/store.js';
import { auditRows, dialects, type StoreUnderTest } from '../../../support/stores.js';

const by = (action: string) => ({ actor: 'U0LEAD1', platform: 'slack', action });

for (const dialect of dialects()) {
  describe(`hotfix store on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    let store: StoreUnderTest['store'];
    let incidentId: number;
    const newHotfix = (branch = 'hotfix/inc-1-timeout', repo = 'acme/payments'): NewHotfix => ({
      service: 'payments',
      repo,
      branch,
      baseRef: 'v2.1.0',
      incidentId,
      requester: 'U0ALICE',
      platform: 'slack',
      roomId: 'C1',
      description: 'timeout',
      createdAt: t.clock.now(),
    });

    beforeEach(async () => {
      t = await dialect.open({ clock: createManualClock(Date.parse('2026-03-01T10:00:00Z')) });
      store = t.store;
      const incident = await store.incidents.create({
        title: 'Payments down',
        description: null,
        severity: 'sev1',
        platform: 'slack',
        declaredBy: 'U0ALICE',
        declaredAt: t.clock.now(),
        nextReminderAt: t.clock.now() + 900_000,
      });
      incidentId = incident.id;
    });
    afterEach(() => t.close());

    it('creates HF rows creating, and audits the request', async () => {
      const created = await store.hotfixes.create(newHotfix(), 'slack');
      expect(created).toMatchObject({
        id: 1,
        status: 'creating',
        incidentId,
        baseSha: null,
        prNumber: null,
        createdAt: t.clock.now(),
        updatedAt: t.clock.now(),
      });
      expect(await store.hotfixes.get(1)).toEqual(created);
      expect(await store.hotfixes.get(2)).toBeUndefined();
      const row = (await auditRows(t)).at(-1)!;
      expect(row).toMatchObject({ action: 'hotfix.requested', actor: 'U0ALICE', platform: 'slack', incidentId });
      expect(JSON.parse(row.after!)).toEqual({ hotfix: 'HF-1', ...created });
    });

    it('one live hotfix per branch of a repo: a second is a conflict naming the first; a failed one frees the branch', async () => {
      await store.hotfixes.create(newHotfix(), 'slack');
      await expect(store.hotfixes.create(newHotfix(), 'slack')).rejects.toThrow(
        'hotfix/inc-1-timeout is already a hotfix in acme/payments (HF-1, creating).',
      );
      // The same branch in another repo is another hotfix.
      expect((await store.hotfixes.create(newHotfix(undefined, 'acme/search'), 'slack')).id).toBe(2);
      await store.hotfixes.update(1, ['creating'], { status: 'failed', reason: 'no such ref' }, by('hotfix.failed'));
      expect(await store.hotfixes.byBranch('acme/payments', 'hotfix/inc-1-timeout')).toBeUndefined();
      const again = await store.hotfixes.create(newHotfix(), 'slack');
      expect(await store.hotfixes.byBranch('acme/payments', 'hotfix/inc-1-timeout')).toEqual(again);
      expect(Number((await t.query<{ n: unknown }>('SELECT count(*) AS n FROM hotfixes'))[0]!.n)).toBe(3);
    });

    it('the branch conflict leaves the caller’s transaction usable: its other writes commit', async () => {
      await store.hotfixes.create(newHotfix(), 'slack');
      await store.transaction(async () => {
        await expect(store.hotfixes.create(newHotfix(), 'slack')).rejects.toBeInstanceOf(FirelaneError);
        await store.hotfixes.create(newHotfix('hotfix/inc-1-retry'), 'slack');
      });
      expect((await store.hotfixes.live()).map((h) => h.branch)).toEqual([
        'hotfix/inc-1-retry',
        'hotfix/inc-1-timeout',
      ]);
      expect((await auditRows(t)).filter((r) => r.action === 'hotfix.requested')).toHaveLength(2);
      expect((await store.audit.verify()).ok).toBe(true);
    });

    it('an update applies only from the guarded statuses, and audits the patched fields before and after', async () => {
      await store.hotfixes.create(newHotfix(), 'slack');
      t.clock.advance(1000);
      const opened = await store.hotfixes.update(
        1,
        ['creating'],
        { status: 'open', baseSha: 'abc123', prNumber: 42, prUrl: 'https://github.com/acme/payments/pull/42' },
        by('hotfix.opened'),
      );
      expect(opened).toMatchObject({ status: 'open', baseSha: 'abc123', prNumber: 42, updatedAt: t.clock.now() });
      expect(await store.hotfixes.update(1, ['creating'], { status: 'failed' }, by('hotfix.failed'))).toBeUndefined();
      expect(await store.hotfixes.update(7, ['creating'], { status: 'failed' }, by('hotfix.failed'))).toBeUndefined();
      expect(await store.hotfixes.get(1)).toEqual(opened);
      const row = (await auditRows(t)).at(-1)!;
      expect(row).toMatchObject({ action: 'hotfix.opened', actor: 'U0LEAD1', incidentId });
      expect(JSON.parse(row.before!)).toEqual({
        hotfix: 'HF-1',
        status: 'creating',
        baseSha: null,
        prNumber: null,
        prUrl: null,
      });
      expect(JSON.parse(row.after!)).toEqual({
        hotfix: 'HF-1',
        status: 'open',
        baseSha: 'abc123',
        prNumber: 42,
        prUrl: 'https://github.com/acme/payments/pull/42',
      });
      expect((await store.audit.verify()).ok).toBe(true);
    });

    it('lists live hotfixes newest first, and an incident’s hotfixes that did not fail oldest first', async () => {
      await store.hotfixes.create(newHotfix('hotfix/a'), 'slack');
      await store.hotfixes.create(newHotfix('hotfix/b'), 'slack');
      await store.hotfixes.create(newHotfix('hotfix/c'), 'slack');
      await store.hotfixes.create({ ...newHotfix('hotfix/d'), incidentId: null }, 'slack');
      await store.hotfixes.update(2, ['creating'], { status: 'failed' }, by('hotfix.failed'));
      await store.hotfixes.update(3, ['creating'], { status: 'finished' }, by('hotfix.finished'));
      expect((await store.hotfixes.live()).map((h) => h.id)).toEqual([4, 1]);
      expect((await store.hotfixes.live(incidentId)).map((h) => h.id)).toEqual([1]);
      expect((await store.hotfixes.ofIncident(incidentId)).map((h) => h.id)).toEqual([1, 3]);
      expect(await store.hotfixes.ofIncident(incidentId + 1)).toEqual([]);
    });

    if (dialect.name === 'postgres') {
      describe('two replicas on one database', () => {
        let other: StoreUnderTest;
        beforeEach(async () => {
          other = await t.replica!();
        });
        afterEach(() => other.close());

        it('creating the same branch on two replicas at the same moment: exactly one hotfix, the other a conflict', async () => {
          const branches = Array.from({ length: 8 }, (_, i) => `hotfix/b${i}`);
          const results = await Promise.allSettled(
            branches.flatMap((branch) => [
              store.hotfixes.create(newHotfix(branch), 'slack'),
              other.store.hotfixes.create(newHotfix(branch), 'slack'),
            ]),
          );
          for (const [i, branch] of branches.entries()) {
            const pair = results.slice(2 * i, 2 * i + 2);
            const made = pair.filter((r) => r.status === 'fulfilled');
            const refused = pair.filter((r) => r.status === 'rejected');
            expect(made).toHaveLength(1);
            expect(refused).toHaveLength(1);
            const holder = await store.hotfixes.byBranch('acme/payments', branch);
            expect(String((refused[0] as PromiseRejectedResult).reason)).toContain(
              `${branch} is already a hotfix in acme/payments (HF-${holder!.id}, creating)`,
            );
          }
          expect(await other.store.hotfixes.live()).toHaveLength(branches.length);
          expect(await store.audit.verify()).toMatchObject({ ok: true, rows: 1 + branches.length });
        });

        it('the same guarded update on two replicas at the same moment: exactly one applies it', async () => {
          for (let i = 0; i < 8; i++) await store.hotfixes.create(newHotfix(`hotfix/b${i}`), 'slack');
          const ids = Array.from({ length: 8 }, (_, i) => i + 1);
          const results = await Promise.all(
            ids.flatMap((id) =>
              [store, other.store].map((s, n) =>
                s.hotfixes.update(id, ['creating'], { status: 'open', baseSha: `sha${n}` }, by('hotfix.opened')),
              ),
            ),
          );
          for (const [i, id] of ids.entries()) {
            const applied = results.slice(2 * i, 2 * i + 2).filter((r) => r !== undefined);
            expect(applied).toHaveLength(1);
            expect(await store.hotfixes.get(id)).toEqual(applied[0]);
          }
          const opened = (await auditRows(t)).filter((r) => r.action === 'hotfix.opened');
          expect(opened).toHaveLength(ids.length);
          for (const row of opened)
            expect(JSON.parse(row.before!)).toMatchObject({ status: 'creating', baseSha: null });
          expect((await other.store.audit.verify()).ok).toBe(true);
        });
      });
    }
  });
}
