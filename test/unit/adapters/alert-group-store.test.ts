// Alert groups on both databases: a group is found by (source, receiver, groupKey), keeps its alerts
// as JSON, is tied to an incident, and is found by incident and by service within a window.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewAlertGroup } from '../../../src/domain/alert-group.js';
import { dialects, type StoreUnderTest } from '../../support/stores.js';

const group = (over: Partial<NewAlertGroup> = {}): NewAlertGroup => ({
  source: 'alertmanager',
  receiver: 'firelane',
  groupKey: '{}/{severity="critical"}:{alertname="ProbeFailure"}',
  service: 'payments',
  incidentId: null,
  declared: false,
  status: 'firing',
  alerts: { '1a30': { status: 'firing', startsAt: '2026-12-07T13:08:45Z', endsAt: '0001-01-01T00:00:00Z' } },
  cardRef: null,
  firstDeliveryAt: 1_000,
  lastDeliveryAt: 1_000,
  ...over,
});

for (const dialect of dialects()) {
  describe(`alert groups on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await dialect.open();
    });
    afterEach(async () => {
      await t.close();
    });

    const declare = () =>
      t.store.incidents.create({
        title: 'Payments down',
        description: null,
        severity: 'sev1',
        platform: 'slack',
        declaredBy: 'alertmanager',
        declaredAt: 1_000,
        nextReminderAt: 2_000,
      });

    it('finds a group by source, receiver and a long group key, and keeps its alerts and flags', async () => {
      const { alertGroups } = t.store;
      const longKey = `{}/{service="${'x'.repeat(5000)}"}:{alertname="A"}`;
      const created = await alertGroups.create(group({ groupKey: longKey }));
      expect(created.id).toBeGreaterThan(0);
      const ref = { source: 'alertmanager', receiver: 'firelane', groupKey: longKey };
      expect(await alertGroups.get(ref)).toEqual(created);
      expect(await alertGroups.get({ ...ref, receiver: 'other' })).toBeUndefined();
      expect(await alertGroups.get({ ...ref, source: 'grafana' })).toBeUndefined();
      await expect(alertGroups.create(group({ groupKey: longKey }))).rejects.toThrow();

      const incident = await declare();
      const updated = await alertGroups.update(created.id, {
        incidentId: incident.id,
        declared: true,
        status: 'resolved',
        alerts: {
          '1a30': { status: 'resolved', startsAt: 'a', endsAt: 'b' },
          '77aa': { status: 'firing', startsAt: 'c', endsAt: '' },
        },
        cardRef: '1712.0001',
        lastDeliveryAt: 5_000,
      });
      expect(updated).toMatchObject({
        incidentId: incident.id,
        declared: true,
        status: 'resolved',
        cardRef: '1712.0001',
      });
      expect(await alertGroups.byId(created.id)).toEqual(updated);
      expect((await alertGroups.byId(created.id))!.alerts['77aa']).toEqual({
        status: 'firing',
        startsAt: 'c',
        endsAt: '',
      });
      expect(await alertGroups.byId(9999)).toBeUndefined();
      expect(await alertGroups.update(9999, { status: 'firing' })).toBeUndefined();
    });

    it('lists the groups of an incident, and the tied groups of a service delivered since a time', async () => {
      const { alertGroups } = t.store;
      const one = await declare();
      const two = await declare();
      const a = await alertGroups.create(group({ groupKey: 'a', incidentId: one.id, lastDeliveryAt: 10_000 }));
      const b = await alertGroups.create(group({ groupKey: 'b', incidentId: one.id, lastDeliveryAt: 20_000 }));
      await alertGroups.create(group({ groupKey: 'c', incidentId: two.id, service: 'search', lastDeliveryAt: 30_000 }));
      await alertGroups.create(group({ groupKey: 'd', incidentId: null, lastDeliveryAt: 40_000 }));

      expect((await alertGroups.ofIncident(one.id)).map((g) => g.id)).toEqual([a.id, b.id]);
      expect(await alertGroups.ofIncident(999)).toEqual([]);
      expect((await alertGroups.tiedForService('payments', 0, 10)).map((g) => g.groupKey)).toEqual(['b', 'a']);
      expect((await alertGroups.tiedForService('payments', 15_000, 10)).map((g) => g.groupKey)).toEqual(['b']);
      expect((await alertGroups.tiedForService('payments', 0, 1)).map((g) => g.groupKey)).toEqual(['b']);
      expect((await alertGroups.tiedForService('search', 0, 10)).map((g) => g.groupKey)).toEqual(['c']);
      expect(await alertGroups.tiedForService('payments', 20_001, 10)).toEqual([]);
    });

    it('rolls back with the transaction it was written in', async () => {
      await expect(
        t.store.transaction(async () => {
          await t.store.alertGroups.create(group());
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await t.store.alertGroups.get(group())).toBeUndefined();
    });
  });
}
