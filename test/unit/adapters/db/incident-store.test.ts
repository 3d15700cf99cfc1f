import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore } from '../../../../src/adapters/db/sqlite-store.js';
import { createManualClock } from '../../../../src/ports/clock.js';
import { OPEN_STATUSES, type IncidentStatus } from '../../../../src/domain/incident.js';

let dir: string;
let handle: DbHandle;
let store: SqliteStore;
const by = { actor: 'U0ALICE', platform: 'slack', action: 'incident.updated' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'firelane-incidentstore-'));
  handle = openDatabase(join(dir, 'firelane.db'));
  store = createSqliteStore(handle, createManualClock());
});
afterEach(() => {
  handle.close();
  rmSync(dir, { recursive: true, force: true });
});

const declare = (title: string) =>
  store.incidents.create({
    title,
    description: null,
    severity: 'sev2',
    platform: 'slack',
    declaredBy: 'U0ALICE',
    declaredAt: Date.parse('2026-11-21T10:00:00Z'),
    nextReminderAt: Date.parse('2026-11-21T10:15:00Z'),
  });
const titles = async () =>
  (await store.incidents.listOpen(50)).map((incident) => `${incident.title} (${incident.commander ?? 'no IC'})`);

describe('incident store: the open list (read often, cached until an incident is written)', () => {
  it("sees this connection's writes at once: a declaration, an update, a resolution", async () => {
    await declare('Checkout errors');
    expect(await titles()).toEqual(['Checkout errors (no IC)']);
    const second = await declare('Search slow');
    expect(await titles()).toEqual(['Search slow (no IC)', 'Checkout errors (no IC)']);
    await store.incidents.update(second.id, { commander: 'U0BOB' }, by);
    expect(await titles()).toEqual(['Search slow (U0BOB)', 'Checkout errors (no IC)']);
    await store.incidents.update(second.id, { status: 'resolved', resolvedAt: Date.parse('2026-11-21T11:00:00Z') }, by);
    expect(await titles()).toEqual(['Checkout errors (no IC)']);
  });

  it("sees another process's commits (the CLI on the same file)", async () => {
    await declare('Checkout errors');
    expect(await titles()).toEqual(['Checkout errors (no IC)']);
    const other = openDatabase(join(dir, 'firelane.db'));
    try {
      await createSqliteStore(other, createManualClock()).incidents.update(1, { commander: 'U0BOB' }, by);
    } finally {
      other.close();
    }
    expect(await titles()).toEqual(['Checkout errors (U0BOB)']);
  });

  it('keeps the list through writes to other tables (jobs, timeline, audit)', async () => {
    const incident = await declare('Checkout errors');
    const first = await store.incidents.listOpen(50);
    await store.jobs.enqueue({ kind: 'incident.open_room', key: 'open_room:1', payload: { incidentId: incident.id } });
    await store.incidents.addEvent({
      incidentId: incident.id,
      at: 1,
      actor: 'U0ALICE',
      platform: 'slack',
      kind: 'note',
      text: 'looking',
    });
    expect(await store.incidents.listOpen(50)).toBe(first);
    await store.incidents.update(incident.id, { commander: 'U0BOB' }, by);
    expect(await store.incidents.listOpen(50)).not.toBe(first);
    expect(await titles()).toEqual(['Checkout errors (U0BOB)']);
  });

  it('does not keep what a transaction saw when the transaction rolls back', async () => {
    const incident = await declare('Checkout errors');
    expect(await titles()).toEqual(['Checkout errors (no IC)']);
    await expect(
      store.transaction(async () => {
        await store.incidents.update(incident.id, { commander: 'U0BOB' }, by);
        expect(await titles()).toEqual(['Checkout errors (U0BOB)']);
        throw new Error('the rest of the command failed');
      }),
    ).rejects.toThrow('the rest of the command failed');
    expect(await titles()).toEqual(['Checkout errors (no IC)']);
  });

  it("hands out rows that cannot be changed behind the cache's back", async () => {
    await declare('Checkout errors');
    const [incident] = await store.incidents.listOpen(50);
    expect(() => {
      (incident as { title: string }).title = 'edited';
    }).toThrow(TypeError);
    expect(await titles()).toEqual(['Checkout errors (no IC)']);
  });

  it('patches in what this process wrote instead of reading the whole list again', async () => {
    await declare('Checkout errors');
    await declare('Search slow');
    const before = await store.incidents.listOpen(50);
    const third = await declare('Login broken');
    const after = await store.incidents.listOpen(50);
    expect(after.map((i) => i.title)).toEqual(['Login broken', 'Search slow', 'Checkout errors']);
    expect(after[1]).toBe(before[0]); // the rows nobody wrote are the very objects read before
    expect(after[2]).toBe(before[1]);
    await store.incidents.update(third.id, { status: 'resolved', resolvedAt: Date.parse('2026-11-21T11:00:00Z') }, by);
    expect(await store.incidents.listOpen(50)).toEqual(before);
  });

  it('a full window that loses an incident shows the next older one', async () => {
    const [first, second, third] = [await declare('A'), await declare('B'), await declare('C')];
    expect((await store.incidents.listOpen(2)).map((i) => i.id)).toEqual([third.id, second.id]);
    await store.incidents.update(second.id, { status: 'resolved', resolvedAt: Date.parse('2026-11-21T11:00:00Z') }, by);
    expect((await store.incidents.listOpen(2)).map((i) => i.id)).toEqual([third.id, first.id]);
    await store.incidents.update(second.id, { status: 'identified', resolvedAt: null }, by); // reopened
    expect((await store.incidents.listOpen(2)).map((i) => i.id)).toEqual([third.id, second.id]);
  });

  it('a window filled up by new incidents, then losing one, is read again (it no longer holds them all)', async () => {
    const a = await declare('A');
    expect((await store.incidents.listOpen(2)).map((i) => i.id)).toEqual([a.id]); // every open incident
    const [b, c] = [await declare('B'), await declare('C')];
    expect((await store.incidents.listOpen(2)).map((i) => i.id)).toEqual([c.id, b.id]); // A is cut off now
    await store.incidents.update(c.id, { status: 'resolved', resolvedAt: 1 }, by);
    expect((await store.incidents.listOpen(2)).map((i) => i.id)).toEqual([b.id, a.id]);
  });

  it('after more writes than it remembers, the list is read again', async () => {
    const [a, b] = [await declare('A'), await declare('B')];
    expect(await store.incidents.listOpen(5)).toHaveLength(2);
    await store.incidents.update(a.id, { status: 'resolved', resolvedAt: 1 }, by);
    for (let i = 0; i < 300; i++) await store.incidents.update(b.id, { missedReminders: i + 1 }, by);
    expect((await store.incidents.listOpen(5)).map((i) => [i.id, i.missedReminders])).toEqual([[b.id, 300]]);
  });

  it('always equals a fresh read: random declarations, updates, resolutions, reopenings, rollbacks and other processes', async () => {
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
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        // A database of its own per run (emptying one with raw SQL would go around the store).
        const file = join(dir, `run-${++runs}.db`);
        const own = openDatabase(file);
        try {
          const s = createSqliteStore(own, createManualClock());
          const fresh = (limit: number) => s.incidents.list({ statuses: [...OPEN_STATUSES], limit });
          const ids: number[] = [];
          for (const o of ops) {
            const id = ids.length ? ids[('pick' in o ? o.pick : 0) % ids.length]! : undefined;
            if (o.kind === 'declare') {
              const created = await s.incidents.create({
                title: `Incident ${ids.length}`,
                description: null,
                severity: 'sev2',
                platform: 'slack',
                declaredBy: 'U0ALICE',
                declaredAt: 1,
                nextReminderAt: 2,
              });
              ids.push(created.id);
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
              const other = openDatabase(file);
              try {
                await createSqliteStore(other, createManualClock()).incidents.update(
                  id,
                  { status: 'resolved', resolvedAt: 2 },
                  by,
                );
              } finally {
                other.close();
              }
            }
          }
          for (const limit of [1, 2, 3, 5, 51]) expect(await s.incidents.listOpen(limit)).toEqual(await fresh(limit));
        } finally {
          own.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

function rollBack(): never {
  throw new Error('rolled back');
}

describe('incident store: updates', () => {
  it('writes every patched column, null included, and leaves the others and the other rows alone', async () => {
    const one = await declare('Checkout errors');
    const other = await declare('Search slow');
    const at = Date.parse('2026-11-21T10:30:00Z');
    await store.incidents.update(
      one.id,
      { commander: 'U0BOB', status: 'identified', nextReminderAt: at, missedReminders: 2, lastUpdateAt: at },
      by,
    );
    await store.incidents.update(one.id, { nextReminderAt: null, rootCause: 'a bad config' }, by);
    const fresh = handle.sqlite.prepare(
      'SELECT commander, status, next_reminder_at, missed_reminders, last_update_at, root_cause, title FROM incidents WHERE id = ?',
    );
    expect(fresh.get(one.id)).toEqual({
      commander: 'U0BOB',
      status: 'identified',
      next_reminder_at: null,
      missed_reminders: 2,
      last_update_at: at,
      root_cause: 'a bad config',
      title: 'Checkout errors',
    });
    expect(fresh.get(other.id)).toMatchObject({
      commander: null,
      status: 'investigating',
      next_reminder_at: other.nextReminderAt,
      missed_reminders: 0,
    });
    expect(await store.incidents.get(one.id)).toMatchObject({
      commander: 'U0BOB',
      nextReminderAt: null,
      missedReminders: 2,
    });
  });
});
