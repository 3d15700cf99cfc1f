// The incident records on each database: the same answers and the same audit entries on SQLite and
// PostgreSQL, SQLite's open list cache, and on PostgreSQL what replicas sharing the database need.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_FILE_CONFIG } from '../../../../src/config.js';
import { OPEN_STATUSES, type Incident, type IncidentStatus } from '../../../../src/domain/incident.js';
import { tickReminders } from '../../../../src/jobs/reminder-tick.js';
import type { IncidentStore, Store } from '../../../../src/ports/store.js';
import { dialects, type Dialect, type StoreUnderTest } from '../../../support/stores.js';
import { auditTrail, breakTheAuditLog, count, expectFailure, otherWriter } from '../../../support/store-checks.js';

const by = { actor: 'U0ALICE', platform: 'slack', action: 'incident.updated' };
const T0 = Date.parse('2026-11-21T10:00:00Z');
const MIN = 60_000;

const declareOn = (
  incidents: IncidentStore,
  title: string,
  overrides: { declaredAt?: number; nextReminderAt?: number } = {},
) =>
  incidents.create({
    title,
    description: null,
    severity: 'sev2',
    platform: 'slack',
    declaredBy: 'U0ALICE',
    declaredAt: T0,
    nextReminderAt: T0 + 15 * MIN,
    ...overrides,
  });

function rollBack(): never {
  throw new Error('rolled back');
}

for (const dialect of dialects()) {
  describe(`incident store on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await dialect.open();
    });
    afterEach(async () => {
      await t.close();
    });
    const declare = (title: string, overrides?: { declaredAt?: number; nextReminderAt?: number }) =>
      declareOn(t.store.incidents, title, overrides);
    const titles = async () =>
      (await t.store.incidents.listOpen(50)).map((incident) => `${incident.title} (${incident.commander ?? 'no IC'})`);
    /** SQLite hands out the very objects it kept; PostgreSQL reads them again, equal. */
    const same = (a: unknown, b: unknown) => (dialect.name === 'sqlite' ? expect(a).toBe(b) : expect(a).toEqual(b));

    describe('the open list (read often; on SQLite cached until an incident is written)', () => {
      it("sees this connection's writes at once: a declaration, an update, a resolution", async () => {
        await declare('Checkout errors');
        expect(await titles()).toEqual(['Checkout errors (no IC)']);
        const second = await declare('Search slow');
        expect(await titles()).toEqual(['Search slow (no IC)', 'Checkout errors (no IC)']);
        await t.store.incidents.update(second.id, { commander: 'U0BOB' }, by);
        expect(await titles()).toEqual(['Search slow (U0BOB)', 'Checkout errors (no IC)']);
        await t.store.incidents.update(
          second.id,
          { status: 'resolved', resolvedAt: Date.parse('2026-11-21T11:00:00Z') },
          by,
        );
        expect(await titles()).toEqual(['Checkout errors (no IC)']);
      });

      it("sees another process's commits (the CLI on the same file, another replica once it has heard of them)", async () => {
        await declare('Checkout errors');
        expect(await titles()).toEqual(['Checkout errors (no IC)']);
        const other = await otherWriter(t);
        try {
          await other.store.incidents.update(1, { commander: 'U0BOB' }, by);
          await declareOn(other.store.incidents, 'Search slow');
        } finally {
          await other.close();
        }
        await t.caughtUp?.();
        expect(await titles()).toEqual(['Search slow (no IC)', 'Checkout errors (U0BOB)']);
      });

      it('keeps the list through writes to other tables (jobs, timeline, audit)', async () => {
        const incident = await declare('Checkout errors');
        const first = await t.store.incidents.listOpen(50);
        await t.store.jobs.enqueue({
          kind: 'incident.open_room',
          key: 'open_room:1',
          payload: { incidentId: incident.id },
        });
        await t.store.incidents.addEvent({
          incidentId: incident.id,
          at: 1,
          actor: 'U0ALICE',
          platform: 'slack',
          kind: 'note',
          text: 'looking',
        });
        same(await t.store.incidents.listOpen(50), first);
        await t.store.incidents.update(incident.id, { commander: 'U0BOB' }, by);
        expect(await t.store.incidents.listOpen(50)).not.toBe(first);
        expect(await titles()).toEqual(['Checkout errors (U0BOB)']);
      });

      it('does not keep what a transaction saw when the transaction rolls back', async () => {
        const incident = await declare('Checkout errors');
        expect(await titles()).toEqual(['Checkout errors (no IC)']);
        await expect(
          t.store.transaction(async () => {
            await t.store.incidents.update(incident.id, { commander: 'U0BOB' }, by);
            expect(await titles()).toEqual(['Checkout errors (U0BOB)']);
            throw new Error('the rest of the command failed');
          }),
        ).rejects.toThrow('the rest of the command failed');
        expect(await titles()).toEqual(['Checkout errors (no IC)']);
      });

      it('hands out rows that cannot be changed (on SQLite: behind the cache’s back)', async () => {
        await declare('Checkout errors');
        const list = await t.store.incidents.listOpen(50);
        expect(() => {
          (list[0] as { title: string }).title = 'edited';
        }).toThrow(TypeError);
        expect(() => (list as Incident[]).pop()).toThrow(TypeError);
        expect(await titles()).toEqual(['Checkout errors (no IC)']);
      });

      it('patches in what this process wrote instead of reading the whole list again', async () => {
        await declare('Checkout errors');
        await declare('Search slow');
        const before = await t.store.incidents.listOpen(50);
        const third = await declare('Login broken');
        const after = await t.store.incidents.listOpen(50);
        expect(after.map((i) => i.title)).toEqual(['Login broken', 'Search slow', 'Checkout errors']);
        same(after[1], before[0]); // the rows nobody wrote
        same(after[2], before[1]);
        await t.store.incidents.update(third.id, { status: 'resolved', resolvedAt: T0 + 60 * MIN }, by);
        expect(await t.store.incidents.listOpen(50)).toEqual(before);
      });

      it('a full window that loses an incident shows the next older one', async () => {
        const [first, second, third] = [await declare('A'), await declare('B'), await declare('C')];
        expect((await t.store.incidents.listOpen(2)).map((i) => i.id)).toEqual([third.id, second.id]);
        await t.store.incidents.update(second.id, { status: 'resolved', resolvedAt: T0 + 60 * MIN }, by);
        expect((await t.store.incidents.listOpen(2)).map((i) => i.id)).toEqual([third.id, first.id]);
        await t.store.incidents.update(second.id, { status: 'identified', resolvedAt: null }, by); // reopened
        expect((await t.store.incidents.listOpen(2)).map((i) => i.id)).toEqual([third.id, second.id]);
      });

      it('a window filled up by new incidents, then losing one, is read again (it no longer holds them all)', async () => {
        const a = await declare('A');
        expect((await t.store.incidents.listOpen(2)).map((i) => i.id)).toEqual([a.id]); // every open incident
        const [b, c] = [await declare('B'), await declare('C')];
        expect((await t.store.incidents.listOpen(2)).map((i) => i.id)).toEqual([c.id, b.id]); // A is cut off now
        await t.store.incidents.update(c.id, { status: 'resolved', resolvedAt: 1 }, by);
        expect((await t.store.incidents.listOpen(2)).map((i) => i.id)).toEqual([b.id, a.id]);
      });

      it('after more writes than it remembers, the list is read again', async () => {
        const [a, b] = [await declare('A'), await declare('B')];
        expect(await t.store.incidents.listOpen(5)).toHaveLength(2);
        await t.store.incidents.update(a.id, { status: 'resolved', resolvedAt: 1 }, by);
        for (let i = 0; i < 300; i++) await t.store.incidents.update(b.id, { missedReminders: i + 1 }, by);
        expect((await t.store.incidents.listOpen(5)).map((i) => [i.id, i.missedReminders])).toEqual([[b.id, 300]]);
      });

      it('always equals a fresh read: random declarations, updates, resolutions, reopenings, rollbacks and other processes', async () => {
        await alwaysFresh(dialect, dialect.name === 'sqlite' ? 60 : 15);
      });
    });

    describe('reads and writes', () => {
      it('declares: the row, its first reminder, and incident.declared with the incident, from the given platform', async () => {
        const created = await t.store.incidents.create(
          {
            title: 'Payments down',
            description: 'card payments fail',
            severity: 'sev1',
            platform: 'console',
            declaredBy: 'alice',
            declaredAt: T0,
            nextReminderAt: T0 + 5 * MIN,
          },
          'cli',
        );
        expect(created).toEqual({
          id: 1,
          title: 'Payments down',
          description: 'card payments fail',
          severity: 'sev1',
          status: 'investigating',
          platform: 'console',
          declaredBy: 'alice',
          commander: null,
          commsLead: null,
          declaredAt: T0,
          lastUpdateAt: T0,
          resolvedAt: null,
          roomId: null,
          roomName: null,
          cardRef: null,
          playbookRef: null,
          rootCause: null,
          nextReminderAt: T0 + 5 * MIN,
          missedReminders: 0,
          snoozedUntil: null,
        });
        expect(await t.store.incidents.get(created.id)).toEqual(created);
        expect(await t.store.incidents.get(99)).toBeUndefined();
        await declare('Search slow'); // audited from its own platform when no other is given
        expect(await auditTrail(t)).toEqual([
          { action: 'incident.declared', actor: 'alice', platform: 'cli', incidentId: 1, before: null, after: created },
          expect.objectContaining({ action: 'incident.declared', platform: 'slack', incidentId: 2 }),
        ]);
      });

      it('updates: every patched column, null included; the changed fields audited before and after; nothing audited for no change', async () => {
        const one = await declare('Checkout errors');
        const other = await declare('Search slow');
        const at = T0 + 30 * MIN;
        const updated = await t.store.incidents.update(
          one.id,
          {
            commander: 'U0BOB',
            status: 'identified',
            nextReminderAt: at,
            missedReminders: 2,
            lastUpdateAt: at,
            commsLead: undefined,
          },
          by,
        );
        expect(updated).toEqual({
          ...one,
          commander: 'U0BOB',
          status: 'identified',
          nextReminderAt: at,
          missedReminders: 2,
          lastUpdateAt: at,
        });
        await t.store.incidents.update(one.id, { nextReminderAt: null, rootCause: 'a bad config' }, by);
        const fresh = async (id: number) =>
          (
            await t.query(
              'SELECT commander, status, next_reminder_at, missed_reminders, last_update_at, root_cause, title FROM incidents WHERE id = ?',
              [id],
            )
          )[0];
        expect(await fresh(one.id)).toEqual({
          commander: 'U0BOB',
          status: 'identified',
          next_reminder_at: null,
          missed_reminders: 2,
          last_update_at: at,
          root_cause: 'a bad config',
          title: 'Checkout errors',
        });
        expect(await fresh(other.id)).toMatchObject({
          commander: null,
          status: 'investigating',
          next_reminder_at: other.nextReminderAt,
          missed_reminders: 0,
        });
        expect(await t.store.incidents.get(one.id)).toMatchObject({
          commander: 'U0BOB',
          nextReminderAt: null,
          missedReminders: 2,
        });
        // The same values again, and a patch of nothing: the row as it is, no audit entry.
        expect(await t.store.incidents.update(one.id, { commander: 'U0BOB' }, by)).toMatchObject({
          commander: 'U0BOB',
        });
        expect(await t.store.incidents.update(one.id, { commsLead: undefined }, by)).toEqual(
          await t.store.incidents.get(one.id),
        );
        expect((await auditTrail(t)).slice(2)).toEqual([
          {
            ...by,
            incidentId: one.id,
            before: {
              commander: null,
              status: 'investigating',
              nextReminderAt: one.nextReminderAt,
              missedReminders: 0,
              lastUpdateAt: T0,
            },
            after: {
              commander: 'U0BOB',
              status: 'identified',
              nextReminderAt: at,
              missedReminders: 2,
              lastUpdateAt: at,
            },
          },
          {
            ...by,
            incidentId: one.id,
            before: { nextReminderAt: at, rootCause: null },
            after: { nextReminderAt: null, rootCause: 'a bad config' },
          },
        ]);
        await expect(t.store.incidents.update(99, { commander: 'U0BOB' }, by)).rejects.toThrow(
          'incident 99 does not exist',
        );
      });

      it('updates many at once: each patch applied (column sets differing, null included) and audited as one update would', async () => {
        const [a, b, c] = [await declare('A'), await declare('B'), await declare('C')];
        const tick = { actor: 'firelane', platform: 'slack', action: 'incident.reminder_due' };
        const at = T0 + 20 * MIN;
        expect(await titles()).toEqual(['C (no IC)', 'B (no IC)', 'A (no IC)']); // the open list kept, on both
        const after = await t.store.transaction(() =>
          t.store.incidents.updateMany([
            { id: a.id, patch: { nextReminderAt: at, missedReminders: 1 }, by: tick, current: a },
            { id: b.id, patch: { nextReminderAt: null, missedReminders: 3 }, by: tick, current: b },
            { id: c.id, patch: { commander: 'U0BOB', missedReminders: c.missedReminders }, by, current: c },
          ]),
        );
        expect(after).toEqual([
          { ...a, nextReminderAt: at, missedReminders: 1 },
          { ...b, nextReminderAt: null, missedReminders: 3 },
          { ...c, commander: 'U0BOB' },
        ]);
        for (const incident of after) expect(await t.store.incidents.get(incident.id)).toEqual(incident);
        expect(await titles()).toEqual(['C (U0BOB)', 'B (no IC)', 'A (no IC)']); // and dropped at the commit
        expect((await auditTrail(t)).slice(3)).toEqual([
          {
            ...tick,
            incidentId: a.id,
            before: { nextReminderAt: a.nextReminderAt, missedReminders: 0 },
            after: { nextReminderAt: at, missedReminders: 1 },
          },
          {
            ...tick,
            incidentId: b.id,
            before: { nextReminderAt: b.nextReminderAt, missedReminders: 0 },
            after: { nextReminderAt: null, missedReminders: 3 },
          },
          { ...by, incidentId: c.id, before: { commander: null }, after: { commander: 'U0BOB' } },
        ]);
        expect(await t.store.incidents.updateMany([])).toEqual([]);
      });

      it('finds incidents by room, lists them by status, newest first, and counts the open ones by severity', async () => {
        const [a, b, c] = [await declare('A'), await declare('B'), await declare('C')];
        await t.store.incidents.update(a.id, { roomId: 'C0A', roomName: 'inc-1-a' }, by);
        await t.store.incidents.update(b.id, { status: 'resolved', resolvedAt: T0 + MIN }, by);
        await t.store.incidents.update(c.id, { severity: 'sev1' }, by);
        expect(await t.store.incidents.byRoom('slack', 'C0A')).toMatchObject({ id: a.id, roomName: 'inc-1-a' });
        expect(await t.store.incidents.byRoom('teams', 'C0A')).toBeUndefined();
        expect((await t.store.incidents.list()).map((i) => i.id)).toEqual([c.id, b.id, a.id]);
        expect((await t.store.incidents.list({ limit: 2 })).map((i) => i.id)).toEqual([c.id, b.id]);
        expect((await t.store.incidents.list({ statuses: ['resolved'] })).map((i) => i.id)).toEqual([b.id]);
        expect((await t.store.incidents.list({ statuses: ['investigating', 'identified'] })).map((i) => i.id)).toEqual([
          c.id,
          a.id,
        ]);
        expect(await t.store.incidents.countOpenBySeverity()).toEqual({ sev1: 1, sev2: 1 });
      });

      it('lists the recently resolved, newest resolution first, from `since` on', async () => {
        const [a, b, c, d] = [await declare('A'), await declare('B'), await declare('C'), await declare('D')];
        for (const [incident, at] of [
          [a, T0 + 10 * MIN],
          [b, T0 + 30 * MIN],
          [c, T0 + 20 * MIN],
          [d, T0 + 30 * MIN],
        ] as const)
          await t.store.incidents.update(incident.id, { status: 'resolved', resolvedAt: at }, by);
        await t.store.incidents.update(c.id, { status: 'identified', resolvedAt: null }, by); // reopened
        expect((await t.store.incidents.recentlyResolved(T0 + 10 * MIN, 10)).map((i) => i.id)).toEqual([
          d.id,
          b.id,
          a.id,
        ]);
        expect((await t.store.incidents.recentlyResolved(T0 + 11 * MIN, 1)).map((i) => i.id)).toEqual([d.id]);
      });

      it('finds the due reminders, oldest due first, without the resolved and those not due yet', async () => {
        const [a, b, c, d] = [
          await declare('A', { nextReminderAt: T0 + 20 * MIN }),
          await declare('B', { nextReminderAt: T0 + 10 * MIN }),
          await declare('C', { nextReminderAt: T0 + 30 * MIN }),
          await declare('D', { nextReminderAt: T0 + 10 * MIN }),
        ];
        await t.store.incidents.update(b.id, { status: 'resolved', resolvedAt: T0, nextReminderAt: null }, by);
        expect((await t.store.incidents.dueReminders(T0 + 20 * MIN, 10)).map((i) => i.id)).toEqual([d.id, a.id]);
        expect((await t.store.incidents.dueReminders(T0 + 20 * MIN, 1)).map((i) => i.id)).toEqual([d.id]);
        expect(await t.store.incidents.dueReminders(T0, 10)).toEqual([]);
        expect((await t.store.incidents.dueReminders(T0 + 30 * MIN, 10)).map((i) => i.id)).toEqual([d.id, a.id, c.id]);
        // In the tick's transaction too.
        expect(
          await t.store.transaction(async () =>
            (await t.store.incidents.dueReminders(T0 + 20 * MIN, 10)).map((i) => i.id),
          ),
        ).toEqual([d.id, a.id]);
      });

      it('adds timeline events (data kept as given), once per dedupe key, each audited as timeline.<kind>', async () => {
        const incident = await declare('Checkout errors');
        const looking = {
          incidentId: incident.id,
          at: T0 + 2 * MIN,
          actor: 'U0ALICE',
          platform: 'slack',
          kind: 'note',
          text: 'looking',
        };
        const note = await t.store.incidents.addEvent(looking);
        expect(note).toEqual({ id: 1, ...looking, data: null });
        const data = { zebra: 1, alpha: { nested: [1, 'two', null] }, dropped: undefined };
        const escalation = {
          incidentId: incident.id,
          at: T0 + MIN,
          actor: 'firelane',
          platform: 'slack',
          kind: 'escalated',
          text: 'Escalated',
          data,
          dedupeKey: 'escalate:1',
        };
        const once = await t.store.incidents.addEventOnce(escalation);
        expect(once).toEqual({
          ...escalation,
          id: 2,
          dedupeKey: undefined,
          data: { zebra: 1, alpha: { nested: [1, 'two', null] } },
        });
        expect(Object.keys(once!.data!)).toEqual(['zebra', 'alpha']);
        expect(await t.store.incidents.addEventOnce({ ...escalation, text: 'again' })).toBeUndefined();
        expect(await t.store.incidents.timeline(incident.id)).toEqual([once, note]); // by time
        expect(await t.store.incidents.event(note.id)).toEqual(note);
        expect(await t.store.incidents.event(99)).toBeUndefined();
        expect(await t.store.incidents.timeline(99)).toEqual([]);
        const trail = await auditTrail(t);
        expect(trail.slice(1)).toEqual([
          {
            action: 'timeline.note',
            actor: 'U0ALICE',
            platform: 'slack',
            incidentId: incident.id,
            before: null,
            after: { eventId: 1, text: 'looking' },
          },
          {
            action: 'timeline.escalated',
            actor: 'firelane',
            platform: 'slack',
            incidentId: incident.id,
            before: null,
            after: { eventId: 2, text: 'Escalated', data: { zebra: 1, alpha: { nested: [1, 'two', null] } } },
          },
        ]);
        // The audit entry's JSON as the caller wrote it, keys in their order (jsonb keeps none).
        const [raw] = await t.query<{ after: string }>('SELECT after FROM audit_log WHERE action = ?', [
          'timeline.escalated',
        ]);
        expect(raw!.after).toBe(
          '{"eventId":2,"text":"Escalated","data":{"zebra":1,"alpha":{"nested":[1,"two",null]}}}',
        );
      });

      it('adds action items in order, audited once for the batch; none for an empty list', async () => {
        const incident = await declare('Checkout errors');
        const lead = { actor: 'U0BOB', platform: 'slack' };
        await t.store.incidents.addActionItems(incident.id, [], lead, T0);
        await t.store.incidents.addActionItems(incident.id, ['Add a canary', 'Alert on 5xx'], lead, T0 + MIN);
        await t.store.incidents.addActionItems(incident.id, ['Write the runbook'], lead, T0 + 2 * MIN);
        expect(await t.store.incidents.actionItems(incident.id)).toEqual([
          { id: 1, text: 'Add a canary', createdBy: 'U0BOB', createdAt: T0 + MIN },
          { id: 2, text: 'Alert on 5xx', createdBy: 'U0BOB', createdAt: T0 + MIN },
          { id: 3, text: 'Write the runbook', createdBy: 'U0BOB', createdAt: T0 + 2 * MIN },
        ]);
        expect(await t.store.incidents.actionItems(99)).toEqual([]);
        expect((await auditTrail(t)).slice(1)).toEqual([
          {
            ...lead,
            action: 'incident.action_items_added',
            incidentId: incident.id,
            before: null,
            after: { actionItems: ['Add a canary', 'Alert on 5xx'] },
          },
          {
            ...lead,
            action: 'incident.action_items_added',
            incidentId: incident.id,
            before: null,
            after: { actionItems: ['Write the runbook'] },
          },
        ]);
      });

      it('a write inside a transaction that rolls back leaves nothing, its audit entry included', async () => {
        const incident = await declare('Checkout errors');
        const escalation = {
          incidentId: incident.id,
          at: T0,
          actor: 'firelane',
          platform: 'slack',
          kind: 'escalated',
          text: 'Escalated',
          dedupeKey: 'escalate:1',
        };
        await expect(
          t.store.transaction(async () => {
            await t.store.incidents.update(incident.id, { commander: 'U0BOB' }, by);
            await t.store.incidents.addEventOnce(escalation);
            rollBack();
          }),
        ).rejects.toThrow('rolled back');
        expect((await t.store.incidents.get(incident.id))!.commander).toBeNull();
        expect(await count(t, 'timeline_events')).toBe(0);
        expect(await count(t, 'audit_log')).toBe(1);
        // The dedupe key is free again.
        expect(await t.store.incidents.addEventOnce(escalation)).toMatchObject({ text: 'Escalated' });
      });
    });

    it('writes are atomic on their own: when the audit entry fails, the write before it rolls back', async () => {
      const incident = await declare('Payments down');
      await breakTheAuditLog(t);
      await expectFailure(declare('Search slow'), 'disk I/O error');
      await expectFailure(t.store.incidents.update(incident.id, { commander: 'U0BOB' }, by), 'disk I/O error');
      const event = {
        incidentId: incident.id,
        at: T0,
        actor: 'U0ALICE',
        platform: 'slack',
        kind: 'note',
        text: 'looking',
      };
      await expectFailure(t.store.incidents.addEvent(event), 'disk I/O error');
      await expectFailure(t.store.incidents.addEventOnce({ ...event, dedupeKey: 'note:1' }), 'disk I/O error');
      await expectFailure(
        t.store.incidents.addActionItems(incident.id, ['Add a canary'], { actor: 'U0ALICE', platform: 'slack' }, T0),
        'disk I/O error',
      );
      expect(await count(t, 'incidents')).toBe(1);
      expect((await t.store.incidents.get(incident.id))!.commander).toBeNull();
      expect((await t.store.incidents.listOpen(5)).map((i) => i.commander)).toEqual([null]);
      expect(await count(t, 'timeline_events')).toBe(0);
      expect(await count(t, 'action_items')).toBe(0);
    });

    if (dialect.name === 'postgres')
      describe('replicas sharing the database', () => {
        const replicas: Array<{ store: Store; close(): Promise<void> }> = [];
        const replica = async () => {
          const r = await otherWriter(t);
          replicas.push(r);
          return r.store;
        };
        afterEach(async () => {
          for (const r of replicas.splice(0)) await r.close();
        });

        it('two reminder ticks at once never take the same incident (FOR UPDATE SKIP LOCKED)', async () => {
          const ids: number[] = [];
          for (let i = 0; i < 20; i++) ids.push((await declare(`I${i}`, { nextReminderAt: T0 + i })).id);
          const [a, b] = [await replica(), await replica()];
          const now = T0 + 15 * MIN;
          // A takes ten and holds them until B has taken its own: B must pass over A's, not wait for them.
          let aTook!: () => void;
          const aHolds = new Promise<void>((resolve) => (aTook = resolve));
          let bTook!: () => void;
          const bDone = new Promise<void>((resolve) => (bTook = resolve));
          const tick = (store: Store, before: Promise<void> | undefined, took: () => void, wait?: Promise<void>) =>
            store.transaction(async () => {
              await before;
              const due = await store.incidents.dueReminders(now, 10);
              took();
              await wait;
              for (const incident of due)
                await store.incidents.update(
                  incident.id,
                  { nextReminderAt: now + 15 * MIN, missedReminders: incident.missedReminders + 1 },
                  { actor: 'firelane', platform: 'slack', action: 'incident.reminder_due' },
                  incident,
                );
              return due.map((i) => i.id);
            });
          const [takenByA, takenByB] = await Promise.all([tick(a, undefined, aTook, bDone), tick(b, aHolds, bTook)]);
          expect(takenByA).toEqual(ids.slice(0, 10));
          expect(takenByB).toEqual(ids.slice(10));
          expect(
            (await t.store.incidents.list()).every(
              (i) => i.missedReminders === 1 && i.nextReminderAt === now + 15 * MIN,
            ),
          ).toBe(true);
          expect(await count(t, 'audit_log', 'action = ?', ['incident.reminder_due'])).toBe(20);
        });

        it('reminder ticks racing on two replicas send each due reminder once', async () => {
          const incidents = 30;
          for (let i = 0; i < incidents; i++) await declare(`I${i}`, { nextReminderAt: T0 + i * 1000 });
          const stores = [await replica(), await replica()];
          t.clock.set(T0 + 20 * MIN);
          const results = await Promise.all(
            Array.from({ length: 6 }, (_, i) =>
              tickReminders({ store: stores[i % 2]!, config: DEFAULT_FILE_CONFIG, clock: t.clock }),
            ),
          );
          expect(results.reduce((sum, r) => sum + r.reminders, 0)).toBe(incidents);
          expect(await count(t, 'jobs', 'kind = ?', ['incident.remind'])).toBe(incidents);
          expect((await t.store.incidents.list()).map((i) => i.missedReminders)).toEqual(Array(incidents).fill(1));
          expect(await t.store.audit.verify()).toMatchObject({ ok: true });
        });

        it('a read inside a transaction holds the incident: two replicas checking "no commander yet" then writing assign once', async () => {
          const incident = await declare('Checkout errors');
          const [a, b] = [await replica(), await replica()];
          // Each reads, waits a moment (another replica's check could slip in here), then writes only if still unassigned.
          const take = (store: Store, user: string) =>
            store.transaction(async () => {
              const seen = (await store.incidents.get(incident.id))!;
              await new Promise((resolve) => setTimeout(resolve, 30));
              if (seen.commander) return false;
              await store.incidents.update(incident.id, { commander: user }, by);
              return true;
            });
          expect((await Promise.all([take(a, 'U0BOB'), take(b, 'U0CAROL')])).filter(Boolean)).toHaveLength(1);
          expect(await count(t, 'audit_log', 'action = ?', [by.action])).toBe(1);
        });

        it("updates racing on one incident: each audit entry's before is the row the update replaced", async () => {
          const incident = await declare('Checkout errors');
          const [a, b] = [await replica(), await replica()];
          await Promise.all(
            Array.from({ length: 40 }, (_, i) =>
              (i % 2 ? a : b).incidents.update(incident.id, { commander: `U${i}`, missedReminders: i + 1 }, by),
            ),
          );
          const updates = (await auditTrail(t)).filter((e) => e.action === by.action);
          expect(updates).toHaveLength(40);
          let previous: unknown = { commander: null, missedReminders: 0 };
          for (const entry of updates) {
            expect(entry.before).toEqual(previous);
            previous = entry.after;
          }
          expect(await t.store.incidents.get(incident.id)).toMatchObject(previous as object);
        });

        it('the same timeline event added at once on two replicas lands once', async () => {
          const incident = await declare('Checkout errors');
          const [a, b] = [await replica(), await replica()];
          const added = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 ? a : b).incidents.addEventOnce({
                incidentId: incident.id,
                at: T0,
                actor: 'firelane',
                platform: 'slack',
                kind: 'escalated',
                text: `Escalated by ${i}`,
                dedupeKey: 'escalate:1:1',
              }),
            ),
          );
          expect(added.filter(Boolean)).toHaveLength(1);
          expect(await t.store.incidents.timeline(incident.id)).toEqual([added.find(Boolean)]);
          expect(await count(t, 'audit_log', 'action = ?', ['timeline.escalated'])).toBe(1);
        });

        it('a declaration from each replica at once: distinct ids, each in the open list', async () => {
          const [a, b] = [await replica(), await replica()];
          const created = await Promise.all(
            Array.from({ length: 20 }, (_, i) => declareOn((i % 2 ? a : b).incidents, `I${i}`)),
          );
          expect(new Set(created.map((i) => i.id)).size).toBe(20);
          expect((await a.incidents.listOpen(50)).map((i) => i.id)).toEqual(
            created.map((i) => i.id).sort((x, y) => y - x),
          );
          expect(await t.store.audit.verify()).toMatchObject({ ok: true, rows: 20 });
        });
      });
  });
}

/**
 * listOpen against a fresh read (list by status) after random operations, on a database of its own
 * per run: with the cache on SQLite, the plain query on PostgreSQL.
 */
async function alwaysFresh(dialect: Dialect, numRuns: number): Promise<void> {
  const statuses: IncidentStatus[] = [...OPEN_STATUSES, 'resolved'];
  const op = fc.oneof(
    fc.constant({ kind: 'declare' as const }),
    fc.record({
      kind: fc.constant('status' as const),
      pick: fc.nat(),
      status: fc.constantFrom(...statuses),
      rollback: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('commander' as const),
      pick: fc.nat(),
      who: fc.constantFrom('U0BOB', 'U0CAROL', null),
    }),
    fc.record({ kind: fc.constant('other' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('list' as const), limit: fc.constantFrom(1, 2, 3, 5, 51) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
      const own = await dialect.open();
      let other: Awaited<ReturnType<typeof otherWriter>> | undefined;
      try {
        const s = own.store;
        const fresh = (limit: number) => s.incidents.list({ statuses: [...OPEN_STATUSES], limit });
        const ids: number[] = [];
        for (const o of ops) {
          const id = ids.length ? ids[('pick' in o ? o.pick : 0) % ids.length]! : undefined;
          if (o.kind === 'declare') {
            ids.push((await declareOn(s.incidents, `Incident ${ids.length}`, { declaredAt: 1, nextReminderAt: 2 })).id);
          } else if (o.kind === 'list') {
            expect(await s.incidents.listOpen(o.limit)).toEqual(await fresh(o.limit));
          } else if (id === undefined) {
            continue;
          } else if (o.kind === 'status') {
            const write = () =>
              s.incidents.update(id, { status: o.status, resolvedAt: o.status === 'resolved' ? 1 : null }, by);
            if (!o.rollback) await write();
            else
              await expect(
                s.transaction(async () => {
                  await write();
                  await s.incidents.listOpen(3);
                  rollBack();
                }),
              ).rejects.toThrow('rolled back');
          } else if (o.kind === 'commander') {
            await s.incidents.update(id, { commander: o.who }, by);
          } else {
            other ??= await otherWriter(own);
            await other.store.incidents.update(id, { status: 'resolved', resolvedAt: 2 }, by);
            await own.caughtUp?.(); // another replica's change reaches this one's copy by notification
          }
        }
        for (const limit of [1, 2, 3, 5, 51]) expect(await s.incidents.listOpen(limit)).toEqual(await fresh(limit));
      } finally {
        await other?.close();
        await own.close();
      }
    }),
    { numRuns },
  );
}
