// Incident checklists on each database: the same answers and audit entries on SQLite and
// PostgreSQL; on PostgreSQL, two replicas ticking one item at once record it once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../../../src/domain/incident.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';
import { auditTrail, breakTheAuditLog, count, expectFailure } from '../../../support/store-checks.js';

const T0 = Date.parse('2026-11-21T10:00:00Z');
const lead = { actor: 'U0BOB', platform: 'slack' };
const declaration = {
  title: 'Payments down',
  description: null,
  severity: 'sev1',
  platform: 'slack',
  declaredBy: 'U0ALICE',
  declaredAt: T0,
  nextReminderAt: T0 + 300_000,
} as const;

for (const dialect of dialects()) {
  describe(`checklists on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    let incident: Incident;
    beforeEach(async () => {
      t = await dialect.open();
      incident = await t.store.incidents.create(declaration);
    });
    afterEach(async () => {
      await t.close();
    });

    it('creates the checklist in order, audited as incident.playbook_created; an empty one is nothing', async () => {
      await t.store.playbooks.create(incident.id, [], lead);
      await t.store.playbooks.create(incident.id, ['Page the database owner', 'Freeze deploys'], lead);
      expect(await t.store.playbooks.items(incident.id)).toEqual([
        { position: 1, text: 'Page the database owner', doneBy: null, doneAt: null },
        { position: 2, text: 'Freeze deploys', doneBy: null, doneAt: null },
      ]);
      expect(await t.store.playbooks.items(99)).toEqual([]);
      expect((await auditTrail(t)).slice(1)).toEqual([
        {
          ...lead,
          action: 'incident.playbook_created',
          incidentId: incident.id,
          before: null,
          after: { items: ['Page the database owner', 'Freeze deploys'] },
        },
      ]);
    });

    it('ticks an item once: changed the first time, the item as it was done after; undefined for no such item', async () => {
      await t.store.playbooks.create(incident.id, ['Page the database owner', 'Freeze deploys'], lead);
      const done = { position: 2, text: 'Freeze deploys', doneBy: 'U0BOB', doneAt: T0 + 60_000 };
      expect(await t.store.playbooks.tick(incident.id, 2, lead, T0 + 60_000)).toEqual({ item: done, changed: true });
      expect(
        await t.store.playbooks.tick(incident.id, 2, { actor: 'U0CAROL', platform: 'teams' }, T0 + 120_000),
      ).toEqual({ item: done, changed: false });
      expect(await t.store.playbooks.tick(incident.id, 3, lead, T0)).toBeUndefined();
      expect(await t.store.playbooks.tick(99, 1, lead, T0)).toBeUndefined();
      expect((await t.store.playbooks.items(incident.id)).map((i) => i.doneBy)).toEqual([null, 'U0BOB']);
      expect((await auditTrail(t)).slice(2)).toEqual([
        {
          ...lead,
          action: 'incident.playbook_item_done',
          incidentId: incident.id,
          before: { position: 2, text: 'Freeze deploys', doneBy: null, doneAt: null },
          after: done,
        },
      ]);
    });

    it('writes are atomic on their own: when the audit entry fails, nothing is created or ticked', async () => {
      const other = await t.store.incidents.create({ ...declaration, title: 'Search slow' });
      await t.store.playbooks.create(incident.id, ['Page the database owner'], lead);
      await breakTheAuditLog(t);
      await expectFailure(t.store.playbooks.tick(incident.id, 1, lead, T0), 'disk I/O error');
      expect(await t.store.playbooks.items(incident.id)).toEqual([
        expect.objectContaining({ position: 1, doneAt: null }),
      ]);
      await expectFailure(t.store.playbooks.create(other.id, ['Check the replica lag'], lead), 'disk I/O error');
      expect(await count(t, 'playbook_items')).toBe(1);
    });

    if (dialect.name === 'postgres')
      it('two replicas ticking the same item at once: one changes it, the other gets it as done', async () => {
        await t.store.playbooks.create(incident.id, ['Page the database owner'], lead);
        const [a, b] = [await t.replica!(), await t.replica!()];
        try {
          const ticks = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 ? a : b).store.playbooks.tick(incident.id, 1, { actor: `U${i}`, platform: 'slack' }, T0 + i),
            ),
          );
          const winners = ticks.filter((tick) => tick!.changed);
          expect(winners).toHaveLength(1);
          expect(ticks.map((tick) => tick!.item)).toEqual(Array(10).fill(winners[0]!.item));
          expect(await count(t, 'audit_log', 'action = ?', ['incident.playbook_item_done'])).toBe(1);
        } finally {
          await a.close();
          await b.close();
        }
      });
  });
}
